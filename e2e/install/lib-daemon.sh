# Shared by git-server.sh and npm-server.sh: a small HTTP server started in the background,
# recorded by PID in PIDFILE, logging to LOGFILE, listening on ADDR (loopback or the project
# bridge only). Sourced, not run; the caller defines log() and die().

BRIDGE_NET=10.88.

# check_addr: ADDR is on loopback or the bridge, and an interface here has that address.
check_addr() {
  local ip="${ADDR%:*}"
  case "${ip}" in
    127.*|"${BRIDGE_NET}"*) ;;
    *) die "refusing to listen on ${ADDR}: only loopback or the project bridge (10.88.0.0/16)" ;;
  esac
  ip -o -4 addr show | awk '{ print $4 }' | grep -q "^${ip//./\\.}/" \
    || die "no interface has ${ip} (is the full cluster up? e2e/cluster/up.sh --mode full)"
}

# daemon_cmdline: the command line of the recorded process, or fail when there is none.
daemon_cmdline() {
  local pid
  [[ -s "${PIDFILE}" ]] || return 1
  pid="$(cat "${PIDFILE}")"
  [[ -r "/proc/${pid}/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline"
}

# daemon_wait_http URL PID WHAT: wait (5 s) until URL answers; die when the process exits or never answers.
daemon_wait_http() {
  local url="$1" pid="$2" what="$3" i
  for i in $(seq 1 50); do
    if [[ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "${url}" 2>/dev/null)" != 000 ]]; then return 0; fi
    running || { tail -n 5 "${LOGFILE}" >&2; die "${what} exited (log ${LOGFILE})"; }
    sleep 0.1
  done
  die "${what} (pid ${pid}) does not answer on ${ADDR}"
}

# daemon_stop: stop the recorded process by PID (TERM, then KILL after 5 s).
daemon_stop() {
  if ! running; then log "not running"; rm -f "${PIDFILE}"; return 0; fi
  local pid i
  pid="$(cat "${PIDFILE}")"
  kill -TERM "${pid}"
  for i in $(seq 1 50); do
    [[ -d "/proc/${pid}" ]] || break
    sleep 0.1
    [[ ${i} -lt 50 ]] || kill -KILL "${pid}" 2>/dev/null || true
  done
  rm -f "${PIDFILE}"
  log "stopped (pid ${pid})"
}
