#!/usr/bin/env bash
# Bring up (or repair) the offline cluster. Idempotent: with everything running
# it does nothing and says so; a half-dead cluster is repaired in place.
#
# Usage: [SWC_CLUSTER_DIR=DIR] e2e/cluster/up.sh [--mode control-plane|full] [--crds]
#   --mode control-plane  etcd + kube-apiserver on 127.0.0.1 (default; for integration tests)
#                         default DIR: /var/lib/shipwright-cache/cluster
#   --mode full           single-node cluster: containerd, CNI bridge, kubelet, ... (see README.md)
#                         default DIR: /var/lib/shipwright-cache/node
#   --crds                also install the Shipwright and Tekton CRDs (conversion: None), wait Established
# Environment:
#   SWC_CLUSTER_DIR       state directory (PKI, data, logs, pids, kubeconfig)
#   SWC_APISERVER_PORT    apiserver port   } chosen free automatically at first start when unset,
#   SWC_ETCD_PORT         etcd client port } then kept in DIR/cluster.env (etcd peer = client+1)
#   SWC_ETCD_FSYNC=1      keep etcd's fsync in control-plane mode (default off there: faster tests)
# Writes DIR/kubeconfig (admin, system:masters).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034 # read by log() in lib.sh
SWC_SCRIPT=up
# shellcheck source=e2e/cluster/lib.sh
source "${REPO_ROOT}/e2e/cluster/lib.sh"

MODE=control-plane
WITH_CRDS=0
STARTED_BY_US=()
SUCCESS=0

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# cleanup on failure: stop what this run started (in reverse order); keep the
# state dir for debugging (logs/ tells why).
cleanup() {
  local rc=$?
  if (( SUCCESS == 0 )); then log "bring-up FAILED (exit ${rc}); state and logs kept in ${CLUSTER_DIR:-?}"; fi
  if (( SUCCESS == 0 && ${#STARTED_BY_US[@]} > 0 )); then
    log "stopping what this run started"
    local i
    for ((i = ${#STARTED_BY_US[@]} - 1; i >= 0; i--)); do stop_process "${STARTED_BY_US[i]}" 5 || true; done
    if [[ "${MODE}" == full ]] && declare -F full_cleanup_on_failure >/dev/null; then full_cleanup_on_failure || true; fi
  fi
}

# load_or_choose_config: ports/addresses are chosen once and kept in cluster.env.
load_or_choose_config() {
  if [[ -s "${CLUSTER_ENV}" ]]; then
    # shellcheck disable=SC1090
    source "${CLUSTER_ENV}"
    [[ "${CLUSTER_MODE}" == "${MODE}" ]] || die "${CLUSTER_DIR} holds a ${CLUSTER_MODE} cluster, not ${MODE}; use another SWC_CLUSTER_DIR or down.sh --purge"
    if [[ -n "${SWC_APISERVER_PORT:-}" && "${SWC_APISERVER_PORT}" != "${APISERVER_PORT}" ]] ||
       [[ -n "${SWC_ETCD_PORT:-}" && "${SWC_ETCD_PORT}" != "${ETCD_CLIENT_PORT}" ]]; then
      log "WARNING: ${CLUSTER_ENV} already fixes apiserver ${APISERVER_PORT} / etcd ${ETCD_CLIENT_PORT}; SWC_*_PORT ignored (down.sh --purge to change)"
    fi
    if [[ -z "${KCM_PORT:-}" ]]; then   # cluster.env written before the controller-manager was added
      KCM_PORT=$(find_free_ports $(( $(base_port_for_dir "${CLUSTER_DIR}") + 4 )) 1)
      echo "KCM_PORT=${KCM_PORT}" >>"${CLUSTER_ENV}"
    fi
    return
  fi
  CLUSTER_MODE="${MODE}"
  SERVICE_CIDR=10.96.0.0/16
  SERVICE_APISERVER_IP=10.96.0.1
  local base; base=$(base_port_for_dir "${CLUSTER_DIR}")
  if [[ "${MODE}" == control-plane ]]; then
    APISERVER_HOST=127.0.0.1
    APISERVER_PORT="${SWC_APISERVER_PORT:-$(find_free_ports "$base" 1)}"
  else
    full_choose_config
  fi
  if [[ -n "${SWC_ETCD_PORT:-}" ]]; then ETCD_CLIENT_PORT="${SWC_ETCD_PORT}"
  else ETCD_CLIENT_PORT=$(find_free_ports $((base + 2)) 2); fi
  ETCD_PEER_PORT=$((ETCD_CLIENT_PORT + 1))
  KCM_PORT=$(find_free_ports $((base + 4)) 1)
  local p
  for p in "${APISERVER_PORT}" "${ETCD_CLIENT_PORT}" "${ETCD_PEER_PORT}" "${KCM_PORT}"; do
    port_in_use "$p" && die "port ${p} on this machine is already in use (set SWC_APISERVER_PORT / SWC_ETCD_PORT)"
  done
  {
    echo "# chosen by up.sh at first start; delete the cluster (down.sh --purge) to change"
    echo "CLUSTER_MODE=${CLUSTER_MODE}"
    echo "APISERVER_HOST=${APISERVER_HOST}"
    echo "APISERVER_PORT=${APISERVER_PORT}"
    echo "ETCD_CLIENT_PORT=${ETCD_CLIENT_PORT}"
    echo "ETCD_PEER_PORT=${ETCD_PEER_PORT}"
    echo "KCM_PORT=${KCM_PORT}"
    echo "SERVICE_CIDR=${SERVICE_CIDR}"
    echo "SERVICE_APISERVER_IP=${SERVICE_APISERVER_IP}"
    if [[ "${MODE}" == full ]]; then full_config_lines; fi
  } >"${CLUSTER_ENV}"
}

ensure_binaries() {
  local need=("${ETCD_BIN_DIR}/etcd" "${K8S_BIN_DIR}"/{kube-apiserver,kube-controller-manager,kubectl}) target=control-plane b
  if [[ "${MODE}" == full ]]; then
    target=all
    need+=("${K8S_BIN_DIR}"/{kube-scheduler,kubelet,kube-proxy} "${LOCAL_PATH_BIN_DIR}/local-path-provisioner" "${CRICTL_BIN_DIR}/crictl")
  fi
  for b in "${need[@]}"; do
    if [[ ! -x "$b" ]]; then
      log "binaries missing (${b}); building '${target}' (cold build on 2 cores takes many minutes, see README.md)"
      "${REPO_ROOT}/e2e/cluster/build-binaries.sh" "${target}"
      return
    fi
  done
}

# ensure_port_ours NAME PORT: a port we need is either free or held by our own process.
ensure_port_free() {
  local name="$1" port="$2"
  if port_in_use "$port"; then
    ss -Htlnp "sport = :${port}" >&2 || true
    die "port ${port} needed by ${name} is held by another process (see above); stop it or down.sh --purge this cluster"
  fi
}

ensure_etcd() {
  local extra=()
  if [[ "${MODE}" == control-plane && "${SWC_ETCD_FSYNC:-0}" != 1 ]]; then extra+=(--unsafe-no-fsync); fi
  local cmd=("${ETCD_BIN_DIR}/etcd"
    --name=default --data-dir="${CLUSTER_DIR}/etcd"
    --listen-client-urls="http://127.0.0.1:${ETCD_CLIENT_PORT}"
    --advertise-client-urls="http://127.0.0.1:${ETCD_CLIENT_PORT}"
    --listen-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}"
    --initial-advertise-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}"
    --initial-cluster="default=http://127.0.0.1:${ETCD_PEER_PORT}"
    --log-level=warn "${extra[@]}")
  restart_if_changed etcd "${cmd[@]}"
  if is_running etcd && etcd_healthy; then return 0; fi
  CHANGED=1
  if is_running etcd; then
    log "etcd (pid $(pid_of etcd)) is running but unhealthy; restarting it"
    stop_process etcd
  fi
  ensure_port_free etcd "${ETCD_CLIENT_PORT}"
  ensure_port_free etcd-peer "${ETCD_PEER_PORT}"
  mkdir -p "${CLUSTER_DIR}/etcd"; chmod 700 "${CLUSTER_DIR}/etcd"
  local t0; t0=$(now_ms)
  start_process etcd "${cmd[@]}"
  wait_for "etcd health on 127.0.0.1:${ETCD_CLIENT_PORT}" 30 etcd etcd_healthy
  log "etcd healthy in $(( $(now_ms) - t0 )) ms"
}

ensure_apiserver() {
  # shellcheck disable=SC2054 # commas inside flag values
  local cmd=("${K8S_BIN_DIR}/kube-apiserver"
    --bind-address="${APISERVER_HOST}" --advertise-address="${APISERVER_HOST}" --secure-port="${APISERVER_PORT}"
    --etcd-servers="http://127.0.0.1:${ETCD_CLIENT_PORT}"
    --service-cluster-ip-range="${SERVICE_CIDR}"
    --client-ca-file="${PKI_DIR}/ca.crt"
    --tls-cert-file="${PKI_DIR}/apiserver.crt" --tls-private-key-file="${PKI_DIR}/apiserver.key"
    --kubelet-client-certificate="${PKI_DIR}/apiserver-kubelet-client.crt"
    --kubelet-client-key="${PKI_DIR}/apiserver-kubelet-client.key"
    --service-account-issuer=https://kubernetes.default.svc.cluster.local
    --service-account-key-file="${PKI_DIR}/sa.pub"
    --service-account-signing-key-file="${PKI_DIR}/sa.key"
    --authorization-mode=Node,RBAC
    # front-proxy headers: only a cert with CN front-proxy-client (never issued here)
    # could assert them; set so that clients of extension-apiserver-authentication are content.
    --requestheader-client-ca-file="${PKI_DIR}/ca.crt" --requestheader-allowed-names=front-proxy-client
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group
    --requestheader-extra-headers-prefix=X-Remote-Extra-
    --enable-admission-plugins=NodeRestriction
    --allow-privileged=true
    --profiling=false
  )
  if [[ "${MODE}" == control-plane ]]; then
    # No nodes and no kube-proxy: nothing would route to the kubernetes Service,
    # and a loopback address cannot be an Endpoints IP, so do not reconcile it.
    cmd+=(--endpoint-reconciler-type=none)
  else
    cmd+=("${FULL_APISERVER_EXTRA_ARGS[@]}")
  fi
  restart_if_changed kube-apiserver "${cmd[@]}"
  if is_running kube-apiserver && apiserver_ready; then return 0; fi
  if is_running kube-apiserver; then
    # Not ready may just mean "still starting" (or etcd was just restarted): give it 15 s.
    local i
    for ((i = 0; i < 75; i++)); do apiserver_ready && return 0; sleep 0.2; done
    log "kube-apiserver (pid $(pid_of kube-apiserver)) is running but not ready; restarting it"
    stop_process kube-apiserver
  fi
  CHANGED=1
  ensure_port_free kube-apiserver "${APISERVER_PORT}"
  local t0; t0=$(now_ms)
  start_process kube-apiserver "${cmd[@]}"
  wait_for "kube-apiserver /readyz on ${APISERVER_URL}" 90 kube-apiserver apiserver_ready
  log "kube-apiserver ready in $(( $(now_ms) - t0 )) ms"
}

# default_sa_exists: the serviceaccount controller of kube-controller-manager works.
default_sa_exists() { API_TIMEOUT=3 api GET /api/v1/namespaces/default/serviceaccounts/default >/dev/null 2>&1; }

# start_controller_manager / wait_controller_manager: also in control-plane mode, because without it the
# aggregated ClusterRoles (admin/edit/view) have no rules, namespaces never finish
# deleting, no "default" ServiceAccount appears (so Pods cannot be created) and
# nothing is garbage-collected.
KCM_STARTED_AT=""
start_controller_manager() {
  # control-plane mode: the controller-manager acts as the admin (system:masters)
  # rather than minting one ServiceAccount per controller, which costs ~5 s at start.
  local kcm_user=admin sa_creds=false
  if [[ "${MODE}" == full ]]; then kcm_user=controller-manager; sa_creds=true; fi
  local kc="${CLUSTER_DIR}/controller-manager.kubeconfig"
  local cmd=("${K8S_BIN_DIR}/kube-controller-manager"
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc"
    --bind-address=127.0.0.1 --secure-port="${KCM_PORT}"
    --cert-dir="${CLUSTER_DIR}/kcm-certs"
    --leader-elect=false
    --root-ca-file="${PKI_DIR}/ca.crt"
    --service-account-private-key-file="${PKI_DIR}/sa.key"
    --use-service-account-credentials="${sa_creds}"
    --cluster-signing-cert-file="${PKI_DIR}/ca.crt" --cluster-signing-key-file="${PKI_DIR}/ca.key"
    --service-cluster-ip-range="${SERVICE_CIDR}"
    --profiling=false
  )
  if [[ "${MODE}" == full ]]; then cmd+=("${FULL_KCM_EXTRA_ARGS[@]}"); fi
  restart_if_changed kube-controller-manager "${cmd[@]}"
  if is_running kube-controller-manager && kcm_healthy; then return 0; fi
  if is_running kube-controller-manager; then
    log "kube-controller-manager (pid $(pid_of kube-controller-manager)) is running but unhealthy; restarting it"
    stop_process kube-controller-manager
  fi
  CHANGED=1
  ensure_port_free kube-controller-manager "${KCM_PORT}"
  write_kubeconfig "$kc" "${APISERVER_URL}" "${kcm_user}"
  KCM_STARTED_AT=$(now_ms)
  start_process kube-controller-manager "${cmd[@]}"
}

wait_controller_manager() {
  [[ -n "${KCM_STARTED_AT}" ]] || return 0
  wait_for "kube-controller-manager /healthz on 127.0.0.1:${KCM_PORT}" 60 kube-controller-manager kcm_healthy
  wait_for "ServiceAccount default/default (serviceaccount controller)" 30 kube-controller-manager default_sa_exists
  log "kube-controller-manager healthy $(( $(now_ms) - KCM_STARTED_AT )) ms after its start"
}

main() {
  while (( $# > 0 )); do
    case "$1" in
      --mode) MODE="${2:?--mode needs a value}"; shift 2 ;;
      --mode=*) MODE="${1#--mode=}"; shift ;;
      --crds) WITH_CRDS=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $1" ;;
    esac
  done
  [[ "${MODE}" == control-plane || "${MODE}" == full ]] || die "--mode must be control-plane or full"
  if [[ "${MODE}" == full ]]; then
    # shellcheck source=e2e/cluster/lib-full.sh
    source "${REPO_ROOT}/e2e/cluster/lib-full.sh"
  fi
  cluster_paths "${SWC_CLUSTER_DIR:-$(default_dir_for_mode "${MODE}")}"
  local t_start; t_start=$(now_ms)
  take_lock
  trap cleanup EXIT
  load_or_choose_config
  APISERVER_URL="https://${APISERVER_HOST}:${APISERVER_PORT}"
  ensure_binaries
  gen_pki "${NODE_NAME:-swc-node}" "${APISERVER_HOST}"

  # Each ensure_* step sets CHANGED=1 when it had to start or repair something.
  CHANGED=0
  if [[ "${MODE}" == full ]]; then full_pre_control_plane; fi
  ensure_etcd
  ensure_apiserver
  # Always (re)write the kubeconfig: cheap, and repairs a deleted one.
  write_kubeconfig "${KUBECONFIG_FILE}" "${APISERVER_URL}" admin
  # The controller-manager starts while the CRDs are applied; waited for after.
  start_controller_manager
  if (( WITH_CRDS )) && ! all_crds_established; then install_crds; CHANGED=1; fi
  wait_controller_manager
  if [[ "${MODE}" == full ]]; then full_post_apiserver; fi
  SUCCESS=1
  if (( CHANGED )); then
    log "cluster (${MODE}) up in $(( $(now_ms) - t_start )) ms: ${APISERVER_URL}"
  else
    log "cluster (${MODE}) in ${CLUSTER_DIR} is already running and healthy; nothing to do"
  fi
  echo "export KUBECONFIG=${KUBECONFIG_FILE}"
}

main "$@"
