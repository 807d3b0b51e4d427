#!/usr/bin/env bash
# A git server for build sources on the cluster network: Debian's busybox httpd, bound to
# the project's bridge address only, running git's own git-http-backend as a CGI (smart HTTP).
# Repositories live outside the repo tree, in ${SWC_GIT_DIR}.
#
# Usage: e2e/install/git-server.sh start|stop|status
#        e2e/install/git-server.sh add-repo NAME DIR    (prints URL<TAB>COMMIT)
#        e2e/install/git-server.sh url NAME
#   start     start the server (no-op when it already runs); it listens on ${SWC_GIT_ADDR}
#   stop      stop it, by the PID recorded at start
#   add-repo  create or update the bare repository NAME.git from DIR: a git work tree is
#             pushed (all branches and tags); any other directory is committed as it is on
#             branch main (same content: same commit, nothing changes)
#   url       the clone URL of NAME
# URLs: http://${SWC_GIT_ADDR}/cgi-bin/git/NAME.git  (smart HTTP: shallow clones work; this is
# the one for Shipwright, whose git step clones with --depth 1), and the same repository over
# dumb HTTP at http://${SWC_GIT_ADDR}/NAME.git (full clones only: "dumb http transport does
# not support shallow capabilities").
# Environment:
#   SWC_GIT_DIR   state (repositories, pid, log); default /var/lib/shipwright-cache/git
#   SWC_GIT_ADDR  listen address; default 10.88.0.1:8080 (the bridge of e2e/cluster full mode,
#                 which must exist). Only a loopback or the bridge address is accepted.
set -euo pipefail

GIT_DIR_ROOT="${SWC_GIT_DIR:-/var/lib/shipwright-cache/git}"
ADDR="${SWC_GIT_ADDR:-10.88.0.1:8080}"
WWW="${GIT_DIR_ROOT}/www"
PIDFILE="${GIT_DIR_ROOT}/httpd.pid"
LOGFILE="${GIT_DIR_ROOT}/httpd.log"

log() { printf '[git-server] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=e2e/install/lib-daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-daemon.sh"
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

busybox_bin() {
  local b
  for b in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null || true)"; do
    if [[ -n "${b}" && -x "${b}" ]] && "${b}" --list 2>/dev/null | grep -qx httpd; then echo "${b}"; return; fi
  done
  die "no busybox with httpd (apt-get install busybox-static)"
}

backend_bin() {
  local p
  p="$(git --exec-path 2>/dev/null)/git-http-backend"
  [[ -x "${p}" ]] || die "git-http-backend missing (apt-get install git)"
  echo "${p}"
}

# running: the recorded PID is alive and is our httpd (never trust a stale PID).
running() { daemon_cmdline | grep -q "httpd .*-h ${WWW}"; }

setup_dirs() {
  mkdir -p "${WWW}/cgi-bin"
  cat >"${WWW}/cgi-bin/git.tmp" <<EOF
#!/bin/sh
# git smart HTTP for every repository under ${WWW} (written by e2e/install/git-server.sh)
export GIT_PROJECT_ROOT='${WWW}' GIT_HTTP_EXPORT_ALL=1
exec '$(backend_bin)'
EOF
  chmod 0755 "${WWW}/cgi-bin/git.tmp"
  mv -f "${WWW}/cgi-bin/git.tmp" "${WWW}/cgi-bin/git"
}

cmd_start() {
  check_addr
  setup_dirs
  if running; then log "already running (pid $(cat "${PIDFILE}")) on http://${ADDR}/"; return 0; fi
  local bb pid
  bb="$(busybox_bin)"
  # -f: foreground (we record its PID); -v: request log; -p: the only listen address.
  setsid "${bb}" httpd -f -v -p "${ADDR}" -h "${WWW}" </dev/null >>"${LOGFILE}" 2>&1 &
  pid=$!
  echo "${pid}" >"${PIDFILE}"
  daemon_wait_http "http://${ADDR}/" "${pid}" httpd
  log "started (pid ${pid}) on http://${ADDR}/ serving ${WWW}"
}

cmd_stop() { daemon_stop; }

cmd_status() {
  if running; then
    echo "running pid $(cat "${PIDFILE}") http://${ADDR}/ dir ${WWW}"
    find "${WWW}" -mindepth 1 -maxdepth 1 -name '*.git' -printf '  %f\n'
  else
    echo "not running (dir ${WWW})"; return 1
  fi
}

url_of() { echo "http://${ADDR}/cgi-bin/git/$1.git"; }

cmd_add_repo() {
  local name="${1:?add-repo needs NAME DIR}" src="${2:?add-repo needs NAME DIR}" bare tree parent commit
  [[ "${name}" =~ ^[A-Za-z0-9._-]+$ ]] || die "bad repository name ${name}"
  [[ -d "${src}" ]] || die "no directory ${src}"
  src="$(cd "${src}" && pwd)"
  setup_dirs
  bare="${WWW}/${name}.git"
  if [[ ! -d "${bare}" ]]; then
    git init -q --bare --initial-branch=main "${bare}"
    git -C "${bare}" config http.receivepack false
    # dumb HTTP needs info/refs; keep it current on every update.
    cp "${bare}/hooks/post-update.sample" "${bare}/hooks/post-update" 2>/dev/null \
      || printf '#!/bin/sh\nexec git update-server-info\n' >"${bare}/hooks/post-update"
    chmod 0755 "${bare}/hooks/post-update"
  fi
  if git -C "${src}" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
     && [[ "$(git -C "${src}" rev-parse --show-toplevel)" == "${src}" ]]; then
    git -C "${src}" push -q --force "${bare}" 'refs/heads/*:refs/heads/*' 'refs/tags/*:refs/tags/*'
    commit="$(git -C "${bare}" rev-parse HEAD 2>/dev/null || git -C "${src}" rev-parse HEAD)"
  else
    # Snapshot DIR as a commit on main, with a private index (DIR is not touched). Fixed
    # identity and dates, so the same content on the same parent gives the same commit.
    local idx; idx="$(mktemp)"
    rm -f "${idx}"
    tree="$(GIT_INDEX_FILE="${idx}" GIT_DIR="${bare}" GIT_WORK_TREE="${src}" git add -A . >/dev/null \
      && GIT_INDEX_FILE="${idx}" GIT_DIR="${bare}" git write-tree)"
    rm -f "${idx}"
    parent="$(git -C "${bare}" rev-parse -q --verify refs/heads/main 2>/dev/null || true)"
    if [[ -n "${parent}" && "$(git -C "${bare}" rev-parse "${parent}^{tree}")" == "${tree}" ]]; then
      commit="${parent}"
    else
      commit="$(GIT_AUTHOR_NAME=shipwright-cache GIT_AUTHOR_EMAIL=e2e@shipwright-cache.invalid \
        GIT_COMMITTER_NAME=shipwright-cache GIT_COMMITTER_EMAIL=e2e@shipwright-cache.invalid \
        GIT_AUTHOR_DATE='2023-06-10T00:00:00Z' GIT_COMMITTER_DATE='2023-06-10T00:00:00Z' \
        git -C "${bare}" commit-tree "${tree}" ${parent:+-p "${parent}"} -m "snapshot of ${src}")"
      git -C "${bare}" update-ref refs/heads/main "${commit}" ${parent:+"${parent}"}
    fi
  fi
  git -C "${bare}" update-server-info
  printf '%s\t%s\n' "$(url_of "${name}")" "${commit}"
}

main() {
  local cmd="${1:-}"
  shift || true
  case "${cmd}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    add-repo) cmd_add_repo "$@" ;;
    url) url_of "${1:?url needs NAME}" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
