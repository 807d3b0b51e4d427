#!/usr/bin/env bash
# Tests of the cluster tooling itself: bring-up, idempotent re-up, repair, teardown.
#
# Usage: e2e/cluster/test-cluster.sh [control-plane|full|all]     (default control-plane)
#   control-plane  cheap (~1 min once binaries are cached): runs in CI
#   full           single-node cluster: pod, PVC, buildah cache, complete teardown (~2-3 min
#                  once binaries and images are cached; needs root, builds images on first use)
# Each cluster lives in its own temporary SWC_CLUSTER_DIR and is purged at the end.
# Closing line: "N passed, N failed".
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034 # read by log() in lib.sh
SWC_SCRIPT=test-cluster
# shellcheck source=e2e/cluster/lib.sh
source "${REPO_ROOT}/e2e/cluster/lib.sh"
CLUSTER="${REPO_ROOT}/e2e/cluster"
KUBECTL="${K8S_BIN_DIR}/kubectl"

PASSED=0
FAILED=0
DIRS_TO_PURGE=()
OUT=""

pass() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$1"; [[ -n "${2:-}" ]] && printf '%s\n' "$2" | tail -n 15 | sed 's/^/     | /'; return 0; }

# check DESC CMD...: pass when CMD exits 0; its output is kept in $OUT for later checks.
check() {
  local desc="$1"; shift
  if OUT=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$OUT"; fi
}

# use_cluster DIR: point the lib.sh helpers (api, is_running, ...) at DIR.
use_cluster() {
  cluster_paths "$1"
  # shellcheck disable=SC1090
  source "${CLUSTER_ENV}"
  APISERVER_URL="https://${APISERVER_HOST}:${APISERVER_PORT}"
}

new_dir() {
  local d; d=$(mktemp -d "/tmp/swc-test-$1.XXXXXX")
  DIRS_TO_PURGE+=("$d")
  echo "$d"
}

cleanup() {
  local d
  for d in "${DIRS_TO_PURGE[@]}"; do
    [[ -d "$d" ]] && SWC_CLUSTER_DIR="$d" "${CLUSTER}/down.sh" --purge >/dev/null 2>&1 || true
  done
}

# procs_of DIR: PIDs whose command line mentions DIR (what a leak would look like).
procs_of() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "$1/" && echo "${p#/proc/}"
  done
  return 0
}

kc() { "${KUBECTL}" --kubeconfig "${KUBECONFIG_FILE}" "$@"; }

# ---------------------------------------------------------------- control-plane mode
test_control_plane() {
  echo "== control-plane mode"
  local d d2 t0 ms pids_before pids_after
  d=$(new_dir cp)
  t0=$(now_ms)
  check "up.sh --mode control-plane --crds starts a fresh cluster" \
    env SWC_CLUSTER_DIR="$d" "${CLUSTER}/up.sh" --mode control-plane --crds
  ms=$(( $(now_ms) - t0 ))
  echo "     (fresh start with CRDs: ${ms} ms)"
  use_cluster "$d"

  check "status.sh reports healthy (exit 0)" env SWC_CLUSTER_DIR="$d" "${CLUSTER}/status.sh"
  check "status.sh lists etcd, kube-apiserver, kube-controller-manager as running" \
    bash -c '[[ $(grep -cE "^  (etcd|kube-apiserver|kube-controller-manager) .* running .* ok$" <<<"$1") == 3 ]]' _ "$OUT"
  check "kubeconfig: server https://127.0.0.1:PORT, CA and client cert embedded" \
    bash -c 'grep -q "server: https://127.0.0.1:$2$" "$1" && grep -q certificate-authority-data "$1" && grep -q client-key-data "$1"' _ "${KUBECONFIG_FILE}" "${APISERVER_PORT}"
  check "daemons listen on 127.0.0.1 only" \
    bash -c '! ss -Htlnp | grep -E "$(printf "pid=(%s)," "$(cat "$1"/*.pid | paste -sd"|")")" | awk "{print \$4}" | grep -v "^127\.0\.0\.1:"' _ "${RUN_DIR}"
  check "kubectl (built v${K8S_VERSION}) talks to the cluster" bash -c '"$1" --kubeconfig "$2" version -o json | jq -e ".serverVersion.gitVersion == \"v$3\""' _ "${KUBECTL}" "${KUBECONFIG_FILE}" "${K8S_VERSION}"
  check "admin is system:masters" bash -c 'api POST /apis/authentication.k8s.io/v1/selfsubjectreviews -H "Content-Type: application/json" -d "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SelfSubjectReview\"}" | jq -e ".status.userInfo.groups | index(\"system:masters\")"'
  check "12 CRDs Established" bash -c 'all_crds_established && [[ $(api GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions | jq ".items|length") == 12 ]]'
  check "Shipwright CRDs: conversion None, storage v1beta1" bash -c 'api GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions | jq -e "[.items[] | select(.spec.group == \"shipwright.io\") | select(.spec.conversion.strategy == \"None\" and ([.spec.versions[] | select(.storage) | .name] == [\"v1beta1\"]))] | length == 4"'
  check "Tekton CRDs: no conversion webhook" bash -c 'api GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions | jq -e "[.items[] | select(.spec.group | endswith(\"tekton.dev\")) | select(.spec.conversion.webhook != null)] | length == 0"'
  check "a Shipwright v1beta1 Build can be created and read" bash -c '
    api POST /apis/shipwright.io/v1beta1/namespaces/default/builds -H "Content-Type: application/json" -d "{\"apiVersion\":\"shipwright.io/v1beta1\",\"kind\":\"Build\",\"metadata\":{\"name\":\"t\"},\"spec\":{\"source\":{\"type\":\"Git\",\"git\":{\"url\":\"https://example.invalid/x\"}},\"strategy\":{\"kind\":\"ClusterBuildStrategy\",\"name\":\"buildah\"},\"output\":{\"image\":\"10.88.0.1:5000/t:1\"}}}" >/dev/null &&
    api GET /apis/shipwright.io/v1beta1/namespaces/default/builds/t | jq -e ".spec.output.image == \"10.88.0.1:5000/t:1\""'

  # RBAC with a ServiceAccount token (TokenRequest) and with an x509 user.
  local tok
  api POST /api/v1/namespaces -H 'Content-Type: application/json' -d '{"metadata":{"name":"rbac"}}' >/dev/null || true
  check "the serviceaccount controller makes rbac/default" wait_for "default SA" 30 - api GET /api/v1/namespaces/rbac/serviceaccounts/default
  api POST /api/v1/namespaces/rbac/serviceaccounts -H 'Content-Type: application/json' -d '{"metadata":{"name":"tester"}}' >/dev/null || true
  tok=$(api POST /api/v1/namespaces/rbac/serviceaccounts/tester/token -H 'Content-Type: application/json' -d '{"spec":{"expirationSeconds":600}}' | jq -r .status.token || true)
  check "TokenRequest issues a ServiceAccount token" test -n "$tok"
  check "an unbound ServiceAccount is forbidden (403)" bash -c '[[ $(curl -s -o /dev/null -w "%{http_code}" --cacert "$1/ca.crt" -H "Authorization: Bearer $2" "$3/apis/shipwright.io/v1beta1/namespaces/rbac/builds") == 403 ]]' _ "${PKI_DIR}" "$tok" "${APISERVER_URL}"
  api POST /apis/rbac.authorization.k8s.io/v1/namespaces/rbac/rolebindings -H 'Content-Type: application/json' \
    -d '{"metadata":{"name":"tester-edit"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit"},"subjects":[{"kind":"ServiceAccount","name":"tester","namespace":"rbac"}]}' >/dev/null || true
  check "bound to the aggregated 'edit' role it may list configmaps (200)" wait_for "edit aggregation" 30 - \
    bash -c '[[ $(curl -s -o /dev/null -w "%{http_code}" --cacert "$1/ca.crt" -H "Authorization: Bearer $2" "$3/api/v1/namespaces/rbac/configmaps") == 200 ]]' _ "${PKI_DIR}" "$tok" "${APISERVER_URL}"
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/jane.key" 2>/dev/null
  openssl req -new -key "$d/jane.key" -subj "/O=swc-testers/CN=jane" 2>/dev/null |
    openssl x509 -req -CA "${PKI_DIR}/ca.crt" -CAkey "${PKI_DIR}/ca.key" -CAcreateserial -days 1 -out "$d/jane.crt" 2>/dev/null
  check "an x509 user signed by the cluster CA is authenticated but forbidden (403)" bash -c '[[ $(curl -s -o /dev/null -w "%{http_code}" --cacert "$1/ca.crt" --cert "$2/jane.crt" --key "$2/jane.key" "$3/api/v1/namespaces/rbac/pods") == 403 ]]' _ "${PKI_DIR}" "$d" "${APISERVER_URL}"

  # Idempotent re-up.
  pids_before=$(cat "${RUN_DIR}"/*.pid | sort | paste -sd,)
  t0=$(now_ms)
  check "second up.sh exits 0 and says nothing to do" \
    bash -c 'SWC_CLUSTER_DIR="$1" "$2/up.sh" --mode control-plane --crds 2>&1 | tee /dev/stderr | grep -q "nothing to do"' _ "$d" "${CLUSTER}"
  ms=$(( $(now_ms) - t0 ))
  pids_after=$(cat "${RUN_DIR}"/*.pid | sort | paste -sd,)
  # Its time is printed, not asserted: a timed check fails on a loaded machine for no fault.
  check "second up.sh restarted nothing (same PIDs; took ${ms} ms)" bash -c '[[ "$1" == "$2" ]]' _ "$pids_before" "$pids_after"

  # Repair a half-dead cluster.
  local etcd_pid; etcd_pid=$(pid_of etcd)
  kill -KILL "$(pid_of kube-apiserver)"; sleep 0.5
  check "status.sh exits non-zero with kube-apiserver dead" bash -c '! SWC_CLUSTER_DIR="$1" "$2/status.sh"' _ "$d" "${CLUSTER}"
  check "up.sh repairs it (restarts kube-apiserver)" env SWC_CLUSTER_DIR="$d" "${CLUSTER}/up.sh" --mode control-plane --crds
  check "after repair: healthy, etcd untouched, data kept" bash -c '
    SWC_CLUSTER_DIR="$1" "$2/status.sh" >/dev/null && [[ $(cat "$3/etcd.pid") == "$4" ]] &&
    api GET /apis/shipwright.io/v1beta1/namespaces/default/builds/t >/dev/null' _ "$d" "${CLUSTER}" "${RUN_DIR}" "$etcd_pid"

  # A second control plane beside the first (as a test cluster beside a dev cluster).
  d2=$(new_dir cp2)
  check "a second cluster starts beside the first" env SWC_CLUSTER_DIR="$d2" "${CLUSTER}/up.sh" --mode control-plane
  check "the two clusters use different ports" bash -c '! cmp -s <(grep PORT "$1/cluster.env") <(grep PORT "$2/cluster.env")' _ "$d" "$d2"
  check "a port clash fails cleanly: up.sh exits non-zero and leaves no process" bash -c '
    d3=$(mktemp -d /tmp/swc-test-clash.XXXXXX)
    if SWC_CLUSTER_DIR="$d3" SWC_APISERVER_PORT="$2" "$1/up.sh" --mode control-plane >/dev/null 2>&1; then rm -rf "$d3"; exit 1; fi
    sleep 0.3; left=$(for p in /proc/[0-9]*; do tr "\0" " " 2>/dev/null <"$p/cmdline" | grep -q -- "$d3/" && echo "${p#/proc/}"; done)
    rm -rf "$d3"; [[ -z "$left" ]]' _ "${CLUSTER}" "${APISERVER_PORT}"
  check "a bring-up that fails half-way (kube-apiserver rejects port 70000) exits non-zero and stops the etcd it started" bash -c '
    d3=$(mktemp -d /tmp/swc-test-fail.XXXXXX)
    if SWC_CLUSTER_DIR="$d3" SWC_APISERVER_PORT=70000 "$1/up.sh" --mode control-plane >"$d3.out" 2>&1; then rm -rf "$d3" "$d3.out"; exit 1; fi
    grep -q "started etcd" "$d3.out" || { cat "$d3.out"; rm -rf "$d3" "$d3.out"; exit 1; }
    sleep 0.3; left=$(for p in /proc/[0-9]*; do tr "\0" " " 2>/dev/null <"$p/cmdline" | grep -q -- "$d3/" && echo "${p#/proc/}"; done)
    rm -rf "$d3" "$d3.out"; [[ -z "$left" ]]' _ "${CLUSTER}"
  check "down.sh --purge of the second cluster" env SWC_CLUSTER_DIR="$d2" "${CLUSTER}/down.sh" --purge
  check "the first cluster is unaffected" env SWC_CLUSTER_DIR="$d" "${CLUSTER}/status.sh"

  # Stop, start again (state kept), then purge.
  check "down.sh (no purge) stops everything" env SWC_CLUSTER_DIR="$d" "${CLUSTER}/down.sh"
  check "no process of the cluster is left" bash -c '[[ -z "$(procs_of "$1")" ]]' _ "$d"
  check "its ports are closed" bash -c '! port_in_use "$1" && ! port_in_use "$2" && ! port_in_use "$3"' _ "${APISERVER_PORT}" "${ETCD_CLIENT_PORT}" "${KCM_PORT}"
  t0=$(now_ms)
  check "up.sh again with the state kept" env SWC_CLUSTER_DIR="$d" "${CLUSTER}/up.sh" --mode control-plane --crds
  echo "     (warm restart with state kept: $(( $(now_ms) - t0 )) ms)"
  check "objects survived the restart" api GET /apis/shipwright.io/v1beta1/namespaces/default/builds/t
  check "down.sh --purge removes processes and the state dir" bash -c '
    SWC_CLUSTER_DIR="$1" "$2/down.sh" --purge && [[ ! -e "$1" && -z "$(procs_of "$1")" ]]' _ "$d" "${CLUSTER}"
}

# ---------------------------------------------------------------- full mode
test_full() {
  echo "== full mode"
  local d t0 ms shell_ref buildah_ref base_ref ns=swc-test cold warm owner
  # Full mode is one per machine: never disturb somebody's running full cluster.
  owner=$(cat /run/shipwright-cache-full.owner 2>/dev/null || true)
  if [[ -n "$owner" ]] && compgen -G "$owner/run/*.pid" >/dev/null; then
    fail "full mode not tested: the full cluster of ${owner} is running on this machine (stop it first)"
    return 0
  fi
  d=$(new_dir full)
  t0=$(now_ms)
  check "up.sh --mode full starts a single-node cluster" env SWC_CLUSTER_DIR="$d" "${CLUSTER}/up.sh" --mode full
  echo "     (start: $(( $(now_ms) - t0 )) ms)"
  if (( FAILED > 0 )) && [[ ! -s "$d/cluster.env" ]]; then return; fi
  use_cluster "$d"
  # shellcheck source=e2e/cluster/lib-full.sh
  source "${CLUSTER}/lib-full.sh"
  full_paths
  check "status.sh reports every component healthy" env SWC_CLUSTER_DIR="$d" "${CLUSTER}/status.sh"
  check "second up.sh says nothing to do" \
    bash -c 'SWC_CLUSTER_DIR="$1" "$2/up.sh" --mode full 2>&1 | grep -q "nothing to do"' _ "$d" "${CLUSTER}"
  check "daemons listen only on 127.0.0.1 or ${BRIDGE_IP}" \
    bash -c '! ss -Htlnp | grep -E "$(printf "pid=(%s)," "$(cat "$1"/*.pid | paste -sd"|")")" | awk "{print \$4}" | grep -vE "^(127\.0\.0\.1|10\.88\.0\.1):"' _ "${RUN_DIR}"
  check "guard rules: pod traffic may not leave the bridge" bash -c '
    iptables -t mangle -C FORWARD -j SWC-GUARD-FWD && iptables -t mangle -S SWC-GUARD-FWD | grep -q -- "-i $1 ! -o $1 .*-j DROP" &&
    [[ $(iptables -t mangle -S FORWARD | sed -n 2p) == "-A FORWARD -j SWC-GUARD-FWD" ]] && ! iptables-save -t nat | grep -q MASQUERADE.*10.88' _ "${BRIDGE}"

  shell_ref=$(SWC_CLUSTER_DIR="$d" "${CLUSTER}/load-images.sh" shell 2>"$d/load-images.err" | awk '$1 == "shell" { print $2 }')
  check "the shell image is loaded (${shell_ref:-none})" bash -c '[[ -n "$1" ]] || { cat "$2"; exit 1; }' _ "$shell_ref" "$d/load-images.err"
  kc create namespace "$ns" >/dev/null 2>&1 || true
  check "ServiceAccount ${ns}/default appears" wait_for "default SA" 30 - kc -n "$ns" get serviceaccount default

  # A pod runs to completion and can reach the registry and the kubernetes Service.
  kc -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: hello}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: ${shell_ref}
    command: ["/bin/sh", "-c"]
    args:
    - |
      set -e
      echo hello from the pod
      printf 'GET /v2/ HTTP/1.0\r\n\r\n' | nc -w 3 ${BRIDGE_IP} 5000 | head -1
      printf '' | nc -w 3 10.96.0.1 443 && echo kubernetes-service-reachable
EOF
  check "a pod runs to completion" kc -n "$ns" wait --for=jsonpath='{.status.phase}'=Succeeded pod/hello --timeout=120s
  check "its logs are served through the apiserver (kubelet on the bridge IP)" bash -c '"$@" | grep -q "hello from the pod"' _ "${KUBECTL}" --kubeconfig "${KUBECONFIG_FILE}" -n "$ns" logs hello
  check "the pod reached the registry on the bridge" bash -c '"$@" | grep -q "HTTP/1.[01] 200"' _ "${KUBECTL}" --kubeconfig "${KUBECONFIG_FILE}" -n "$ns" logs hello
  check "the pod reached the kubernetes Service (kube-proxy)" bash -c '"$@" | grep -q kubernetes-service-reachable' _ "${KUBECTL}" --kubeconfig "${KUBECONFIG_FILE}" -n "$ns" logs hello

  # PVC of the default class binds and keeps data across pods.
  local p
  kc -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
EOF
  for p in writer reader; do
    kc -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: ${p}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: ${shell_ref}
    command: ["/bin/sh", "-c", "$([[ $p == writer ]] && echo 'echo kept-across-pods > /data/f' || echo 'cat /data/f')"]
    volumeMounts: [{name: d, mountPath: /data}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
EOF
    check "PVC pod '${p}' completes" kc -n "$ns" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/${p}" --timeout=120s
  done
  check "the PVC is Bound to a volume of the default class 'standard'" bash -c '"$@" | grep -q "^Bound standard$"' _ \
    "${KUBECTL}" --kubeconfig "${KUBECONFIG_FILE}" -n "$ns" get pvc data -o 'jsonpath={.status.phase} {.spec.storageClassName}{"\n"}'
  check "data written by the first pod is read by the second" bash -c '"$@" | grep -qx kept-across-pods' _ "${KUBECTL}" --kubeconfig "${KUBECONFIG_FILE}" -n "$ns" logs reader

  # buildah twice with its storage on a PVC: the second build uses the layer cache.
  local lines
  lines=$(SWC_CLUSTER_DIR="$d" "${CLUSTER}/load-images.sh" buildah debian-base 2>"$d/load-images.err" || true)
  buildah_ref=$(awk '$1 == "buildah" { print $2 }' <<<"$lines"); base_ref=$(awk '$1 == "debian-base" { print $2 }' <<<"$lines")
  check "the buildah and debian-base images are loaded" bash -c '[[ -n "$1" && -n "$2" ]] || { cat "$3"; exit 1; }' _ "$buildah_ref" "$base_ref" "$d/load-images.err"
  sed -e "s|@NS@|${ns}|g" "${CLUSTER}/testdata/buildah-ctx.yaml" | kc apply -f - >/dev/null
  for p in build-cold build-warm; do
    sed -e "s|@NS@|${ns}|g" -e "s|@POD@|${p}|g" -e "s|@BUILDAH_IMAGE@|${buildah_ref}|g" -e "s|@BASE_IMAGE@|${base_ref}|g" \
      "${CLUSTER}/testdata/buildah-cache.yaml" | kc apply -f - >/dev/null
    t0=$(now_ms)
    check "buildah pod '${p}' completes" kc -n "$ns" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/${p}" --timeout=600s
    echo "     (${p}: pod done $(( $(now_ms) - t0 )) ms after creation; $(kc -n "$ns" logs "${p}" 2>/dev/null | grep '^RESULT' || echo 'no RESULT line'))"
  done
  cold=$(kc -n "$ns" logs build-cold 2>/dev/null | sed -n 's/^RESULT .*build_ms=\([0-9]*\).*/\1/p')
  warm=$(kc -n "$ns" logs build-warm 2>/dev/null | sed -n 's/^RESULT .*build_ms=\([0-9]*\).*/\1/p')
  check "the warm build (${warm:-?} ms) is at least 3x faster than the cold one (${cold:-?} ms)" \
    bash -c '[[ -n "$1" && -n "$2" ]] && (( $2 * 3 < $1 ))' _ "${cold}" "${warm}"
  check "the warm build used the layer cache" bash -c '"$@" | grep -q "Using cache"' _ "${KUBECTL}" --kubeconfig "${KUBECONFIG_FILE}" -n "$ns" logs build-warm

  # Complete teardown.
  local before_fwd; before_fwd=$(cat "${CLUSTER_DIR}/sysctl.orig" 2>/dev/null || echo 0)
  check "down.sh stops the full cluster" env SWC_CLUSTER_DIR="$d" "${CLUSTER}/down.sh"
  check "no process of the cluster is left (daemons, shims, pods)" bash -c '[[ -z "$(procs_of "$1")$(procs_of "$2")" ]]' _ "$d" "${CONTAINERD_STATE}"
  check "no mount left under the cluster dir, containerd state or netns" \
    bash -c '! grep -E " ($1|$2|/run/netns)/" /proc/self/mountinfo' _ "$d" "${CONTAINERD_STATE}"
  check "bridge ${BRIDGE} removed" bash -c '! ip link show "$1" 2>/dev/null' _ "${BRIDGE}"
  check "no KUBE-/CNI-/SWC- iptables chains or rules left" bash -c '! iptables-save | grep -E "KUBE-|CNI-|SWC-"'
  check "no kubepods / k8s.io cgroups left" bash -c '! ls -d /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/k8s.io 2>/dev/null'
  check "no CNI network namespaces left" bash -c '! ls /run/netns/cni-* 2>/dev/null'
  check "net.ipv4.ip_forward restored (${before_fwd})" bash -c '[[ $(sysctl -n net.ipv4.ip_forward) == "$1" ]]' _ "${before_fwd}"
  t0=$(now_ms)
  check "up.sh again after down (state kept)" env SWC_CLUSTER_DIR="$d" "${CLUSTER}/up.sh" --mode full
  echo "     (warm restart: $(( $(now_ms) - t0 )) ms)"
  check "down.sh --purge removes everything and the state dir" bash -c '
    SWC_CLUSTER_DIR="$1" "$2/down.sh" --purge && [[ ! -e "$1" ]] && ! ip link show swc0 2>/dev/null && ! iptables-save | grep -qE "KUBE-|SWC-"' _ "$d" "${CLUSTER}"
}

main() {
  local what="${1:-control-plane}"
  case "$what" in control-plane|full|all) ;; *) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;; esac
  trap cleanup EXIT
  # The checks run helpers of lib.sh in `bash -c`: export them and the variables they read.
  export -f api apiserver_ready all_crds_established crds_established crd_files crd_name wait_for now_ms \
    is_running pid_of tail_log log die port_in_use procs_of
  export PKI_DIR RUN_DIR LOG_DIR CLUSTER_DIR KUBECONFIG_FILE APISERVER_URL REPO_ROOT SHIPWRIGHT_VERSION TEKTON_VERSION SWC_SCRIPT
  if ! "${CLUSTER}/build-binaries.sh" control-plane; then fail "build-binaries.sh control-plane"; fi
  if [[ "$what" == full || "$what" == all ]] && ! "${CLUSTER}/build-binaries.sh" all; then fail "build-binaries.sh all"; fi
  # `|| true`: a command failing outside check() must not end the run before the summary.
  if [[ "$what" == control-plane || "$what" == all ]]; then test_control_plane || true; fi
  if [[ "$what" == full || "$what" == all ]]; then test_full || true; fi
  echo "${PASSED} passed, ${FAILED} failed"
  (( FAILED == 0 ))
}

main "$@"
