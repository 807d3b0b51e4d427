# shellcheck shell=bash disable=SC2034
# (sourced library: its variables are read by the scripts that source it)
# Shared functions for e2e/cluster/{up,down,status,test-cluster}.sh. Sourced, not run.
#
# State of one cluster lives in ONE directory, $SWC_CLUSTER_DIR:
#   mode            control-plane | full
#   cluster.env     ports and addresses chosen at first start (kept across restarts)
#   pki/            CA, serving and client certs, SA key pair (openssl)
#   kubeconfig      admin kubeconfig (system:masters), everything embedded
#   etcd/           etcd data
#   logs/NAME.log   one log per component
#   run/NAME.pid    PID of each component this tooling started; run/NAME.cmd its command line
# Nothing is supervised: a component is "running" when run/NAME.pid names a live
# process whose argv[0] is the binary we started (so a recycled PID is never ours).

# shellcheck source=e2e/cluster/versions.sh
source "${REPO_ROOT}/e2e/cluster/versions.sh"

SWC_DEFAULT_CP_DIR="/var/lib/shipwright-cache/cluster"
SWC_DEFAULT_FULL_DIR="/var/lib/shipwright-cache/node"

log() { printf '[%s %s] %s\n' "${SWC_SCRIPT:-cluster}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# now_ms: wall clock in milliseconds (for the timings printed by up.sh).
now_ms() { date +%s%3N; }

# default_dir_for_mode MODE
default_dir_for_mode() {
  case "$1" in
    control-plane) echo "${SWC_DEFAULT_CP_DIR}" ;;
    full) echo "${SWC_DEFAULT_FULL_DIR}" ;;
    *) die "unknown mode '$1' (control-plane|full)" ;;
  esac
}

# cluster_paths DIR: sets the path variables for a cluster directory.
cluster_paths() {
  CLUSTER_DIR="$(realpath -m "$1")"
  PKI_DIR="${CLUSTER_DIR}/pki"
  RUN_DIR="${CLUSTER_DIR}/run"
  LOG_DIR="${CLUSTER_DIR}/logs"
  KUBECONFIG_FILE="${CLUSTER_DIR}/kubeconfig"
  CLUSTER_ENV="${CLUSTER_DIR}/cluster.env"
}

# ---------------------------------------------------------------- locking
# with_lock: take an exclusive lock on the cluster dir for the rest of the script
# (fd 9), so two up/down runs on one directory never interleave.
take_lock() {
  mkdir -p "${CLUSTER_DIR}"
  exec 9>"${CLUSTER_DIR}/.lock"
  if ! flock -w 300 9; then die "could not lock ${CLUSTER_DIR}/.lock within 300 s"; fi
}

# ---------------------------------------------------------------- ports
port_in_use() { [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }

# base_port_for_dir DIR: a start port derived from the directory name, so two
# cluster dirs usually start their search at different places (20000-31999).
base_port_for_dir() {
  local h; h=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
  echo $((20000 + (h % 400) * 30))
}

# find_free_ports START COUNT: first P >= START such that P..P+COUNT-1 are all free.
find_free_ports() {
  local p="$1" n="$2" i ok
  while (( p < 32000 )); do
    ok=1
    for ((i = 0; i < n; i++)); do if port_in_use $((p + i)); then ok=0; break; fi; done
    if (( ok )); then echo "$p"; return 0; fi
    p=$((p + n))
  done
  die "no free port range of ${n} found"
}

# ---------------------------------------------------------------- processes
pid_of() { local f="${RUN_DIR}/$1.pid"; [[ -s "$f" ]] && cat "$f"; }

# is_running NAME: the recorded PID is alive and is still the binary we started.
is_running() {
  local pid want got
  pid=$(pid_of "$1") || return 1
  [[ -r "/proc/${pid}/cmdline" ]] || return 1
  want=$(head -1 "${RUN_DIR}/$1.cmd" 2>/dev/null) || return 1
  got=$(tr '\0' '\n' 2>/dev/null <"/proc/${pid}/cmdline" | head -1) || return 1
  [[ -n "$got" && "$got" == "$want" ]]
}

# start_process NAME BINARY ARGS...: start detached (own session, stdin closed),
# log to logs/NAME.log, record the PID and the command line.
start_process() {
  local name="$1"; shift
  mkdir -p "${RUN_DIR}" "${LOG_DIR}"
  printf '%s\n' "$@" >"${RUN_DIR}/${name}.cmd"
  printf '\n===== %s start: %s\n' "$(date -u +%FT%TZ)" "$*" >>"${LOG_DIR}/${name}.log"
  (
    # Close every inherited descriptor above 2 (our lock, a caller's pipes), so a
    # daemon never holds the cluster lock or keeps `up.sh | tee` from finishing.
    for fd in /proc/"${BASHPID}"/fd/*; do
      fd="${fd##*/}"
      if (( fd > 2 )); then eval "exec ${fd}>&-" 2>/dev/null || true; fi
    done
    exec setsid "$@"
  ) </dev/null >>"${LOG_DIR}/${name}.log" 2>&1 &
  echo $! >"${RUN_DIR}/${name}.pid"
  STARTED_BY_US+=("${name}")
  log "started ${name} (pid $!, log ${LOG_DIR}/${name}.log)"
}

# stop_process NAME [TIMEOUT_S]: TERM, wait, then KILL. Only the recorded PID.
stop_process() {
  local name="$1" timeout="${2:-15}" pid i
  pid=$(pid_of "$name") || { rm -f "${RUN_DIR}/${name}.pid"; return 0; }
  if is_running "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      [[ -d "/proc/${pid}" ]] || break
      # a zombie child of ours counts as gone
      [[ "$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null)" == Z ]] && break
      sleep 0.1
    done
    if [[ -d "/proc/${pid}" ]] && is_running "$name"; then
      log "${name} (pid ${pid}) ignored TERM for ${timeout}s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    log "stopped ${name} (pid ${pid})"
  fi
  rm -f "${RUN_DIR}/${name}.pid"
}

# same_cmd NAME ARGV...: the running NAME was started with exactly ARGV.
same_cmd() {
  local name="$1"; shift
  [[ "$(printf '%s\n' "$@")" == "$(cat "${RUN_DIR}/${name}.cmd" 2>/dev/null)" ]]
}

# restart_if_changed NAME ARGV...: stop NAME when it runs with other flags (the
# caller then starts it again), so a re-up applies changed flags.
restart_if_changed() {
  local name="$1"; shift
  if is_running "$name" && ! same_cmd "$name" "$@"; then
    log "${name}: flags changed; restarting it"
    stop_process "$name"
  fi
}

# write_config FILE NAME < CONTENT: replace FILE when its content changed and then
# stop NAME if it runs (the caller starts it again with the new content).
write_config() {
  local f="$1" name="$2"
  cat >"${f}.new"
  if cmp -s "${f}.new" "$f"; then rm -f "${f}.new"; return 0; fi
  mv "${f}.new" "$f"
  if is_running "$name"; then log "${name}: ${f##*/} changed; restarting it"; stop_process "$name"; fi
}

# tail_log NAME: last lines of a component's log, for error messages.
tail_log() { [[ -f "${LOG_DIR}/$1.log" ]] && tail -n "${2:-25}" "${LOG_DIR}/$1.log" | sed "s/^/    $1| /" >&2 || true; }

# wait_for DESC TIMEOUT_S PROCESS_NAME CMD...: poll CMD every 0.1 s; fail early
# if PROCESS_NAME (may be "-") dies.
wait_for() {
  local desc="$1" timeout="$2" proc="$3"; shift 3
  local deadline=$(( $(now_ms) + timeout * 1000 ))
  while (( $(now_ms) < deadline )); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ "$proc" != - ]] && ! is_running "$proc"; then
      tail_log "$proc"; die "${proc} exited while waiting for ${desc}"
    fi
    sleep 0.1
  done
  [[ "$proc" != - ]] && tail_log "$proc"
  die "timed out after ${timeout}s waiting for ${desc}"
}

# ---------------------------------------------------------------- PKI (openssl)
# issue_cert NAME CN O SANS(comma list, may be empty) server|client
issue_cert() {
  local name="$1" cn="$2" o="$3" sans="$4" kind="$5" subj ext
  [[ -s "${PKI_DIR}/${name}.crt" && -s "${PKI_DIR}/${name}.key" ]] && return 0
  subj="/CN=${cn}"; [[ -n "$o" ]] && subj="/O=${o}${subj}"
  ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment"
  if [[ "$kind" == server ]]; then ext+=$'\nextendedKeyUsage=serverAuth,clientAuth'
  else ext+=$'\nextendedKeyUsage=clientAuth'; fi
  [[ -n "$sans" ]] && ext+=$'\n'"subjectAltName=${sans}"
  openssl ecparam -name prime256v1 -genkey -noout -out "${PKI_DIR}/${name}.key" 2>/dev/null
  openssl req -new -key "${PKI_DIR}/${name}.key" -subj "$subj" -out "${PKI_DIR}/${name}.csr" 2>/dev/null
  openssl x509 -req -in "${PKI_DIR}/${name}.csr" -CA "${PKI_DIR}/ca.crt" -CAkey "${PKI_DIR}/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile <(printf '%s\n' "$ext") -out "${PKI_DIR}/${name}.crt" 2>/dev/null
  rm -f "${PKI_DIR}/${name}.csr"
}

# gen_pki NODE_NAME NODE_IP: CA, apiserver serving cert, client certs, SA keys.
# Idempotent: existing files are kept (so a restart keeps the same CA).
gen_pki() {
  local node="$1" ip="$2"
  mkdir -p "${PKI_DIR}"; chmod 700 "${PKI_DIR}"
  if [[ ! -s "${PKI_DIR}/ca.crt" ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "${PKI_DIR}/ca.key" 2>/dev/null
    openssl req -x509 -new -key "${PKI_DIR}/ca.key" -subj "/CN=shipwright-cache-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "${PKI_DIR}/ca.crt" 2>/dev/null
  fi
  local sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:${node},IP:127.0.0.1,IP:${SERVICE_APISERVER_IP}"
  [[ "$ip" != 127.0.0.1 ]] && sans+=",IP:${ip}"
  issue_cert apiserver kube-apiserver "" "$sans" server
  issue_cert admin kubernetes-admin system:masters "" client
  issue_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters "" client
  issue_cert controller-manager system:kube-controller-manager "" "" client
  if [[ "${MODE}" == full ]]; then
    issue_cert scheduler system:kube-scheduler "" "" client
    issue_cert kube-proxy system:kube-proxy "" "" client
    issue_cert kubelet "system:node:${node}" system:nodes "" client
    issue_cert local-path-provisioner system:swc:local-path-provisioner "" "" client
  fi
  if [[ ! -s "${PKI_DIR}/sa.key" ]]; then
    openssl genrsa -out "${PKI_DIR}/sa.key" 2048 2>/dev/null
    openssl rsa -in "${PKI_DIR}/sa.key" -pubout -out "${PKI_DIR}/sa.pub" 2>/dev/null
  fi
  chmod 600 "${PKI_DIR}"/*.key
}

# write_kubeconfig FILE SERVER_URL CERT_NAME: kubeconfig with embedded CA/cert/key.
write_kubeconfig() {
  local file="$1" server="$2" cert="$3" tmp
  tmp="${file}.tmp.$$"
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: shipwright-cache
  cluster:
    server: ${server}
    certificate-authority-data: $(base64 -w0 <"${PKI_DIR}/ca.crt")
users:
- name: ${cert}
  user:
    client-certificate-data: $(base64 -w0 <"${PKI_DIR}/${cert}.crt")
    client-key-data: $(base64 -w0 <"${PKI_DIR}/${cert}.key")
contexts:
- name: shipwright-cache
  context:
    cluster: shipwright-cache
    user: ${cert}
current-context: shipwright-cache
EOF
  chmod 600 "$tmp"; mv "$tmp" "$file"
}

# ---------------------------------------------------------------- API access without kubectl
# api METHOD PATH [curl args...]: admin request to the apiserver; prints the body.
api() {
  local method="$1" path="$2"; shift 2
  curl -sS --fail-with-body --max-time "${API_TIMEOUT:-30}" -X "$method" \
    --cacert "${PKI_DIR}/ca.crt" --cert "${PKI_DIR}/admin.crt" --key "${PKI_DIR}/admin.key" \
    "${APISERVER_URL}${path}" "$@"
}

apiserver_ready() { [[ "$(API_TIMEOUT=3 api GET /readyz 2>/dev/null)" == ok ]]; }
kcm_healthy() { [[ "$(curl -sk --max-time 3 "https://127.0.0.1:${KCM_PORT}/healthz" 2>/dev/null)" == ok ]]; }
etcd_healthy() { curl -sf --max-time 3 "http://127.0.0.1:${ETCD_CLIENT_PORT}/health" 2>/dev/null | grep -q '"health":"true"'; }

# ---------------------------------------------------------------- CRDs
# crd_files: the CRD manifests to install with --crds.
crd_files() {
  local fx="${REPO_ROOT}/tests/fixtures/upstream"
  ls "${fx}/shipwright/v${SHIPWRIGHT_VERSION}/crds/"*.yaml "${fx}/tekton-pipelines/v${TEKTON_VERSION}/crds/"*.yaml
}

crd_name() { awk '/^metadata:/{m=1; next} m && /^  name:/{print $2; exit}' "$1"; }

# crd_without_conversion FILE: the manifest with spec.conversion replaced by
# {strategy: None} (no conversion webhook runs in this cluster; storage-version
# objects are served as they are). Only the top-level "  conversion:" block of
# spec is touched.
crd_without_conversion() {
  awk '
    /^  conversion:/ { print "  conversion:"; print "    strategy: None"; skip = 1; next }
    skip && /^(   |$)/ { next }
    { skip = 0; print }
  ' "$1"
}

# install_crds: server-side apply of every CRD (create or update), all in
# parallel (the apiserver is the bottleneck: sequential took ~5 s, parallel ~1 s),
# then wait until all are Established.
install_crds() {
  local f name names=() pids=() t0 i rc=0 errdir; t0=$(now_ms)
  errdir=$(mktemp -d)
  while read -r f; do
    name=$(crd_name "$f"); names+=("$name")
    ( crd_without_conversion "$f" | api PATCH \
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=shipwright-cache-cluster&force=true" \
        -H 'Content-Type: application/apply-patch+yaml' --data-binary @- >/dev/null 2>"${errdir}/${name}" ) &
    pids+=($!)
  done < <(crd_files)
  for i in "${!pids[@]}"; do
    if ! wait "${pids[i]}"; then
      rc=1; log "applying CRD ${names[i]} failed: $(head -c 600 "${errdir}/${names[i]}")"
    fi
  done
  rm -rf "${errdir}"
  (( rc == 0 )) || die "CRD installation failed"
  wait_for "CRDs Established" 60 - crds_established "${names[@]}"
  log "CRDs applied and Established (${#names[@]}: Shipwright v${SHIPWRIGHT_VERSION}, Tekton v${TEKTON_VERSION}, conversion None) in $(( $(now_ms) - t0 )) ms"
}

# crds_established NAME...: true when every named CRD is Established.
crds_established() {
  local est
  est=$(api GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions |
    jq -r '.items[] | select(any(.status.conditions[]?; .type == "Established" and .status == "True")) | .metadata.name') || return 1
  local n; for n in "$@"; do grep -qx "$n" <<<"$est" || return 1; done
}

all_crds_established() {
  local names=() f
  while read -r f; do names+=("$(crd_name "$f")"); done < <(crd_files)
  crds_established "${names[@]}"
}
