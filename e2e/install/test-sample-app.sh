#!/usr/bin/env bash
# Checks of the reference workload's offline npm serving, without a cluster: everything binds to
# loopback and lives in a temporary directory (a copy of the tarball cache included, so the
# shared cache is never damaged). Needs the npm registry from the host only when the cache is
# empty or to re-fetch the one tarball the test corrupts.
#   1. npm-server.sh fetch: every lockfile tarball is there and matches its integrity; a rerun
#      downloads nothing; a corrupted tarball is detected and fetched again
#   2. npm-server.sh start on 127.0.0.1:<free port>: packuments (scoped ones as npm asks for them,
#      /@scope%2fname), tarballs, 404s, no way out of the tree; start again is a no-op
#   3. npm ci of images/sample-app against it (empty npm cache, no user config): every request
#      answered 200 by this server; then npm run build and npm run selftest
#   4. npm-server.sh stop; status then exits 1
# Usage: e2e/install/test-sample-app.sh [--no-build]     closing line "N passed, N failed"
set -uo pipefail

INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${INSTALL_DIR}/../.." && pwd)"
APP_DIR="${REPO_ROOT}/images/sample-app"
REAL_CACHE="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
DO_BUILD=1
[[ "${1:-}" != --no-build ]] || DO_BUILD=0

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() { local what="$1"; shift; if "$@" >/dev/null 2>&1; then ok "${what}"; else nok "${what}"; fi; }

T="$(mktemp -d /tmp/swc-sample-app-test.XXXXXX)"
cleanup() {
  SWC_NPM_DIR="${T}/state" SWC_NPM_ADDR="${ADDR:-127.0.0.1:1}" "${INSTALL_DIR}/npm-server.sh" stop >/dev/null 2>&1 || true
  rm -rf "${T}"
}
trap cleanup EXIT

free_port() {
  local p
  for p in $(shuf -i 20000-40000 -n 50); do
    ss -Hltn "sport = :${p}" | grep -q . || { echo "${p}"; return; }
  done
  return 1
}

# shellcheck source=hack/ensure-node.sh
source "${REPO_ROOT}/hack/ensure-node.sh" || { echo "0 passed, 1 failed"; exit 1; }

export SWC_CACHE_DIR="${T}/cache" SWC_NPM_DIR="${T}/state"
ADDR="127.0.0.1:$(free_port)"
export SWC_NPM_ADDR="${ADDR}"
mkdir -p "${SWC_CACHE_DIR}"
[[ ! -d "${REAL_CACHE}/npm-tarballs" ]] || cp -r "${REAL_CACHE}/npm-tarballs" "${SWC_CACHE_DIR}/"

echo "== fetch"
check "fetch exits 0" "${INSTALL_DIR}/npm-server.sh" fetch
out="$("${INSTALL_DIR}/npm-server.sh" fetch 2>&1)"
check "a rerun fetches nothing (${out##*] })" grep -q '(0 fetched' <<<"${out}"
n_locked="$(jq '[.packages | to_entries[] | select(.key != "") | "\(.key | sub("^.*node_modules/"; ""))@\(.value.version)"] | unique | length' "${APP_DIR}/package-lock.json")"
n_files="$(find "${SWC_CACHE_DIR}/npm-tarballs" -name '*.tgz' | wc -l)"
check "one tarball per locked package (${n_files} for ${n_locked})" test "${n_files}" -eq "${n_locked}"
victim="$(find "${SWC_CACHE_DIR}/npm-tarballs" -path '*/lodash/-/lodash-*.tgz' | head -1)"
sum="$(sha256sum "${victim}" | cut -d' ' -f1)"
echo corrupt >>"${victim}"
out="$("${INSTALL_DIR}/npm-server.sh" fetch 2>&1)"
check "a corrupted tarball is detected" grep -q 'does not match the lockfile' <<<"${out}"
check "... and fetched again (1 fetched)" grep -q '(1 fetched' <<<"${out}"
check "... byte for byte the original" test "$(sha256sum "${victim}" | cut -d' ' -f1)" = "${sum}"

echo "== serve on ${ADDR}"
url="$("${INSTALL_DIR}/npm-server.sh" start 2>/dev/null)"
check "start prints the URL" test "${url}" = "http://${ADDR}/"
pid="$(cat "${SWC_NPM_DIR}/server.pid" 2>/dev/null)"
check "start again is a no-op (same PID)" bash -c "'${INSTALL_DIR}/npm-server.sh' start >/dev/null 2>&1 && test \"\$(cat '${SWC_NPM_DIR}/server.pid')\" = '${pid}'"
check "status: running" "${INSTALL_DIR}/npm-server.sh" status
code() { curl -s --path-as-is -o /dev/null -w '%{http_code}' "${url%/}$1"; }
check "GET /express is a packument with express@5.1.0" \
  bash -c "curl -sf '${url}express' | jq -e '.versions[\"5.1.0\"].dist.tarball | endswith(\"/-/tarballs/express/-/express-5.1.0.tgz\")'"
check "GET /@types%2fnode (as npm asks) is @types/node's packument" \
  bash -c "curl -sf '${url}@types%2fnode' | jq -e '.name == \"@types/node\"'"
check "GET /@types%2Fnode too" test "$(code /@types%2Fnode)" = 200
check "GET the tarball of a packument: 200, same bytes as the cache" bash -c "
  t=\$(curl -sf '${url}@types%2fnode' | jq -r '.versions[].dist.tarball' | head -1)
  curl -sf \"\$t\" | cmp - '${SWC_CACHE_DIR}/npm-tarballs/@types/node/-/'\"\${t##*/}\""
check "an unknown package is 404" test "$(code /left-pad)" = 404
check "/../ and %2e%2e cannot leave the tree" bash -c "
  [[ \$(curl -s --path-as-is -o /dev/null -w '%{http_code}' '${url}../../../etc/passwd') == 404 ]] &&
  [[ \$(curl -s --path-as-is -o /dev/null -w '%{http_code}' '${url}%2e%2e%2f%2e%2e%2fetc%2fpasswd') == 404 ]]"
check "POST is refused (405)" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "${url}express")" = 405

echo "== npm ci of images/sample-app against it"
mkdir -p "${T}/app"
tar -C "${APP_DIR}" --exclude=./node_modules --exclude=./build --exclude=./dist -cf - . | tar -C "${T}/app" -xf -
sed -i "s|^registry=.*|registry=${url}|" "${T}/app/.npmrc"
: >"${T}/empty-npmrc"
before="$(wc -l <"${SWC_NPM_DIR}/server.log")"
if (cd "${T}/app" && npm ci --userconfig "${T}/empty-npmrc" --cache "${T}/npm-cache" --loglevel=error >"${T}/ci.log" 2>&1); then
  ok "npm ci succeeds ($(grep -o 'added [0-9]* packages' "${T}/ci.log" || echo '?'))"
else
  nok "npm ci succeeds"; tail -n 20 "${T}/ci.log"
fi
reqs="$(tail -n +"$((before + 1))" "${SWC_NPM_DIR}/server.log")"
n_reqs="$(grep -c . <<<"${reqs}")"
n_bad="$(awk '$5 != 200' <<<"${reqs}" | grep -c .)"
check "the server answered npm (${n_reqs} requests, ${n_bad} not 200)" test "${n_reqs}" -gt 0 -a "${n_bad}" -eq 0
check "node_modules has every locked package" test "$(find "${T}/app/node_modules" -name package.json -path '*/node_modules/*' -maxdepth 4 | wc -l)" -gt 150
if [[ ${DO_BUILD} -eq 1 ]]; then
  check "npm run build (tsc + webpack)" bash -c "cd '${T}/app' && npm run --silent build >'${T}/build.log' 2>&1 && test -s dist/app.js && test -s build/server/main.js"
  check "npm run selftest" bash -c "cd '${T}/app' && npm run --silent selftest"
fi

echo "== stop"
check "stop" "${INSTALL_DIR}/npm-server.sh" stop
check "status exits 1 when stopped" bash -c "! '${INSTALL_DIR}/npm-server.sh' status"
check "the server process is gone" bash -c "! kill -0 '${pid}' 2>/dev/null"

echo
echo "${PASS} passed, ${FAIL} failed"
[[ ${FAIL} -eq 0 ]]
