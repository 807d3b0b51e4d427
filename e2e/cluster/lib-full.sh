# shellcheck shell=bash disable=SC2034
# (sourced library: its variables are read by the scripts that source it)
# Full single-node mode: containerd + CNI bridge + kubelet + kube-proxy + scheduler
# + local registry + default StorageClass, on top of the control plane of lib.sh.
# Sourced by up.sh / down.sh / status.sh when the cluster's mode is "full".
#
# Network containment (the machine may talk to nothing but its registries):
#   - every daemon binds to 127.0.0.1 or to the project's bridge ${BRIDGE} (10.88.0.1/16);
#   - the CNI bridge does NOT masquerade (ipMasq false) and there is no portmap plugin;
#   - mangle-table guard chains (evaluated before any filter rule kube-proxy adds) drop
#     every packet from the bridge that would leave through another interface, every packet
#     from elsewhere forwarded into the bridge, and every packet from pods to a host
#     address other than the bridge IP;
#   - pods get an empty resolv.conf (no DNS server to leak queries to).
# Only one full cluster can run per machine (fixed bridge IP/ports); the dir owning it is
# written to ${FULL_OWNER_FILE}.

FULL_OWNER_FILE=/run/shipwright-cache-full.owner
# The apiserver reaches the kubelet (logs, exec) at the node's InternalIP, never by
# looking up the node name in the machine's DNS.
FULL_APISERVER_EXTRA_ARGS=(--kubelet-preferred-address-types=InternalIP)
FULL_KCM_EXTRA_ARGS=()
CRICTL="${CRICTL_BIN_DIR}/crictl"
LOCAL_PATH_BIN="${LOCAL_PATH_BIN_DIR}/local-path-provisioner"
KUBECTL="${K8S_BIN_DIR}/kubectl"

# ---------------------------------------------------------------- configuration
full_choose_config() {
  NODE_NAME=swc-node
  BRIDGE="${SWC_BRIDGE:-swc0}"
  BRIDGE_IP=10.88.0.1
  POD_CIDR=10.88.0.0/16
  REGISTRY_ADDR="${BRIDGE_IP}:5000"
  APISERVER_HOST="${BRIDGE_IP}"
  APISERVER_PORT="${SWC_APISERVER_PORT:-6443}"
  CONTAINERD_STATE=/run/swc-containerd
  SCHED_PORT=10259
}

full_config_lines() {
  echo "NODE_NAME=${NODE_NAME}"
  echo "BRIDGE=${BRIDGE}"
  echo "BRIDGE_IP=${BRIDGE_IP}"
  echo "POD_CIDR=${POD_CIDR}"
  echo "REGISTRY_ADDR=${REGISTRY_ADDR}"
  echo "CONTAINERD_STATE=${CONTAINERD_STATE}"
  echo "SCHED_PORT=${SCHED_PORT}"
}

full_paths() {
  CONTAINERD_SOCK="${CONTAINERD_STATE}/containerd.sock"
  KUBELET_ROOT="${CLUSTER_DIR}/kubelet"
  CNI_CONF_DIR="${CLUSTER_DIR}/cni/net.d"
  LOCAL_PATH_DIR="${CLUSTER_DIR}/local-path"
  CRI=("${CRICTL}" --runtime-endpoint "unix://${CONTAINERD_SOCK}" --image-endpoint "unix://${CONTAINERD_SOCK}" --timeout 30s)
}

# ---------------------------------------------------------------- host packages
FULL_APT_PACKAGES=(containerd runc containernetworking-plugins docker-registry buildah catatonit
                   iptables conntrack skopeo busybox-static debootstrap)

full_ensure_packages() {
  local missing=() p
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || [[ -x /usr/sbin/runc ]] || missing+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  for p in buildah catatonit iptables conntrack skopeo debootstrap; do command -v "$p" >/dev/null || missing+=("$p"); done
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  (( ${#missing[@]} == 0 )) && return 0
  log "installing Debian packages: ${missing[*]}"
  if [[ ! -e /var/lib/apt/lists/lock ]] || ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    apt-get update -qq -o DPkg::Lock::Timeout=600
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
    "${FULL_APT_PACKAGES[@]}" >/dev/null
}

# ---------------------------------------------------------------- single instance
# full_other_owner: prints the dir of ANOTHER full cluster that holds this machine (has
# live PID files), or nothing.
full_other_owner() {
  local owner; owner=$(cat "${FULL_OWNER_FILE}" 2>/dev/null || true)
  if [[ -n "$owner" && "$owner" != "${CLUSTER_DIR}" && -d "$owner/run" ]] && compgen -G "$owner/run/*.pid" >/dev/null; then
    echo "$owner"
  fi
  return 0
}

full_claim_machine() {
  local owner; owner=$(full_other_owner)
  if [[ -n "$owner" ]]; then
    die "a full cluster from ${owner} holds this machine (bridge ${BRIDGE}); stop it first: SWC_CLUSTER_DIR=${owner} e2e/cluster/down.sh"
  fi
  echo "${CLUSTER_DIR}" >"${FULL_OWNER_FILE}"
}

# ---------------------------------------------------------------- network
full_setup_network() {
  # Remember the sysctls we change, to put them back on down.
  if [[ ! -s "${CLUSTER_DIR}/sysctl.orig" ]]; then
    sysctl -n net.ipv4.ip_forward >"${CLUSTER_DIR}/sysctl.orig"
  fi
  # Guard rules first: the bridge plugin turns ip_forward on, and nothing from a pod may leave.
  full_guard_rules
  sysctl -qw net.ipv4.ip_forward=1
  [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] && sysctl -qw net.bridge.bridge-nf-call-iptables=1
  if ! ip link show "${BRIDGE}" >/dev/null 2>&1; then
    ip link add "${BRIDGE}" type bridge
    CHANGED=1
  fi
  ip addr replace "${BRIDGE_IP}/16" dev "${BRIDGE}"
  ip link set "${BRIDGE}" up
  # The apiserver reaches webhook Services (ClusterIPs) through kube-proxy's DNAT; without this
  # route the connection would leave by the default route with a source address the guard
  # rules drop on the way back. The route goes away with the bridge.
  ip route replace "${SERVICE_CIDR}" dev "${BRIDGE}" src "${BRIDGE_IP}"
}

# ipt TABLE ARGS...: iptables (and the rule check) quietly.
ipt() { local t="$1"; shift; iptables -w 5 -t "$t" "$@"; }

# full_guard_rules: idempotent. Chains SWC-GUARD-FWD / SWC-GUARD-IN (mangle), and
# SWC-FORWARD (filter, accepts bridge-local traffic even where FORWARD's policy is DROP).
full_guard_rules() {
  ipt mangle -N SWC-GUARD-FWD 2>/dev/null || true
  ipt mangle -F SWC-GUARD-FWD
  ipt mangle -A SWC-GUARD-FWD -i "${BRIDGE}" ! -o "${BRIDGE}" -m comment --comment "swc: pods reach only the bridge" -j DROP
  ipt mangle -A SWC-GUARD-FWD ! -i "${BRIDGE}" -o "${BRIDGE}" -m comment --comment "swc: nothing else is forwarded into the bridge" -j DROP
  ipt mangle -A SWC-GUARD-FWD -s "${POD_CIDR}" ! -d "${POD_CIDR}" -m comment --comment "swc: pod sources stay in the pod range" -j DROP
  ipt mangle -C FORWARD -j SWC-GUARD-FWD 2>/dev/null || ipt mangle -I FORWARD 1 -j SWC-GUARD-FWD
  ipt mangle -N SWC-GUARD-IN 2>/dev/null || true
  ipt mangle -F SWC-GUARD-IN
  ipt mangle -A SWC-GUARD-IN -i "${BRIDGE}" ! -d "${BRIDGE_IP}/32" -m addrtype ! --dst-type BROADCAST,MULTICAST \
    -m comment --comment "swc: pods reach only the bridge IP of the host" -j DROP
  ipt mangle -C INPUT -j SWC-GUARD-IN 2>/dev/null || ipt mangle -I INPUT 1 -j SWC-GUARD-IN
  ipt filter -N SWC-FORWARD 2>/dev/null || true
  ipt filter -F SWC-FORWARD
  ipt filter -A SWC-FORWARD -i "${BRIDGE}" -o "${BRIDGE}" -j ACCEPT
  ipt filter -C FORWARD -j SWC-FORWARD 2>/dev/null || ipt filter -I FORWARD 1 -j SWC-FORWARD
  if command -v ip6tables >/dev/null; then
    ip6tables -w 5 -t mangle -C FORWARD -i "${BRIDGE}" -j DROP 2>/dev/null || ip6tables -w 5 -t mangle -I FORWARD 1 -i "${BRIDGE}" -j DROP
    ip6tables -w 5 -t mangle -C FORWARD -o "${BRIDGE}" -j DROP 2>/dev/null || ip6tables -w 5 -t mangle -I FORWARD 1 -o "${BRIDGE}" -j DROP
  fi
}

# iptables_purge REGEX: delete every rule that jumps to a chain matching REGEX, then
# flush and delete those chains, in filter/nat/mangle/raw.
iptables_purge() {
  local re="$1" t line chain
  for t in filter nat mangle raw; do
    while read -r line; do
      eval "iptables -w 5 -t ${t} -D ${line#-A }" 2>/dev/null || true
    done < <(iptables-save -t "$t" 2>/dev/null | grep -E "^-A [A-Z]+ .*-j (${re})( |$)" | grep -vE "^-A (${re}) " || true)
    for chain in $(iptables-save -t "$t" 2>/dev/null | sed -n 's/^:\([^ ]*\) .*/\1/p' | grep -E "^(${re})$" || true); do
      iptables -w 5 -t "$t" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables-save -t "$t" 2>/dev/null | sed -n 's/^:\([^ ]*\) .*/\1/p' | grep -E "^(${re})$" || true); do
      iptables -w 5 -t "$t" -X "$chain" 2>/dev/null || true
    done
  done
}

full_teardown_network() {
  # kube-proxy's own cleanup first (iptables and nftables modes), then anything left.
  if [[ -x "${K8S_BIN_DIR}/kube-proxy" ]]; then
    "${K8S_BIN_DIR}/kube-proxy" --cleanup >>"${LOG_DIR}/kube-proxy.log" 2>&1 || true
  fi
  iptables_purge 'KUBE-[A-Z0-9-]+|CNI-[A-Za-z0-9-]+|SWC-[A-Z-]+'
  if command -v ip6tables >/dev/null; then
    while ip6tables -w 5 -t mangle -D FORWARD -i "${BRIDGE}" -j DROP 2>/dev/null; do :; done
    while ip6tables -w 5 -t mangle -D FORWARD -o "${BRIDGE}" -j DROP 2>/dev/null; do :; done
    local t; for t in filter nat mangle; do
      for chain in $(ip6tables-save -t "$t" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p'); do
        ip6tables -w 5 -t "$t" -F "$chain" 2>/dev/null || true
      done
    done
    iptables_purge6
  fi
  if command -v conntrack >/dev/null; then conntrack -D -s "${POD_CIDR}" >/dev/null 2>&1 || true; fi
  if ip link show "${BRIDGE}" >/dev/null 2>&1; then ip link del "${BRIDGE}"; log "deleted bridge ${BRIDGE}"; fi
  if [[ -s "${CLUSTER_DIR}/sysctl.orig" ]]; then
    sysctl -qw net.ipv4.ip_forward="$(cat "${CLUSTER_DIR}/sysctl.orig")" || true
    rm -f "${CLUSTER_DIR}/sysctl.orig"
  fi
}

# IPv6 KUBE-* chains (kube-proxy --cleanup removes most; this is the safety net).
iptables_purge6() {
  local t line chain
  for t in filter nat mangle raw; do
    while read -r line; do
      eval "ip6tables -w 5 -t ${t} -D ${line#-A }" 2>/dev/null || true
    done < <(ip6tables-save -t "$t" 2>/dev/null | grep -E '^-A [A-Z]+ .*-j KUBE-' || true)
    for chain in $(ip6tables-save -t "$t" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p'); do
      ip6tables -w 5 -t "$t" -X "$chain" 2>/dev/null || true
    done
  done
}

# ---------------------------------------------------------------- registry
registry_healthy() { curl -sf --max-time 3 "http://${REGISTRY_ADDR}/v2/" >/dev/null 2>&1; }

full_ensure_registry() {
  mkdir -p "${CLUSTER_DIR}/registry"
  write_config "${CLUSTER_DIR}/registry.yaml" registry <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: ${CLUSTER_DIR}/registry}
  delete: {enabled: true}
http:
  addr: ${REGISTRY_ADDR}
EOF
  if is_running registry && registry_healthy; then return 0; fi
  if is_running registry; then stop_process registry; fi
  CHANGED=1
  start_process registry "$(command -v docker-registry)" serve "${CLUSTER_DIR}/registry.yaml"
  wait_for "registry on ${REGISTRY_ADDR}" 20 registry registry_healthy
}

# ---------------------------------------------------------------- images
# full_image_ref NAME: the reference images/build.sh gives NAME (10.88.0.1:5000/offline/NAME:TAG).
full_image_ref() {
  "${REPO_ROOT}/images/build.sh" --print "$1" | awk -F'\t' -v n="$1" '$1 == n { print $2 }'
}

# full_load_images NAME...: build (cached) and put the images in the registry and in
# containerd's k8s.io namespace (images/load.sh).
full_load_images() {
  local t0; t0=$(now_ms)
  "${REPO_ROOT}/images/load.sh" --registry "${REGISTRY_ADDR}" --containerd-namespace k8s.io \
    --containerd-address "${CONTAINERD_SOCK}" "$@" >"${LOG_DIR}/images.log" 2>&1 \
    || { tail -n 30 "${LOG_DIR}/images.log" >&2; die "images/load.sh $* failed (log ${LOG_DIR}/images.log)"; }
  log "images loaded ($*) in $(( $(now_ms) - t0 )) ms"
}

# ---------------------------------------------------------------- containerd
containerd_healthy() { "${CRI[@]}" info >/dev/null 2>&1; }

full_write_containerd_config() {
  local pause_ref="$1" f="${CLUSTER_DIR}/containerd.toml"
  mkdir -p "${CNI_CONF_DIR}" "${CLUSTER_DIR}/cni/ipam"
  cat >"${CNI_CONF_DIR}/10-swc-pods.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "swc-pods",
  "plugins": [
    {
      "type": "bridge", "bridge": "${BRIDGE}", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "${CLUSTER_DIR}/cni/ipam",
        "ranges": [[{"subnet": "${POD_CIDR}", "gateway": "${BRIDGE_IP}", "rangeStart": "10.88.1.1"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
  write_config "$f" containerd <<EOF
# written by e2e/cluster/up.sh (full mode); see shared/notes/offline-cluster.md §4.2
version = 2
root = "${CLUSTER_DIR}/containerd"
state = "${CONTAINERD_STATE}"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${CONTAINERD_SOCK}"
[ttrpc]
  address = "${CONTAINERD_SOCK}.ttrpc"
[debug]
  level = "warn"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${CLUSTER_DIR}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pause_ref}"
  restrict_oom_score_adj = true          # CAP_SYS_RESOURCE is missing: never lower oom_score_adj
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${CNI_CONF_DIR}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."${REGISTRY_ADDR}"]
    endpoint = ["http://${REGISTRY_ADDR}"]
EOF
}

full_ensure_containerd() {
  local pause_ref; pause_ref=$(full_image_ref pause)
  [[ -n "$pause_ref" ]] || die "could not get the pause image reference from images/build.sh --print pause"
  full_write_containerd_config "$pause_ref"
  if is_running containerd && containerd_healthy; then return 0; fi
  if is_running containerd; then stop_process containerd; fi
  CHANGED=1
  mkdir -p "${CONTAINERD_STATE}"
  local t0; t0=$(now_ms)
  start_process containerd "$(command -v containerd)" --config "${CLUSTER_DIR}/containerd.toml"
  wait_for "containerd CRI on ${CONTAINERD_SOCK}" 30 containerd containerd_healthy
  log "containerd ready in $(( $(now_ms) - t0 )) ms"
}

# ---------------------------------------------------------------- scheduler
sched_healthy() { [[ "$(curl -sk --max-time 3 "https://127.0.0.1:${SCHED_PORT}/healthz" 2>/dev/null)" == ok ]]; }

full_ensure_scheduler() {
  local kc="${CLUSTER_DIR}/scheduler.kubeconfig"
  local cmd=("${K8S_BIN_DIR}/kube-scheduler"
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc"
    --bind-address=127.0.0.1 --secure-port="${SCHED_PORT}" --leader-elect=false --profiling=false)
  restart_if_changed kube-scheduler "${cmd[@]}"
  if is_running kube-scheduler && sched_healthy; then return 0; fi
  if is_running kube-scheduler; then stop_process kube-scheduler; fi
  CHANGED=1
  ensure_port_free kube-scheduler "${SCHED_PORT}"
  write_kubeconfig "$kc" "${APISERVER_URL}" scheduler
  start_process kube-scheduler "${cmd[@]}"
  wait_for "kube-scheduler /healthz" 60 kube-scheduler sched_healthy
}

# ---------------------------------------------------------------- kubelet
kubelet_healthy() { [[ "$(curl -s --max-time 3 http://127.0.0.1:10248/healthz 2>/dev/null)" == ok ]]; }
node_ready() {
  API_TIMEOUT=3 api GET "/api/v1/nodes/${NODE_NAME}" 2>/dev/null |
    jq -e '.status.conditions[] | select(.type == "Ready") | .status == "True"' >/dev/null
}

full_ensure_kubelet() {
  mkdir -p "${KUBELET_ROOT}"
  # Pods' only DNS server is their own loopback: no query can leave the pod. (An empty
  # file is not enough: containerd then copies the host's resolv.conf into the pod.)
  write_config "${CLUSTER_DIR}/resolv.conf" kubelet <<<"nameserver 127.0.0.1"
  write_config "${CLUSTER_DIR}/kubelet.yaml" kubelet <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${BRIDGE_IP}                # not 0.0.0.0
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
containerRuntimeEndpoint: unix://${CONTAINERD_SOCK}
cgroupDriver: cgroupfs               # no systemd; matches SystemdCgroup=false
failCgroupV1: false                  # required for >=1.35 on this cgroup v1 (hybrid) host
oomScoreAdj: 0                       # -999 cannot be applied without CAP_SYS_RESOURCE
seccompDefault: false                # RuntimeDefault blocks buildah's user namespace
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${PKI_DIR}/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local         # no clusterDNS: everything is addressed by IP
resolvConf: ${CLUSTER_DIR}/resolv.conf
evictionHard: {memory.available: 100Mi, nodefs.available: 200Mi, imagefs.available: 200Mi, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100     # never GC the pre-imported images
imageGCLowThresholdPercent: 99
failSwapOn: false
serializeImagePulls: false
registerNode: true
rotateCertificates: false
serverTLSBootstrap: false            # self-signed serving cert in ${KUBELET_ROOT}/pki
EOF
  local cmd=("${K8S_BIN_DIR}/kubelet"
    --config="${CLUSTER_DIR}/kubelet.yaml" --kubeconfig="${CLUSTER_DIR}/kubelet.kubeconfig"
    --root-dir="${KUBELET_ROOT}" --hostname-override="${NODE_NAME}" --node-ip="${BRIDGE_IP}" --v=1)
  restart_if_changed kubelet "${cmd[@]}"
  if is_running kubelet && kubelet_healthy && node_ready; then return 0; fi
  if is_running kubelet; then stop_process kubelet; fi
  CHANGED=1
  write_kubeconfig "${CLUSTER_DIR}/kubelet.kubeconfig" "${APISERVER_URL}" kubelet
  local t0; t0=$(now_ms)
  start_process kubelet "${cmd[@]}"
  wait_for "kubelet /healthz" 60 kubelet kubelet_healthy
  wait_for "Node ${NODE_NAME} Ready" 90 kubelet node_ready
  log "kubelet up and node Ready in $(( $(now_ms) - t0 )) ms"
}

# ---------------------------------------------------------------- kube-proxy
proxy_healthy() { curl -s --max-time 3 http://127.0.0.1:10256/healthz 2>/dev/null | grep -q '"lastUpdated"'; }

full_ensure_kube_proxy() {
  write_config "${CLUSTER_DIR}/kube-proxy.yaml" kube-proxy <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${CLUSTER_DIR}/kube-proxy.kubeconfig}
hostnameOverride: ${NODE_NAME}
mode: iptables
clusterCIDR: ${POD_CIDR}
oomScoreAdj: 0
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}   # leave conntrack sysctls alone
iptables: {localhostNodePorts: false}   # no route_localnet, no NodePorts on 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["${BRIDGE_IP}/32"]
EOF
  local cmd=("${K8S_BIN_DIR}/kube-proxy" --config="${CLUSTER_DIR}/kube-proxy.yaml")
  restart_if_changed kube-proxy "${cmd[@]}"
  if is_running kube-proxy && proxy_healthy; then full_guard_rules; return 0; fi
  if is_running kube-proxy; then stop_process kube-proxy; fi
  CHANGED=1
  write_kubeconfig "${CLUSTER_DIR}/kube-proxy.kubeconfig" "${APISERVER_URL}" kube-proxy
  start_process kube-proxy "${cmd[@]}"
  wait_for "kube-proxy /healthz" 60 kube-proxy proxy_healthy
  # Our guard chains must stay in front of whatever kube-proxy prepended.
  full_guard_rules
}

# ---------------------------------------------------------------- storage (local-path-provisioner)
lpp_healthy() { is_running local-path-provisioner; }

full_ensure_storage() {
  local helper_ref; helper_ref=$(full_image_ref shell)
  mkdir -p "${LOCAL_PATH_DIR}"
  sed -e "s|@LOCAL_PATH_DIR@|${LOCAL_PATH_DIR}|g" -e "s|@HELPER_IMAGE@|${helper_ref}|g" \
    "${REPO_ROOT}/e2e/cluster/manifests/local-path-storage.yaml" >"${CLUSTER_DIR}/local-path-storage.yaml"
  "${KUBECTL}" --kubeconfig "${KUBECONFIG_FILE}" apply --server-side --force-conflicts \
    --field-manager=shipwright-cache-cluster -f "${CLUSTER_DIR}/local-path-storage.yaml" >/dev/null
  local cmd=("${LOCAL_PATH_BIN}" start
    --kubeconfig "${CLUSTER_DIR}/local-path-provisioner.kubeconfig"
    --namespace local-path-storage --configmap-name local-path-config
    --service-account-name local-path-provisioner-service-account
    --provisioner-name rancher.io/local-path --helper-image "${helper_ref}")
  restart_if_changed local-path-provisioner "${cmd[@]}"
  if is_running local-path-provisioner; then return 0; fi
  CHANGED=1
  write_kubeconfig "${CLUSTER_DIR}/local-path-provisioner.kubeconfig" "${APISERVER_URL}" local-path-provisioner
  start_process local-path-provisioner "${cmd[@]}"
  sleep 1
  is_running local-path-provisioner || { tail_log local-path-provisioner; die "local-path-provisioner exited"; }
}

# ---------------------------------------------------------------- hooks called by up.sh
full_pre_control_plane() {
  full_paths
  full_ensure_packages
  full_claim_machine
  full_setup_network
  full_ensure_registry
  full_ensure_containerd
  full_load_images pause shell
}

full_post_apiserver() {
  full_ensure_scheduler
  full_ensure_kubelet
  full_ensure_kube_proxy
  full_ensure_storage
}

# On a failed up: the processes this run started are already stopped by up.sh.
full_cleanup_on_failure() { :; }

# ---------------------------------------------------------------- down.sh hooks
full_down_before_processes() {
  full_paths
  FULL_NOT_OWNER="$(full_other_owner)"
  if [[ -n "${FULL_NOT_OWNER}" ]]; then
    # The bridge, containerd state dir, iptables chains and cgroups belong to the cluster in
    # FULL_NOT_OWNER: stop only this dir's own PIDs and touch nothing machine-wide.
    log "the machine-wide parts (bridge, containerd, pods) belong to ${FULL_NOT_OWNER}; leaving them alone"
    return 0
  fi
  local name
  # No new pods: stop what creates or schedules them, and the kubelet (so it restarts nothing).
  for name in local-path-provisioner kube-scheduler kube-controller-manager kubelet; do stop_process "$name" 20; done
  # Pod sandboxes next, while containerd still runs, so that CNI DEL runs for each. If
  # containerd died but left pods (shims still running), start it again for the cleanup.
  if ! is_running containerd && [[ -f "${CLUSTER_DIR}/containerd.toml" && -n "$(our_shim_pids)" ]]; then
    log "containerd is not running but pods are; starting it to remove them cleanly"
    start_process containerd "$(command -v containerd)" --config "${CLUSTER_DIR}/containerd.toml"
    local i; for ((i = 0; i < 100; i++)); do containerd_healthy && break; sleep 0.1; done
  fi
  if is_running containerd && [[ -x "${CRICTL}" ]]; then
    local ids; ids=$("${CRI[@]}" pods -q 2>/dev/null || true)
    if [[ -n "$ids" ]]; then
      log "removing $(wc -w <<<"$ids") pod sandbox(es) via CRI (CNI DEL, netns, shm)"
      # shellcheck disable=SC2086
      "${CRI[@]}" stopp $ids >/dev/null 2>&1 || true
      # shellcheck disable=SC2086
      "${CRI[@]}" rmp -f $ids >/dev/null 2>&1 || true
    fi
  elif [[ -d "${CONTAINERD_STATE}" ]]; then
    log "WARNING: containerd is not running; pod sandboxes cannot get a clean CNI DEL"
  fi
}

# PIDs of containerd shims that belong to our containerd (their -address is our socket).
our_shim_pids() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "-address ${CONTAINERD_SOCK} " && echo "${p#/proc/}"
  done
  return 0
}

full_down_after_processes() {
  [[ -z "${FULL_NOT_OWNER:-}" ]] || return 0
  local pid m
  for pid in $(our_shim_pids); do log "killing leftover shim pid ${pid}"; kill -KILL "$pid" 2>/dev/null || true; done
  # Mounts: everything under the cluster dir and containerd's state dir, deepest first.
  for m in $(awk -v a="${CLUSTER_DIR}/" -v b="${CONTAINERD_STATE}/" \
      '{ gsub(/\\040/, " ", $5); if (index($5, a) == 1 || index($5, b) == 1) print $5 }' /proc/self/mountinfo | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "WARNING: could not unmount $m"
  done
  # Network namespaces the CNI left (containerd names them cni-<uuid>); only unused ones.
  for m in /run/netns/cni-*; do
    [[ -e "$m" ]] || continue
    if ! ip netns pids "${m##*/}" 2>/dev/null | grep -q .; then
      umount "$m" 2>/dev/null || true; rm -f "$m"
    fi
  done
  full_remove_cgroups
  full_teardown_network
  rm -rf "${CONTAINERD_STATE}" /var/lib/cni/results/swc-pods-* 2>/dev/null || true
  rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true   # only when empty (nothing else uses them)
  if [[ "$(cat "${FULL_OWNER_FILE}" 2>/dev/null)" == "${CLUSTER_DIR}" ]]; then rm -f "${FULL_OWNER_FILE}"; fi
}

# Remove the kubepods (kubelet) and k8s.io (containerd) cgroup trees in every v1 hierarchy.
# Processes still inside them are pod processes whose sandbox could not be removed via
# the CRI: they are killed first (by PID, from the trees' cgroup.procs).
full_remove_cgroups() {
  local h d pid
  for d in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/pids/k8s.io; do
    [[ -d "$d" ]] || continue
    while read -r pid; do
      [[ -n "$pid" ]] || continue
      log "killing leftover pod process ${pid}"; kill -KILL "$pid" 2>/dev/null || true
    done < <(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  sleep 0.2
  for h in /sys/fs/cgroup/*/; do
    for d in "${h}kubepods" "${h}kubepods.slice" "${h}k8s.io"; do
      [[ -d "$d" ]] || continue
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d "$d" ]] && log "WARNING: cgroup $d still in use"
    done
  done
  return 0
}

full_status_rows() {
  full_paths
  row registry "${REGISTRY_ADDR}" registry_healthy
  row containerd "${CONTAINERD_SOCK}" containerd_healthy
  row kube-scheduler "127.0.0.1:${SCHED_PORT}" sched_healthy
  row kubelet "${BRIDGE_IP}:10250" node_ready
  row kube-proxy "127.0.0.1:10256" proxy_healthy
  row local-path-provisioner "-" lpp_healthy
  if apiserver_ready; then
    echo "  pods:"
    API_TIMEOUT=5 api GET /api/v1/pods 2>/dev/null |
      jq -r '.items[] | "    \(.metadata.namespace)/\(.metadata.name)  \(.status.phase)  \(.status.podIP // "-")"' || true
  fi
}
