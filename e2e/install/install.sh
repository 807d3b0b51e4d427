#!/usr/bin/env bash
# Installs Tekton Pipelines and Shipwright Build onto a running cluster and waits until both
# are ready: deployments rolled out, the webhooks' Service endpoints ready and answering
# (a server-side dry-run through Tekton's admission webhooks, a v1alpha1 -> v1beta1
# conversion through Shipwright's), the Shipwright controller ready. Then applies the build
# strategies: offline, the copies in e2e/install/strategies/ (upstream samples changed only where
# this cluster needs it, with local images); release, Shipwright's own sample-strategies.yaml.
# Idempotent: a re-run applies the same objects and changes nothing.
#
# Usage: e2e/install/install.sh [--source offline|release] [--dry-run] [--kubeconfig FILE]
#                               [--no-strategies] [--timeout SECONDS]
#   --source offline  (default) everything from this machine: binaries built from the Go module
#                     proxy (build-controllers.sh, cached), images built by images/build.sh
#                     (cached), pushed to the cluster registry and imported into its containerd;
#                     the upstream configuration from the module zips
#                     ($(go env GOMODCACHE)/github.com/tektoncd/pipeline@vX/config/ and
#                     .../github.com/shipwright-io/build@vY/deploy/), with every ko:// image and
#                     Tekton's -shell-image pointed at the local images by digest
#   --source release  the upstream release YAML (needs internet; not tested offline):
#                     https://github.com/tektoncd/pipeline/releases/download/vX/release.yaml
#                     https://github.com/shipwright-io/build/releases/download/vY/release.yaml
#   --dry-run         print what would be applied (offline: the rendered YAML; release: the URLs)
#                     and change nothing; needs no cluster
#   --no-strategies   apply no build strategies
#   --strategies A,B  offline: apply only these of e2e/install/strategies/ (file names without
#                     .yaml; default all), and build and load only their images
#   --timeout S       per wait (default 300)
# Shipwright's conversion webhook runs as upstream has it (CRD conversion strategy Webhook): its
# serving certificate is made with openssl here (a private CA, as hack/setup-webhook-cert.sh
# does with a CSR) and the CA goes into the four CRDs' caBundle.
# Environment:
#   SWC_CLUSTER_DIR    (offline) cluster of e2e/cluster/up.sh (default /var/lib/shipwright-cache/node):
#                      kubeconfig, registry address and containerd socket come from there
#   KUBECONFIG         offline: used when --kubeconfig is not given and SWC_CLUSTER_DIR has none;
#                      release: used when --kubeconfig is not given (else kubectl's default)
#   TEKTON_VERSION, SHIPWRIGHT_VERSION, SWC_CACHE_DIR   see e2e/install/versions.sh
set -euo pipefail

INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${INSTALL_DIR}/../.." && pwd)"
# shellcheck source=e2e/install/versions.sh
source "${INSTALL_DIR}/versions.sh"

SOURCE=offline
DRY_RUN=0
WITH_STRATEGIES=1
ONLY_STRATEGIES=""
TIMEOUT=300
KUBECONFIG_FILE=""
CLUSTER_DIR="${SWC_CLUSTER_DIR:-/var/lib/shipwright-cache/node}"
REGISTRY_ADDR=10.88.0.1:5000
CONTAINERD_SOCK=/run/swc-containerd/containerd.sock
FIELD_MANAGER=shipwright-cache-install
TEKTON_NS=tekton-pipelines
SHIPWRIGHT_NS=shipwright-build
SHP_WEBHOOK_SECRET=shipwright-build-webhook-cert
SHP_WEBHOOK_SVC=shp-build-webhook
SHP_CRDS=(buildruns.shipwright.io builds.shipwright.io buildstrategies.shipwright.io clusterbuildstrategies.shipwright.io)
# Strategies: offline, e2e/install/strategies/*.yaml, which name local images as
# 10.88.0.1:5000/offline/<name>:<tag> (in `image:`, or in an env `value:` such as ko's
# KO_DEFAULTBASEIMAGE); they are built and loaded from images/ and written by digest. Release:
# Shipwright's sample strategies as published, which the offline copies were made from.
UPSTREAM_SAMPLE_STRATEGIES="https://github.com/shipwright-io/build/releases/download/v${SHIPWRIGHT_VERSION}/sample-strategies.yaml"

WORK=""
KUBECTL=()
# Filled by the source functions: what to apply (file paths or URLs).
TEKTON_MANIFESTS=()
SHIPWRIGHT_MANIFESTS=()
declare -A IMAGE=()   # image name -> reference by digest (offline)

T_START=$(date +%s%N)
log() { printf '[install %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
elapsed() { echo "$(( ($(date +%s%N) - $1) / 1000000 ))"; }   # ms since $1 (date +%s%N)
fmt_ms() { printf '%d.%01d s' $(($1 / 1000)) $((($1 % 1000) / 100)); }

cleanup() {
  local rc=$?
  if [[ ${rc} -ne 0 && ${DRY_RUN} -eq 0 && ${#KUBECTL[@]} -gt 0 ]]; then
    log "FAILED (exit ${rc}); state of the namespaces:"
    "${KUBECTL[@]}" get deploy,pods,endpointslices -n "${TEKTON_NS}" -o wide >&2 2>/dev/null || true
    "${KUBECTL[@]}" get deploy,pods -n "${SHIPWRIGHT_NS}" -o wide >&2 2>/dev/null || true
    "${KUBECTL[@]}" get events -A --sort-by=.lastTimestamp 2>/dev/null | tail -n 15 >&2 || true
  fi
  if [[ -n "${WORK}" ]]; then rm -rf "${WORK}"; fi
  exit "${rc}"
}

# ------------------------------------------------------------------------------------------
# Cluster access

setup_cluster_access() {
  if [[ "${SOURCE}" == release ]]; then
    # Any cluster (kind, ...): --kubeconfig, else KUBECONFIG, else kubectl's default; never the
    # offline cluster's directory, and no change to the host's network.
    local kubectl="${K8S_BIN_DIR}/kubectl"
    if [[ ! -x "${kubectl}" ]]; then kubectl="$(command -v kubectl || true)"; fi
    [[ -n "${kubectl}" ]] || die "no kubectl (${K8S_BIN_DIR}/kubectl or on PATH)"
    KUBECONFIG_FILE="${KUBECONFIG_FILE:-${KUBECONFIG:-}}"
    KUBECTL=("${kubectl}")
    if [[ -n "${KUBECONFIG_FILE}" ]]; then KUBECTL+=(--kubeconfig "${KUBECONFIG_FILE}"); fi
    KUBECONFIG_FILE="${KUBECONFIG_FILE:-the default kubeconfig}"
    "${KUBECTL[@]}" version >/dev/null 2>&1 || die "the cluster (${KUBECONFIG_FILE}) does not answer"
    return
  fi
  if [[ -s "${CLUSTER_DIR}/cluster.env" ]]; then
    local reg sock
    reg="$(sed -n 's/^REGISTRY_ADDR=//p' "${CLUSTER_DIR}/cluster.env")"
    sock="$(sed -n 's/^CONTAINERD_STATE=//p' "${CLUSTER_DIR}/cluster.env")"
    if [[ -n "${reg}" ]]; then REGISTRY_ADDR="${reg}"; fi
    if [[ -n "${sock}" ]]; then CONTAINERD_SOCK="${sock}/containerd.sock"; fi
  fi
  if [[ -z "${KUBECONFIG_FILE}" ]]; then
    if [[ -s "${CLUSTER_DIR}/kubeconfig" ]]; then KUBECONFIG_FILE="${CLUSTER_DIR}/kubeconfig"
    elif [[ -n "${KUBECONFIG:-}" ]]; then KUBECONFIG_FILE="${KUBECONFIG}"
    else die "no kubeconfig: give --kubeconfig, set KUBECONFIG, or bring the cluster up (e2e/cluster/up.sh --mode full)"; fi
  fi
  local kubectl="${K8S_BIN_DIR}/kubectl"
  if [[ ! -x "${kubectl}" ]]; then kubectl="$(command -v kubectl || true)"; fi
  [[ -n "${kubectl}" ]] || die "no kubectl (${K8S_BIN_DIR}/kubectl or on PATH)"
  KUBECTL=("${kubectl}" --kubeconfig "${KUBECONFIG_FILE}")
  "${KUBECTL[@]}" version >/dev/null 2>&1 || die "the cluster in ${KUBECONFIG_FILE} does not answer"
  service_route
}

# service_route: host processes must reach Service ClusterIPs through the bridge. The
# apiserver calls the webhooks (admission and CRD conversion) at their ClusterIP; without a
# route for the Service CIDR the host sends that via eth0 with eth0's source address, kube-proxy
# DNATs it to the pod and masquerades it to the bridge IP, and the pod's SYN-ACK, de-NATed back to
# eth0's address on the way in, is dropped by the cluster's SWC-GUARD-IN chain ("pods reach only
# the bridge IP"): webhook calls time out ("context deadline exceeded"). A route for the Service
# CIDR via the bridge with the bridge IP as source makes that traffic stay on the bridge (and
# keeps host traffic to unused ClusterIPs off eth0). Belongs in e2e/cluster (full mode network
# setup); done here, idempotently, until it is there. The route goes away with the bridge.
service_route() {
  local env="${CLUSTER_DIR}/cluster.env" bridge bridge_ip cidr
  [[ -s "${env}" ]] || return 0
  bridge="$(sed -n 's/^BRIDGE=//p' "${env}")"
  bridge_ip="$(sed -n 's/^BRIDGE_IP=//p' "${env}")"
  cidr="$(sed -n 's/^SERVICE_CIDR=//p' "${env}")"
  [[ -n "${bridge}" && -n "${bridge_ip}" && -n "${cidr}" ]] || return 0
  ip link show "${bridge}" >/dev/null 2>&1 || return 0
  if [[ -z "$(ip -4 route show exact "${cidr}" dev "${bridge}" 2>/dev/null)" ]]; then
    ip route replace "${cidr}" dev "${bridge}" src "${bridge_ip}" \
      || die "could not add the route ${cidr} dev ${bridge} src ${bridge_ip} (needs root)"
    log "cluster network: route ${cidr} dev ${bridge} src ${bridge_ip} added (apiserver -> webhook ClusterIPs)"
  fi
}

# apply SOURCE...: server-side apply (no last-applied annotation, so the big CRDs fit; a
# re-apply of the same objects changes nothing). --force-conflicts: objects first written by
# another manager (e.g. the CRDs of `up.sh --crds`) are taken over.
apply() {
  local f args=()
  for f in "$@"; do args+=(-f "${f}"); done
  "${KUBECTL[@]}" apply --server-side --force-conflicts --field-manager="${FIELD_MANAGER}" "${args[@]}" \
    | { grep -v ' serverside-applied$' || true; } >&2
}

# ------------------------------------------------------------------------------------------
# Image sources. Each sets TEKTON_MANIFESTS and SHIPWRIGHT_MANIFESTS (and IMAGE[] offline).

module_dir() {  # module_dir MODULE VERSION: its directory in the module cache (downloaded if missing)
  local dir
  dir="$(go env GOMODCACHE)/$1@$2"
  if [[ ! -d "${dir}" ]]; then
    GOFLAGS=-mod=mod go mod download "$1@$2" >&2 || die "the Go module proxy did not serve $1@$2"
  fi
  echo "${dir}"
}

TEKTON_IMAGES=(controller webhook entrypoint nop workingdirinit sidecarlogresults resolvers events)
SHIPWRIGHT_IMAGES=(shipwright-build-controller shipwright-build-webhook git image-processing waiter bundle)

# offline_images: builds (cached) and loads every image; fills IMAGE[name]=repo@digest.
# In --dry-run nothing is built or loaded: the reference is by digest when the archive is
# already cached, by tag otherwise.
offline_images() {
  local names=(shell) n line name ref digest archive t0
  for n in $(strategy_images); do names+=("${n}"); done
  for n in "${TEKTON_IMAGES[@]}"; do names+=("tekton-${n}"); done
  for n in "${SHIPWRIGHT_IMAGES[@]}"; do names+=("shipwright-${n#shipwright-}"); done
  if [[ ${DRY_RUN} -eq 1 ]]; then
    while IFS=$'\t' read -r name ref archive; do
      digest=""
      if [[ -f "${archive}" ]]; then digest="$(tar -xOf "${archive}" index.json | jq -r '.manifests[0].digest')"; fi
      if [[ -n "${digest}" ]]; then IMAGE[${name}]="${ref%:*}@${digest}"; else IMAGE[${name}]="${ref}"; fi
    done < <("${REPO_ROOT}/images/build.sh" --print "${names[@]}")
    return
  fi
  t0=$(date +%s%N)
  "${INSTALL_DIR}/build-controllers.sh" all >/dev/null
  log "binaries ready ($(fmt_ms "$(elapsed "${t0}")"))"
  t0=$(date +%s%N)
  local load_args=(--registry "${REGISTRY_ADDR}")
  if [[ -S "${CONTAINERD_SOCK}" ]]; then
    load_args+=(--containerd-namespace k8s.io --containerd-address "${CONTAINERD_SOCK}")
  else
    log "no containerd socket at ${CONTAINERD_SOCK}: images go to the registry only"
  fi
  while read -r line; do
    IFS=$'\t' read -r name ref digest _ <<<"${line}"
    IMAGE[${name}]="${ref%:*}@${digest}"
    log "  ${line}"
  done < <("${REPO_ROOT}/images/load.sh" "${load_args[@]}" "${names[@]}")
  for n in "${names[@]}"; do [[ -n "${IMAGE[${n}]:-}" ]] || die "images/load.sh gave no digest for ${n}"; done
  log "images built and loaded ($(fmt_ms "$(elapsed "${t0}")"))"
}

# render_tekton OUT: config/ of the module as `ko resolve -R -f config/` sees it (files in path
# order), ko:// replaced by the local images, -shell-image by the local shell image, and the
# "devel" version labels set as tekton/publish.yaml does for a release.
render_tekton() {
  local out="$1" dir f c sed_args=() v="v${TEKTON_VERSION}"
  dir="$(module_dir github.com/tektoncd/pipeline "v${TEKTON_VERSION}")/config"
  for c in "${TEKTON_IMAGES[@]}"; do
    sed_args+=(-e "s#ko://github.com/tektoncd/pipeline/cmd/${c}([\"' ,]|\$)#${IMAGE[tekton-${c}]}\1#g")
  done
  sed_args+=(-e "s#cgr.dev/chainguard/busybox@sha256:[0-9a-f]{64}#${IMAGE[shell]}#g")
  sed_args+=(-e "s#(pipeline.tekton.dev/release|app.kubernetes.io/version|version): \"devel\"#\1: \"${v}\"#g")
  : >"${out}"
  while IFS= read -r f; do
    { echo "---"; echo "# Source: github.com/tektoncd/pipeline@${v}/config/${f#"${dir}/"}"; sed -E "${sed_args[@]}" "${f}"; echo; } >>"${out}"
  done < <(find "${dir}" -name '*.yaml' | LC_ALL=C sort)
  ! grep -n 'ko://' "${out}" >&2 || die "unresolved ko:// references left in ${out}"
  grep -q -- "\"-shell-image\", \"${IMAGE[shell]}\"" "${out}" || die "-shell-image was not replaced in ${out}"
}

# render_shipwright OUT: deploy/ (as hack/release.sh's `ko resolve --recursive -f deploy/`),
# with the two deployments' and the four *_CONTAINER_IMAGE ko:// references replaced.
render_shipwright() {
  local out="$1" dir f c sed_args=()
  dir="$(module_dir github.com/shipwright-io/build "v${SHIPWRIGHT_VERSION}")/deploy"
  for c in "${SHIPWRIGHT_IMAGES[@]}"; do
    sed_args+=(-e "s#ko://github.com/shipwright-io/build/cmd/${c}([\"' ,]|\$)#${IMAGE[shipwright-${c#shipwright-}]}\1#g")
  done
  : >"${out}"
  while IFS= read -r f; do
    { echo "---"; echo "# Source: github.com/shipwright-io/build@v${SHIPWRIGHT_VERSION}/deploy/${f#"${dir}/"}"; sed -E "${sed_args[@]}" "${f}"; echo; } >>"${out}"
  done < <(find "${dir}" -name '*.yaml' | LC_ALL=C sort)
  ! grep -n 'ko://' "${out}" >&2 || die "unresolved ko:// references left in ${out}"
}

source_offline() {
  command -v go >/dev/null || die "go is needed for --source offline"
  offline_images
  render_tekton "${WORK}/tekton.yaml"
  render_shipwright "${WORK}/shipwright.yaml"
  TEKTON_MANIFESTS=("${WORK}/tekton.yaml")
  SHIPWRIGHT_MANIFESTS=("${WORK}/shipwright.yaml")
}

source_release() {
  TEKTON_MANIFESTS=("https://github.com/tektoncd/pipeline/releases/download/v${TEKTON_VERSION}/release.yaml")
  SHIPWRIGHT_MANIFESTS=("https://github.com/shipwright-io/build/releases/download/v${SHIPWRIGHT_VERSION}/release.yaml")
}

# strategy_files: the offline strategy files to apply (--strategies, default all), one per line.
strategy_files() {
  local n
  if [[ -z "${ONLY_STRATEGIES}" ]]; then printf '%s\n' "${INSTALL_DIR}"/strategies/*.yaml; return; fi
  for n in ${ONLY_STRATEGIES//,/ }; do
    [[ -f "${INSTALL_DIR}/strategies/${n}.yaml" ]] || die "--strategies: no e2e/install/strategies/${n}.yaml (have: $(cd "${INSTALL_DIR}/strategies" && ls *.yaml | sed 's/\.yaml$//' | paste -sd' '))"
    echo "${INSTALL_DIR}/strategies/${n}.yaml"
  done
}

# strategy_images: the local image names the strategies refer to (buildah, ...), one per line.
strategy_images() {
  [[ ${WITH_STRATEGIES} -eq 1 ]] || return 0
  strategy_files | xargs grep -hoE '(image|value): 10\.88\.0\.1:5000/offline/[a-z0-9-]*' \
    | sed 's|.*/offline/||' | LC_ALL=C sort -u
}

# render_strategies OUT: e2e/install/strategies/*.yaml with each local image reference
# replaced by the local image by digest (IMAGE[name], filled by offline_images).
render_strategies() {
  local out="$1" f n ref sed_args=()
  for n in $(strategy_images); do
    ref="${IMAGE[${n}]:-}"
    [[ -n "${ref}" ]] || die "no local image '${n}' (named by e2e/install/strategies/*.yaml) was built and loaded"
    sed_args+=(-E -e "s#(image|value): 10\.88\.0\.1:5000/offline/${n}[:@][^ ]*#\\1: ${ref}#")
  done
  : >"${out}"
  for f in $(strategy_files); do
    { echo "---"; echo "# Source: e2e/install/strategies/${f##*/}"; sed "${sed_args[@]}" "${f}"; echo; } >>"${out}"
  done
}

# ------------------------------------------------------------------------------------------
# Shipwright conversion webhook certificate (openssl instead of upstream's CSR + kubelet-serving
# signer): a private CA, a serving cert for the Service's DNS names, secret
# shipwright-build-webhook-cert (tls.crt, tls.key, ca.crt), the CA as caBundle in the 4 CRDs.
# Kept while it is valid for 30 more days and names the Service.

shp_webhook_cert() {
  local dir="${WORK}/shp-cert" svc="${SHP_WEBHOOK_SVC}.${SHIPWRIGHT_NS}.svc"
  mkdir -p "${dir}"
  if "${KUBECTL[@]}" get secret -n "${SHIPWRIGHT_NS}" "${SHP_WEBHOOK_SECRET}" -o json >"${dir}/secret.json" 2>/dev/null \
     && jq -er '.data["tls.crt"] and .data["ca.crt"]' "${dir}/secret.json" >/dev/null \
     && jq -r '.data["tls.crt"]' "${dir}/secret.json" | base64 -d >"${dir}/tls.crt" \
     && jq -r '.data["ca.crt"]' "${dir}/secret.json" | base64 -d >"${dir}/ca.crt" \
     && openssl x509 -in "${dir}/tls.crt" -noout -checkend $((30 * 86400)) >/dev/null \
     && openssl x509 -in "${dir}/tls.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:${svc}\(,\|$\)" \
     && openssl verify -CAfile "${dir}/ca.crt" "${dir}/tls.crt" >/dev/null 2>&1; then
    log "shipwright webhook: certificate in secret ${SHP_WEBHOOK_SECRET} is valid; kept"
  else
    log "shipwright webhook: new CA and serving certificate for ${svc} (openssl)"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=shipwright-build-webhook-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "${dir}/ca.key" -out "${dir}/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=${svc}" -keyout "${dir}/tls.key" -out "${dir}/tls.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=DNS:${SHP_WEBHOOK_SVC},DNS:${SHP_WEBHOOK_SVC}.${SHIPWRIGHT_NS},DNS:${svc},DNS:${svc}.cluster.local" \
      >"${dir}/ext.cnf"
    openssl x509 -req -in "${dir}/tls.csr" -CA "${dir}/ca.crt" -CAkey "${dir}/ca.key" -CAcreateserial \
      -days 3650 -extfile "${dir}/ext.cnf" -out "${dir}/tls.crt" 2>/dev/null
    "${KUBECTL[@]}" create secret tls "${SHP_WEBHOOK_SECRET}" -n "${SHIPWRIGHT_NS}" \
      --cert "${dir}/tls.crt" --key "${dir}/tls.key" --dry-run=client -o json \
      | jq --arg ca "$(base64 -w0 <"${dir}/ca.crt")" '.data["ca.crt"] = $ca' >"${dir}/secret.json"
    "${KUBECTL[@]}" apply --server-side --force-conflicts --field-manager="${FIELD_MANAGER}" -f "${dir}/secret.json" >/dev/null
    SHP_CERT_CHANGED=1
  fi
  SHP_CA_B64="$(base64 -w0 <"${dir}/ca.crt")"
}

# shp_crd_cabundle: the webhook's CA into the conversion stanza of the four CRDs (when different).
shp_crd_cabundle() {
  local crd cur ca_b64="${SHP_CA_B64:?}"
  for crd in "${SHP_CRDS[@]}"; do
    cur="$("${KUBECTL[@]}" get crd "${crd}" -o jsonpath='{.spec.conversion.webhook.clientConfig.caBundle}')"
    if [[ "${cur}" != "${ca_b64}" ]]; then
      "${KUBECTL[@]}" patch crd "${crd}" --type merge --field-manager="${FIELD_MANAGER}-cabundle" \
        -p "{\"spec\":{\"conversion\":{\"webhook\":{\"clientConfig\":{\"caBundle\":\"${ca_b64}\"}}}}}" >/dev/null
      log "shipwright webhook: caBundle set in crd/${crd}"
    fi
  done
}

# ------------------------------------------------------------------------------------------
# Waits

# retry SECONDS WHAT CMD...: CMD until it succeeds or SECONDS pass.
retry() {
  local secs="$1" what="$2" end
  shift 2
  end=$((SECONDS + secs))
  until "$@" >"${WORK}/retry.out" 2>&1; do
    if [[ ${SECONDS} -ge ${end} ]]; then cat "${WORK}/retry.out" >&2; die "timed out after ${secs}s: ${what}"; fi
    sleep 1
  done
}

rollout() {  # rollout NS DEPLOYMENT...: each rolled out completely (new ReplicaSet available)
  local ns="$1" d
  shift
  for d in "$@"; do
    "${KUBECTL[@]}" rollout status -n "${ns}" "deployment/${d}" --timeout="${TIMEOUT}s" >/dev/null \
      || die "deployment ${ns}/${d} did not roll out in ${TIMEOUT}s"
  done
}

# ready_endpoints NS SERVICE: the Service has at least one ready endpoint (EndpointSlice).
ready_endpoints() {
  local ips
  ips="$("${KUBECTL[@]}" get endpointslices -n "$1" -l "kubernetes.io/service-name=$2" \
    -o jsonpath='{range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[*]} {end}')"
  [[ -n "${ips// /}" ]] && echo "${ips}"
}

# tekton_webhook_answers: a Task created with --dry-run=server passes the mutating and the
# validating webhook (failurePolicy Fail), so it only succeeds when the webhook serves through
# its Service with the CA knative patched into the configurations.
tekton_webhook_answers() {
  "${KUBECTL[@]}" create --dry-run=server -o name -f - <<EOF
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: swc-install-probe, namespace: default}
spec:
  steps:
  - {name: probe, image: ${IMAGE[shell]:-busybox}, script: "true"}
EOF
}

# shipwright_webhook_answers: a v1alpha1 object created with --dry-run=server must be converted
# to v1beta1 (the storage version) by the conversion webhook.
shipwright_webhook_answers() {
  "${KUBECTL[@]}" create --dry-run=server -o name -f - <<'EOF'
apiVersion: shipwright.io/v1alpha1
kind: ClusterBuildStrategy
metadata: {name: swc-install-probe}
spec:
  buildSteps:
  - {name: probe, image: busybox, command: ["true"]}
EOF
}

wait_tekton() {
  local t0 ips
  t0=$(date +%s%N)
  rollout "${TEKTON_NS}" tekton-pipelines-webhook tekton-pipelines-controller
  retry "${TIMEOUT}" "endpoints of service ${TEKTON_NS}/tekton-pipelines-webhook" ready_endpoints "${TEKTON_NS}" tekton-pipelines-webhook
  ips="$(cat "${WORK}/retry.out")"
  retry "${TIMEOUT}" "Tekton admission webhooks answering (dry-run Task)" tekton_webhook_answers
  log "tekton: controller and webhook ready; webhook endpoints ${ips% }; admission answers ($(fmt_ms "$(elapsed "${t0}")"))"
  local others=()
  "${KUBECTL[@]}" get deploy -n "${TEKTON_NS}" tekton-events-controller >/dev/null 2>&1 && others+=(tekton-events-controller)
  if [[ ${#others[@]} -gt 0 ]]; then rollout "${TEKTON_NS}" "${others[@]}"; fi
  if "${KUBECTL[@]}" get deploy -n tekton-pipelines-resolvers tekton-pipelines-remote-resolvers >/dev/null 2>&1; then
    rollout tekton-pipelines-resolvers tekton-pipelines-remote-resolvers
  fi
  log "tekton: all deployments rolled out ($(fmt_ms "$(elapsed "${t0}")"))"
}

wait_shipwright() {
  local t0 ips
  t0=$(date +%s%N)
  if [[ ${SHP_CERT_CHANGED:-0} -eq 1 ]]; then
    # A webhook pod that started before the secret changed serves the old certificate.
    "${KUBECTL[@]}" rollout restart -n "${SHIPWRIGHT_NS}" deployment/shipwright-build-webhook >/dev/null
  fi
  rollout "${SHIPWRIGHT_NS}" shipwright-build-webhook shipwright-build-controller
  retry "${TIMEOUT}" "endpoints of service ${SHIPWRIGHT_NS}/${SHP_WEBHOOK_SVC}" ready_endpoints "${SHIPWRIGHT_NS}" "${SHP_WEBHOOK_SVC}"
  ips="$(cat "${WORK}/retry.out")"
  retry "${TIMEOUT}" "Shipwright conversion webhook answering (dry-run v1alpha1 object)" shipwright_webhook_answers
  log "shipwright: controller ready; webhook endpoints ${ips% }; conversion answers ($(fmt_ms "$(elapsed "${t0}")"))"
}

# ------------------------------------------------------------------------------------------

print_dry_run() {
  local m
  echo "# install.sh --source ${SOURCE} --dry-run (Tekton v${TEKTON_VERSION}, Shipwright v${SHIPWRIGHT_VERSION})"
  echo "# kubectl apply --server-side --force-conflicts --field-manager=${FIELD_MANAGER} -f <each of these, in order>"
  for m in "${TEKTON_MANIFESTS[@]}" "${SHIPWRIGHT_MANIFESTS[@]}"; do
    if [[ "${m}" == http* ]]; then echo "#   ${m}"; else echo "#   ${m##*/}: $(grep -c '^# Source:' "${m}") upstream files, rendered below"; fi
  done
  echo "# then: namespace ${SHIPWRIGHT_NS}, secret ${SHP_WEBHOOK_SECRET} (openssl CA + serving cert), caBundle into ${SHP_CRDS[*]}"
  if [[ ${WITH_STRATEGIES} -eq 1 && "${SOURCE}" == release ]]; then echo "# then: ${UPSTREAM_SAMPLE_STRATEGIES}"
  elif [[ ${WITH_STRATEGIES} -eq 1 ]]; then echo "# then: e2e/install/strategies/*.yaml with the local images (rendered below)"; fi
  for m in "${TEKTON_MANIFESTS[@]}" "${SHIPWRIGHT_MANIFESTS[@]}"; do
    if [[ "${m}" != http* ]]; then cat "${m}"; fi
  done
  if [[ ${WITH_STRATEGIES} -eq 1 && "${SOURCE}" == offline ]]; then render_strategies "${WORK}/strategies.yaml"; cat "${WORK}/strategies.yaml"; fi
}

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --source) SOURCE="${2:?--source needs offline|release}"; shift ;;
      --source=*) SOURCE="${1#*=}" ;;
      --dry-run) DRY_RUN=1 ;;
      --kubeconfig) KUBECONFIG_FILE="${2:?--kubeconfig needs a file}"; shift ;;
      --kubeconfig=*) KUBECONFIG_FILE="${1#*=}" ;;
      --no-strategies) WITH_STRATEGIES=0 ;;
      --strategies) ONLY_STRATEGIES="${2:?--strategies needs a list}"; shift ;;
      --strategies=*) ONLY_STRATEGIES="${1#*=}" ;;
      --timeout) TIMEOUT="${2:?--timeout needs seconds}"; shift ;;
      --timeout=*) TIMEOUT="${1#*=}" ;;
      -h|--help) usage; return 0 ;;
      *) usage >&2; die "unknown argument $1" ;;
    esac
    shift
  done
  case "${SOURCE}" in offline|release) ;; *) die "--source must be offline or release" ;; esac
  if [[ -n "${ONLY_STRATEGIES}" ]]; then
    [[ "${SOURCE}" == offline ]] || die "--strategies selects offline strategy copies; --source release applies Shipwright's samples"
    strategy_files >/dev/null
  fi
  for c in jq openssl base64; do command -v "${c}" >/dev/null || die "${c} is needed"; done
  WORK="$(mktemp -d /tmp/swc-install.XXXXXX)"
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  if [[ ${DRY_RUN} -eq 1 ]]; then
    "source_${SOURCE}"
    print_dry_run
    return 0
  fi

  setup_cluster_access
  log "Tekton v${TEKTON_VERSION} + Shipwright v${SHIPWRIGHT_VERSION} (source ${SOURCE}) onto ${KUBECONFIG_FILE}"
  "source_${SOURCE}"

  # A cluster restarted with its state kept has Tekton's webhooks registered before its pods
  # serve again; every apply (even of unchanged objects) goes through them, so wait first.
  if "${KUBECTL[@]}" get validatingwebhookconfiguration config.webhook.pipeline.tekton.dev >/dev/null 2>&1; then
    log "tekton: already installed; waiting for its webhooks to serve before re-applying"
    wait_tekton
  fi
  local t0
  t0=$(date +%s%N)
  apply "${TEKTON_MANIFESTS[@]}"
  log "tekton: applied ($(fmt_ms "$(elapsed "${t0}")"))"
  # The webhook's secret is mounted by its pod: namespace and secret first, then the rest.
  t0=$(date +%s%N)
  # (its own field manager: with the manifests' one, this name-only apply would drop the
  # namespace labels that the manifests set, and every run would change the namespace twice)
  "${KUBECTL[@]}" create namespace "${SHIPWRIGHT_NS}" --dry-run=client -o yaml \
    | "${KUBECTL[@]}" apply --server-side --field-manager="${FIELD_MANAGER}-bootstrap" -f - >/dev/null
  SHP_CERT_CHANGED=0
  shp_webhook_cert
  apply "${SHIPWRIGHT_MANIFESTS[@]}"
  shp_crd_cabundle
  log "shipwright: applied ($(fmt_ms "$(elapsed "${t0}")"))"

  wait_tekton
  wait_shipwright

  if [[ ${WITH_STRATEGIES} -eq 1 && "${SOURCE}" == release ]]; then
    apply "${UPSTREAM_SAMPLE_STRATEGIES}"
    log "strategies applied: Shipwright's samples (${UPSTREAM_SAMPLE_STRATEGIES})"
  elif [[ ${WITH_STRATEGIES} -eq 1 ]]; then
    render_strategies "${WORK}/strategies.yaml"
    apply "${WORK}/strategies.yaml"
    log "strategies applied: $(strategy_files | xargs grep -h '^  name:' | awk '{ print $2 }' | paste -sd' ') (images: $(strategy_images | paste -sd' '))"
  fi
  log "done in $(fmt_ms "$(elapsed "${T_START}")")"
}

main "$@"
