#!/usr/bin/env bash
# Stop a cluster started by up.sh: every process by its recorded PID (nothing
# else), and in full mode also the pods' sandboxes (first, so CNI DEL runs),
# mounts, the bridge, iptables chains, cgroups and netns it created.
#
# Usage: [SWC_CLUSTER_DIR=DIR] e2e/cluster/down.sh [--mode control-plane|full] [--purge]
#   without SWC_CLUSTER_DIR and --mode: every cluster in the default dirs
#   (/var/lib/shipwright-cache/cluster and /var/lib/shipwright-cache/node)
#   --purge  also delete the state dir (PKI, etcd data, logs, kubeconfig)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034 # read by log() in lib.sh
SWC_SCRIPT=down
# shellcheck source=e2e/cluster/lib.sh
source "${REPO_ROOT}/e2e/cluster/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# Components in stop order (reverse of start order). Unknown leftovers last.
STOP_ORDER=(local-path-provisioner kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver etcd containerd registry)

down_dir() {
  local purge="$1" name f
  cluster_paths "$2"
  if [[ ! -d "${CLUSTER_DIR}" ]]; then log "no cluster in ${CLUSTER_DIR}; nothing to stop"; return 0; fi
  take_lock
  MODE=control-plane
  if [[ -s "${CLUSTER_ENV}" ]]; then
    # shellcheck disable=SC1090
    source "${CLUSTER_ENV}"; MODE="${CLUSTER_MODE}"
  fi
  if [[ "${MODE}" == full ]]; then
    # shellcheck source=e2e/cluster/lib-full.sh
    source "${REPO_ROOT}/e2e/cluster/lib-full.sh"
    full_down_before_processes
  fi
  for name in "${STOP_ORDER[@]}"; do stop_process "$name" 20; done
  for f in "${RUN_DIR}"/*.pid; do
    [[ -e "$f" ]] || continue
    name=$(basename "$f" .pid); stop_process "$name" 20
  done
  if [[ "${MODE}" == full ]]; then full_down_after_processes; fi
  if [[ "$purge" == 1 ]]; then
    if grep -q " ${CLUSTER_DIR}/" /proc/self/mountinfo; then
      grep " ${CLUSTER_DIR}/" /proc/self/mountinfo >&2
      die "mounts remain under ${CLUSTER_DIR}; not purging"
    fi
    rm -rf "${CLUSTER_DIR}"
    log "purged ${CLUSTER_DIR}"
  else
    log "stopped cluster in ${CLUSTER_DIR} (state kept; --purge deletes it)"
  fi
  exec 9>&-
}

main() {
  local purge=0 mode=""
  while (( $# > 0 )); do
    case "$1" in
      --purge) purge=1; shift ;;
      --mode) mode="${2:?--mode needs a value}"; shift 2 ;;
      --mode=*) mode="${1#--mode=}"; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $1" ;;
    esac
  done
  if [[ -n "${SWC_CLUSTER_DIR:-}" ]]; then down_dir "$purge" "${SWC_CLUSTER_DIR}"
  elif [[ -n "$mode" ]]; then down_dir "$purge" "$(default_dir_for_mode "$mode")"
  else
    down_dir "$purge" "${SWC_DEFAULT_CP_DIR}"
    down_dir "$purge" "${SWC_DEFAULT_FULL_DIR}"
  fi
}

main "$@"
