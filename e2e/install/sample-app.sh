#!/usr/bin/env bash
# The end-to-end demo's reference workload (images/sample-app): its source on the local git
# server, its base image in the cluster registry, its npm packages on the local npm registry.
#
# Usage: e2e/install/sample-app.sh publish|print|lock
#   publish  idempotent; needs the full cluster's bridge (e2e/cluster/up.sh --mode full):
#            1. images/load.sh --registry: the node-base image (built first when missing) into the
#               cluster registry; the Containerfile's FROM is set to its current reference
#            2. e2e/install/npm-server.sh start: the lockfile's tarballs fetched (once, verified)
#               and served on the bridge; .npmrc's registry= is set to its URL
#            3. e2e/install/git-server.sh start + add-repo sample-app: a snapshot of
#               images/sample-app (without node_modules/, build/, dist/) as branch main; the
#               same content gives the same commit
#            Prints (stdout, shell-sourceable) what a Build needs:
#              SOURCE_URL=…  SOURCE_REVISION=main  SOURCE_COMMIT=…  OUTPUT_IMAGE=…
#              PARAMS="dockerfile=Containerfile"  ARRAY_PARAMS="registries-insecure=<registry>"
#              INSECURE_REGISTRY=…  BASE_IMAGE=…  NPM_REGISTRY=…
#            PARAMS are the strategy's string parameters; ARRAY_PARAMS its array parameters
#            (one value each here), which a Build must give as `values: [{value: …}]`. Both are
#            needed: buildah-strategy-managed-push writes its own registries.conf, so without
#            registries-insecure the FROM pull fails ("http: server gave HTTP response to HTTPS
#            client").
#            and, on stderr, the `demo` command line that builds it with a cache.
#   print    the same lines, without publishing anything (the commit is the one published last)
#   lock     regenerate images/sample-app/package-lock.json from its package.json, with the host's
#            npm configuration (in a temporary directory: the app's .npmrc names the offline
#            registry, which the host does not use for this)
# Environment: SWC_CLUSTER_DIR (default /var/lib/shipwright-cache/node; its cluster.env names the
#   registry), SWC_GIT_ADDR, SWC_NPM_ADDR (see git-server.sh and npm-server.sh).
set -euo pipefail

INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${INSTALL_DIR}/../.." && pwd)"
APP_DIR="${REPO_ROOT}/images/sample-app"
CLUSTER_DIR="${SWC_CLUSTER_DIR:-/var/lib/shipwright-cache/node}"
REPO_NAME=sample-app
REGISTRY=10.88.0.1:5000
if [[ -s "${CLUSTER_DIR}/cluster.env" ]]; then
  r="$(sed -n 's/^REGISTRY_ADDR=//p' "${CLUSTER_DIR}/cluster.env")"
  [[ -z "${r}" ]] || REGISTRY="${r}"
fi
OUTPUT_IMAGE="${REGISTRY}/demo/sample-app"
PARAMS="dockerfile=Containerfile"
WORK=""

log() { printf '[sample-app] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
cleanup() { local rc=$?; [[ -z "${WORK}" ]] || rm -rf "${WORK}"; exit "${rc}"; }

# snapshot DIR BASE NPM_URL: the app's files into DIR, FROM and registry= set.
snapshot() {
  local dir="$1" base="$2" npm_url="$3"
  mkdir -p "${dir}"
  tar -C "${APP_DIR}" --exclude=./node_modules --exclude=./build --exclude=./dist --exclude=./.git -cf - . \
    | tar -C "${dir}" -xf -
  sed -i "0,/^FROM /s|^FROM .*|FROM ${base}|" "${dir}/Containerfile"
  sed -i "s|^registry=.*|registry=${npm_url}|" "${dir}/.npmrc"
  grep -q "^FROM ${base}\$" "${dir}/Containerfile" || die "could not set FROM in the Containerfile"
  grep -q "^registry=${npm_url}\$" "${dir}/.npmrc" || die "could not set registry= in .npmrc"
}

print_lines() {
  local url="$1" commit="$2" base="$3" npm_url="$4"
  cat <<EOF
SOURCE_URL=${url}
SOURCE_REVISION=main
SOURCE_COMMIT=${commit}
OUTPUT_IMAGE=${OUTPUT_IMAGE}
PARAMS="${PARAMS}"
ARRAY_PARAMS="registries-insecure=${REGISTRY}"
INSECURE_REGISTRY=${REGISTRY}
BASE_IMAGE=${base}
NPM_REGISTRY=${npm_url}
EOF
  cat >&2 <<EOF
[sample-app] Build it with a cache (one cold run, then warm ones):
  node --import tsx scripts/cli.ts demo -n NAMESPACE --strategy buildah-strategy-managed-push \\
    --source-url ${url} --source-revision main --output-image ${OUTPUT_IMAGE} --output-insecure \\
    --param ${PARAMS} --param registries-insecure=${REGISTRY} --reset-image \$(images/build.sh --print shell | cut -f2)
  (registries-insecure is an array parameter, repeat --param once per value: the FROM pull is plain HTTP)
EOF
}

cmd_publish() {
  local base npm_url url commit
  [[ -f "${APP_DIR}/Containerfile" ]] || die "no ${APP_DIR}/Containerfile"
  base="$("${REPO_ROOT}/images/load.sh" --registry "${REGISTRY}" node-base | cut -f2)"
  [[ -n "${base}" ]] || die "images/load.sh printed no node-base reference"
  log "base image ${base} is in ${REGISTRY}"
  npm_url="$("${INSTALL_DIR}/npm-server.sh" start --lockfile "${APP_DIR}/package-lock.json")"
  "${INSTALL_DIR}/git-server.sh" start
  WORK="$(mktemp -d /tmp/swc-sample-app.XXXXXX)"
  snapshot "${WORK}/src" "${base}" "${npm_url}"
  IFS=$'\t' read -r url commit < <("${INSTALL_DIR}/git-server.sh" add-repo "${REPO_NAME}" "${WORK}/src")
  [[ -n "${commit}" ]] || die "git-server.sh add-repo printed no commit"
  log "source ${url} @ ${commit} (FROM ${base}, npm registry ${npm_url})"
  print_lines "${url}" "${commit}" "${base}" "${npm_url}"
}

cmd_print() {
  local base npm_url url commit bare
  base="$("${REPO_ROOT}/images/build.sh" --print node-base | cut -f2)"
  npm_url="$("${INSTALL_DIR}/npm-server.sh" url)"
  url="$("${INSTALL_DIR}/git-server.sh" url "${REPO_NAME}")"
  bare="${SWC_GIT_DIR:-/var/lib/shipwright-cache/git}/www/${REPO_NAME}.git"
  commit="$(git -C "${bare}" rev-parse -q --verify refs/heads/main 2>/dev/null || echo "(not published)")"
  print_lines "${url}" "${commit}" "${base}" "${npm_url}"
}

cmd_lock() {
  command -v npm >/dev/null || die "npm is needed"
  WORK="$(mktemp -d /tmp/swc-sample-app-lock.XXXXXX)"
  cp "${APP_DIR}/package.json" "${WORK}/"
  [[ ! -f "${APP_DIR}/package-lock.json" ]] || cp "${APP_DIR}/package-lock.json" "${WORK}/"
  (cd "${WORK}" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  if cmp -s "${WORK}/package-lock.json" "${APP_DIR}/package-lock.json"; then
    log "package-lock.json is up to date"
  else
    cp "${WORK}/package-lock.json" "${APP_DIR}/package-lock.json"
    log "package-lock.json rewritten ($(jq '.packages | length - 1' "${APP_DIR}/package-lock.json") packages); rerun publish"
  fi
}

main() {
  local cmd="${1:-}"
  case "${cmd}" in
    publish|print|lock) ;;
    -h|--help|help) usage; return 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  trap cleanup EXIT
  "cmd_${cmd}"
}

main "$@"
