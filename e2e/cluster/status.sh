#!/usr/bin/env bash
# Show what runs for a cluster started by up.sh: each component, its PID, port
# and health. Exit 0 only if every component of the cluster is healthy.
#
# Usage: [SWC_CLUSTER_DIR=DIR] e2e/cluster/status.sh [--mode control-plane|full]
#   without SWC_CLUSTER_DIR and --mode: every cluster in the default dirs
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034 # read by log() in lib.sh
SWC_SCRIPT=status
# shellcheck source=e2e/cluster/lib.sh
source "${REPO_ROOT}/e2e/cluster/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

UNHEALTHY=0

# row NAME ENDPOINT HEALTH_CMD...: one line per component.
row() {
  local name="$1" endpoint="$2"; shift 2
  local pid state health
  pid=$(pid_of "$name" || echo -)
  if is_running "$name"; then
    state=running
    if "$@" >/dev/null 2>&1; then health=ok; else health=FAIL; UNHEALTHY=1; fi
  else
    state=$([[ "$pid" == - ]] && echo "not-started" || echo "DEAD"); health=FAIL; UNHEALTHY=1
  fi
  printf '  %-24s %-8s %-12s %-28s %s\n' "$name" "$pid" "$state" "$endpoint" "$health"
}

status_dir() {
  cluster_paths "$1"
  if [[ ! -s "${CLUSTER_DIR}/cluster.env" ]]; then
    echo "no cluster in ${CLUSTER_DIR}"; return 1
  fi
  # shellcheck disable=SC1090
  source "${CLUSTER_ENV}"
  MODE="${CLUSTER_MODE}"
  # shellcheck disable=SC2034 # read by api() in lib.sh
  APISERVER_URL="https://${APISERVER_HOST}:${APISERVER_PORT}"
  echo "cluster ${CLUSTER_DIR} (mode ${MODE})"
  printf '  %-24s %-8s %-12s %-28s %s\n' COMPONENT PID STATE ENDPOINT HEALTH
  row etcd "127.0.0.1:${ETCD_CLIENT_PORT}" etcd_healthy
  row kube-apiserver "${APISERVER_HOST}:${APISERVER_PORT}" apiserver_ready
  row kube-controller-manager "127.0.0.1:${KCM_PORT:-?}" kcm_healthy
  if [[ "${MODE}" == full ]]; then
    # shellcheck source=e2e/cluster/lib-full.sh
    source "${REPO_ROOT}/e2e/cluster/lib-full.sh"
    full_status_rows
  fi
  if apiserver_ready; then
    local n; n=$(api GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions 2>/dev/null | jq '.items | length' 2>/dev/null || echo "?")
    echo "  CRDs installed: ${n}"
  fi
  echo "  kubeconfig: ${KUBECONFIG_FILE}   logs: ${LOG_DIR}/"
}

main() {
  local mode="" found=0
  while (( $# > 0 )); do
    case "$1" in
      --mode) mode="${2:?--mode needs a value}"; shift 2 ;;
      --mode=*) mode="${1#--mode=}"; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $1" ;;
    esac
  done
  local dirs=()
  if [[ -n "${SWC_CLUSTER_DIR:-}" ]]; then dirs=("${SWC_CLUSTER_DIR}")
  elif [[ -n "$mode" ]]; then dirs=("$(default_dir_for_mode "$mode")")
  else dirs=("${SWC_DEFAULT_CP_DIR}" "${SWC_DEFAULT_FULL_DIR}"); fi
  local d
  for d in "${dirs[@]}"; do
    if [[ ${#dirs[@]} -gt 1 && ! -s "$d/cluster.env" ]]; then continue; fi
    if status_dir "$d"; then found=1; else UNHEALTHY=1; fi
  done
  if (( ${#dirs[@]} > 1 && found == 0 )); then echo "no cluster found in ${dirs[*]}"; exit 1; fi
  if (( UNHEALTHY )); then echo "status: UNHEALTHY"; exit 1; fi
  echo "status: healthy"
}

main "$@"
