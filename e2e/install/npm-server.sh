#!/usr/bin/env bash
# A minimal npm registry for builds on the cluster network: exactly the packages that one or
# more package-lock.json files name, served read-only by a small node:http static server
# (e2e/install/npm-registry.mjs) bound to the project's bridge address only. Pods cannot reach
# the npm registry; this serves what they need.
#
# Usage: e2e/install/npm-server.sh fetch|start|stop|status|url [--lockfile FILE]...
#   fetch     download every package the lockfile(s) name (name@version) from the npm registry
#             of the host's npm configuration (`npm pack`, one call for all that are missing)
#             into ${SWC_CACHE_DIR}/npm-tarballs/NAME/-/BASENAME-VERSION.tgz, and check each
#             tarball's sha512 against the lockfile's `integrity`. Tarballs already there are
#             re-checked and reused (a rerun downloads nothing); a mismatching one is fetched again.
#   start     fetch, write the registry tree (one packument per package, listing only the locked
#             versions, `dist.tarball` pointing at this server) and start the server; when it is
#             already running only the tree is rewritten. Prints the registry URL.
#   stop      stop it, by the PID recorded at start
#   status    running or not, the URL and how many packages it serves (exit 1 when not running)
#   url       the registry URL (what `.npmrc` `registry=` must say)
#   --lockfile FILE   lockfile to serve (repeatable); default images/sample-app/package-lock.json
# Why packuments, not a rewritten lockfile: npm writes lockfiles here without `resolved` URLs
# (omit-lockfile-registry-resolved), so `npm ci` asks the configured registry for each package's
# packument and takes the tarball URL from there; the app's lockfile stays the one npm wrote.
# Layout served: /NAME and /@SCOPE/NAME (packuments; npm asks for /@scope%2fname, which the
# server decodes: busybox httpd, as git-server.sh uses, answers 404 to an encoded "/"),
# /-/tarballs/NAME/-/BASENAME-VERSION.tgz (a link to the cache directory).
# Environment:
#   SWC_NPM_DIR    state (www tree, pid, log); default /var/lib/shipwright-cache/npm
#   SWC_NPM_ADDR   listen address; default 10.88.0.1:4873 (the bridge of e2e/cluster full mode,
#                  which must exist). Only a loopback or the bridge address is accepted.
#   SWC_CACHE_DIR  cache root (default ~/.cache/shipwright-cache)
set -euo pipefail

INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${INSTALL_DIR}/../.." && pwd)"
STATE_DIR="${SWC_NPM_DIR:-/var/lib/shipwright-cache/npm}"
ADDR="${SWC_NPM_ADDR:-10.88.0.1:4873}"
CACHE_DIR="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
TARBALLS="${CACHE_DIR}/npm-tarballs"
WWW="${STATE_DIR}/www"
PIDFILE="${STATE_DIR}/server.pid"
LOGFILE="${STATE_DIR}/server.log"
LOCKFILES=()

log() { printf '[npm-server] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=e2e/install/lib-daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-daemon.sh"
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

node_bin() {
  command -v node 2>/dev/null || die "node is needed on the host (it comes with npm)"
}

registry_url() { echo "http://${ADDR}/"; }

# running: the recorded PID is alive and is our httpd (never trust a stale PID).
running() { daemon_cmdline | grep -qF "npm-registry.mjs --listen ${ADDR} --root ${WWW}"; }

# locked: NAME<TAB>VERSION<TAB>INTEGRITY for every registry package of the lockfiles, once each.
locked() {
  local f
  for f in "${LOCKFILES[@]}"; do
    [[ -s "${f}" ]] || die "no lockfile ${f}"
    jq -r --arg f "${f}" '
      if (.lockfileVersion // 0) < 2 then error("\($f): lockfileVersion 2 or 3 needed (npm >= 7)") else . end
      | .packages | to_entries[]
      | select(.key != "" and (.value.link | not) and (.value.inBundle | not))
      | (.value.name // (.key | sub("^.*node_modules/"; ""))) as $name
      | if (.value.integrity // "") == "" or (.value.version // "") == ""
        then error("\($f): \(.key) has no version/integrity (not a registry package?)") else . end
      | [$name, .value.version, .value.integrity] | @tsv' "${f}"
  done | LC_ALL=C sort -u
}

# tarball_path NAME VERSION: where the cache keeps it (the registry's own layout).
tarball_path() { echo "${TARBALLS}/$1/-/${1##*/}-$2.tgz"; }

# unverified: reads NAME<TAB>VERSION<TAB>INTEGRITY lines; prints those whose cached tarball is
# missing or matches none of the SRI hashes in INTEGRITY. One node process for all (npm needs
# node, so it is there), hashing with node:crypto.
unverified() {
  local name version integrity
  while IFS=$'\t' read -r name version integrity; do
    printf '%s\t%s\t%s\t%s\n' "${name}" "${version}" "${integrity}" "$(tarball_path "${name}" "${version}")"
  done | node -e '
    const fs = require("node:fs"), crypto = require("node:crypto");
    const lines = fs.readFileSync(0, "utf8").split("\n").filter(Boolean);
    for (const line of lines) {
      const [name, version, integrity, file] = line.split("\t");
      let data = null;
      try { data = fs.readFileSync(file); } catch { /* missing */ }
      const ok = data !== null && integrity.split(/\s+/).some((sri) => {
        const i = sri.indexOf("-");
        const algo = sri.slice(0, i);
        if (!["sha512", "sha384", "sha256", "sha1"].includes(algo)) return false;
        return crypto.createHash(algo).update(data).digest("base64") === sri.slice(i + 1);
      });
      if (!ok) console.log([name, version, integrity, data === null ? "missing" : "mismatch"].join("\t"));
    }'
}

cmd_fetch() {
  local name version integrity state path n tmp
  local -a missing=() bad=()
  command -v npm >/dev/null || die "npm (and node) are needed on the host"
  mkdir -p "${TARBALLS}"
  n="$(locked | wc -l)"
  [[ ${n} -gt 0 ]] || die "the lockfile(s) name no packages"
  while IFS=$'\t' read -r name version integrity state; do
    [[ "${state}" == missing ]] || log "cached $(tarball_path "${name}" "${version}") does not match the lockfile's integrity: fetching it again"
    missing+=("${name}@${version}")
  done < <(locked | unverified)
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "fetching ${#missing[@]} of ${n} packages with npm pack"
    tmp="$(mktemp -d /tmp/swc-npm-fetch.XXXXXX)"
    # Run outside any project, so npm uses the host's own registry configuration.
    if ! (cd "${tmp}" && npm pack --json --ignore-scripts --pack-destination "${tmp}" "${missing[@]}" >"${tmp}/pack.json" 2>"${tmp}/pack.log"); then
      tail -n 20 "${tmp}/pack.log" >&2; rm -rf "${tmp}"; die "npm pack failed"
    fi
    while IFS=$'\t' read -r name version path; do
      mkdir -p "$(dirname "$(tarball_path "${name}" "${version}")")"
      mv -f "${tmp}/${path}" "$(tarball_path "${name}" "${version}")"
    done < <(jq -r '.[] | [.name, .version, .filename] | @tsv' "${tmp}/pack.json")
    rm -rf "${tmp}"
    # What was just fetched must match the lockfile too.
    mapfile -t bad < <(locked | unverified)
    if [[ ${#bad[@]} -gt 0 ]]; then
      printf '  %s\n' "${bad[@]}" >&2
      die "${#bad[@]} tarball(s) do not match the lockfile's integrity (above: name, version, integrity, missing|mismatch)"
    fi
  fi
  log "${n} packages verified against the lockfile(s) (${#missing[@]} fetched, $((n - ${#missing[@]})) reused) in ${TARBALLS}"
}

# write_tree: the packuments (from the lockfile entries: the fields npm reads when it installs)
# and the tarball link, into a fresh www tree that replaces the old one at once.
write_tree() {
  local new="${STATE_DIR}/www.new" base f
  base="$(registry_url)"
  rm -rf "${new}"
  mkdir -p "${new}/-"
  ln -s "${TARBALLS}" "${new}/-/tarballs"
  for f in "${LOCKFILES[@]}"; do
    jq -c '.packages | to_entries[]
      | select(.key != "" and (.value.link | not) and (.value.inBundle | not))
      | {name: (.value.name // (.key | sub("^.*node_modules/"; ""))), v: .value}' "${f}"
  done | jq -s -c --arg base "${base}" '
    group_by(.name)[]
    | .[0].name as $name
    | (reduce .[] as $e ({}; .[$e.v.version] = (
        $e.v | {version, dependencies, optionalDependencies, peerDependencies, peerDependenciesMeta,
                bin, engines, os, cpu, license, deprecated}
        | with_entries(select(.value != null))
        | . + {name: $name, _id: "\($name)@\(.version)",
               dist: {integrity: $e.v.integrity,
                      tarball: "\($base)-/tarballs/\($name)/-/\($name | sub("^.*/"; ""))-\(.version).tgz"}}))) as $versions
    | {_id: $name, name: $name, "dist-tags": {latest: ($versions | keys | last)}, versions: $versions}' \
  | while IFS= read -r doc; do
      f="${new}/$(jq -r .name <<<"${doc}")"
      mkdir -p "$(dirname "${f}")"
      printf '%s\n' "${doc}" >"${f}"
    done
  rm -rf "${WWW}.old"
  if [[ -d "${WWW}" ]]; then mv "${WWW}" "${WWW}.old"; fi
  mv "${new}" "${WWW}"
  rm -rf "${WWW}.old"
}

cmd_start() {
  check_addr
  cmd_fetch
  mkdir -p "${STATE_DIR}"
  write_tree
  local count; count="$(find "${WWW}" -path "${WWW}/-" -prune -o -type f -print | wc -l)"
  if running; then
    log "already running (pid $(cat "${PIDFILE}")); tree rewritten: ${count} packuments"
    registry_url
    return 0
  fi
  local pid
  setsid "$(node_bin)" "${INSTALL_DIR}/npm-registry.mjs" --listen "${ADDR}" --root "${WWW}" </dev/null >>"${LOGFILE}" 2>&1 &
  pid=$!
  echo "${pid}" >"${PIDFILE}"
  daemon_wait_http "$(registry_url)" "${pid}" "the server"
  log "started (pid ${pid}) on $(registry_url): ${count} packuments, tarballs from ${TARBALLS}"
  registry_url
}

cmd_stop() { daemon_stop; }

cmd_status() {
  if running; then
    echo "running pid $(cat "${PIDFILE}") $(registry_url) dir ${WWW}:" \
      "$(find "${WWW}" -path "${WWW}/-" -prune -o -type f -print | wc -l) packuments"
  else
    echo "not running (dir ${WWW})"; return 1
  fi
}

main() {
  local cmd="${1:-}"
  shift || true
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --lockfile) LOCKFILES+=("$(realpath "${2:?--lockfile needs FILE}")"); shift ;;
      --lockfile=*) LOCKFILES+=("$(realpath "${1#*=}")") ;;
      *) usage >&2; die "unknown argument $1" ;;
    esac
    shift
  done
  [[ ${#LOCKFILES[@]} -gt 0 ]] || LOCKFILES=("${REPO_ROOT}/images/sample-app/package-lock.json")
  case "${cmd}" in
    fetch) command -v jq >/dev/null || die "jq is needed"; cmd_fetch ;;
    start) command -v jq >/dev/null || die "jq is needed"; cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) registry_url ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
