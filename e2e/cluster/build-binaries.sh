#!/usr/bin/env bash
# Build the Kubernetes and etcd binaries for the offline cluster from the Go
# module proxy, into a cache directory outside the repository keyed by version.
# A rerun with everything present returns in well under a second.
#
# Usage: e2e/cluster/build-binaries.sh [control-plane|all|kubectl]
#   control-plane: etcd, kube-apiserver, kube-controller-manager, kubectl
#                  (what up.sh --mode control-plane and the integration tests need)
#   all:           also kube-scheduler, kubelet, kube-proxy, and
#                  local-path-provisioner (full mode's default StorageClass), crictl
#   kubectl:       kubectl only
# Environment:
#   K8S_VERSION   (default 1.36.3)   ETCD_VERSION (default 3.6.16)
#   SWC_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache)
# Concurrent runs are serialised by a lock in SWC_CACHE_DIR, so a second caller
# waits for the first instead of building the same thing twice.
# Measured on 2 cores (go 1.26.8, cold module and build caches): see e2e/cluster/README.md.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=e2e/cluster/versions.sh
source "${REPO_ROOT}/e2e/cluster/versions.sh"

log() { printf '[build-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# prepare_module DIR INIT_FUNCTION REQUIRED_MODULE: (re)create a wrapper module
# unless a previous run completed it (marked by .ready, or by go.mod already
# requiring REQUIRED_MODULE), so an interrupted `go get` is redone.
prepare_module() {
  local dir="$1" init="$2" req="$3"
  [[ -f "${dir}/.ready" ]] && return 0
  if [[ -f "${dir}/go.mod" ]] && grep -q "^[[:space:]]*\(require \)\{0,1\}${req} v" "${dir}/go.mod"; then
    touch "${dir}/.ready"; return 0
  fi
  rm -rf "${dir}"; mkdir -p "${dir}"
  (cd "${dir}" && export GOFLAGS=-mod=mod && "${init}")
  touch "${dir}/.ready"
}

init_k8s_module() {
  go mod init local.build/k8s >/dev/null 2>&1
  local gomod sv m
  gomod=$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -f "$gomod" ]] || { log "could not download k8s.io/kubernetes@v${K8S_VERSION}"; return 1; }
  sv="v0.${K8S_VERSION#1.}"
  # Copy the go directive, then replace every staging module with its published version.
  go mod edit -go="$(sed -n 's/^go \(.*\)$/\1/p' "$gomod")"
  for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[^ ]*\) => \./staging/src/.*|\1|p' "$gomod"); do
    go mod edit -replace="${m}=${m}@${sv}"
  done
  go get "k8s.io/kubernetes@v${K8S_VERSION}" >/dev/null
}

init_etcd_module() {
  go mod init local.build/etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >/dev/null
}

build_k8s() {
  local want=("$@") missing=() c t0
  for c in "${want[@]}"; do [[ -x "${K8S_BIN_DIR}/${c}" ]] || missing+=("$c"); done
  if [[ ${#missing[@]} -eq 0 ]]; then log "kubernetes v${K8S_VERSION}: ${want[*]} cached in ${K8S_BIN_DIR}"; return; fi
  log "kubernetes v${K8S_VERSION}: building ${missing[*]} (cold on 2 cores: many minutes)"
  local mod="${SWC_CACHE_DIR}/src/k8s-v${K8S_VERSION}"
  mkdir -p "$K8S_BIN_DIR"
  prepare_module "$mod" init_k8s_module k8s.io/kubernetes
  (
    cd "$mod"
    export GOFLAGS=-mod=mod
    local minor; minor=$(echo "$K8S_VERSION" | cut -d. -f2)
    local vp=k8s.io/component-base/version
    local ldf="-s -w -X ${vp}.gitVersion=v${K8S_VERSION} -X ${vp}.gitMajor=1 -X ${vp}.gitMinor=${minor} -X ${vp}.gitTreeState=clean -X ${vp}.gitCommit=0000000000000000000000000000000000000000 -X ${vp}.buildDate=1970-01-01T00:00:00Z"
    for c in "${missing[@]}"; do
      t0=$(date +%s)
      log "  go build ${c}"
      CGO_ENABLED=0 go build -trimpath -ldflags "$ldf" -o "${K8S_BIN_DIR}/${c}.tmp" "k8s.io/kubernetes/cmd/${c}"
      mv "${K8S_BIN_DIR}/${c}.tmp" "${K8S_BIN_DIR}/${c}"
      log "  ${c} built in $(( $(date +%s) - t0 )) s"
    done
  )
}

build_etcd() {
  if [[ -x "${ETCD_BIN_DIR}/etcd" ]]; then log "etcd v${ETCD_VERSION} cached in ${ETCD_BIN_DIR}"; return; fi
  log "etcd v${ETCD_VERSION}: building"
  local mod="${SWC_CACHE_DIR}/src/etcd-v${ETCD_VERSION}" t0; t0=$(date +%s)
  mkdir -p "$ETCD_BIN_DIR"
  prepare_module "$mod" init_etcd_module go.etcd.io/etcd/server/v3
  (
    cd "$mod"
    export GOFLAGS=-mod=mod
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${ETCD_BIN_DIR}/etcd.tmp" go.etcd.io/etcd/server/v3
    mv "${ETCD_BIN_DIR}/etcd.tmp" "${ETCD_BIN_DIR}/etcd"
  )
  log "etcd built in $(( $(date +%s) - t0 )) s"
}

# local-path-provisioner has no replace directives, so plain `go install` works.
build_local_path() {
  if [[ -x "${LOCAL_PATH_BIN_DIR}/local-path-provisioner" ]]; then log "local-path-provisioner v${LOCAL_PATH_VERSION} cached in ${LOCAL_PATH_BIN_DIR}"; return; fi
  log "local-path-provisioner v${LOCAL_PATH_VERSION}: building"
  local t0; t0=$(date +%s)
  mkdir -p "${LOCAL_PATH_BIN_DIR}"
  GOBIN="${LOCAL_PATH_BIN_DIR}" CGO_ENABLED=0 GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" \
    "github.com/rancher/local-path-provisioner@v${LOCAL_PATH_VERSION}"
  log "local-path-provisioner built in $(( $(date +%s) - t0 )) s"
}

# crictl (cri-tools) has no replace directives either.
build_crictl() {
  if [[ -x "${CRICTL_BIN_DIR}/crictl" ]]; then log "crictl v${CRICTL_VERSION} cached in ${CRICTL_BIN_DIR}"; return; fi
  log "crictl v${CRICTL_VERSION}: building"
  local t0; t0=$(date +%s)
  mkdir -p "${CRICTL_BIN_DIR}"
  GOBIN="${CRICTL_BIN_DIR}" CGO_ENABLED=0 GOFLAGS=-mod=mod go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/cri-tools/cmd/crictl@v${CRICTL_VERSION}"
  log "crictl built in $(( $(date +%s) - t0 )) s"
}

main() {
  local what="${1:-control-plane}"
  case "$what" in control-plane|all|kubectl) ;; *) echo "usage: $0 [control-plane|all|kubectl]" >&2; exit 2 ;; esac
  mkdir -p "${SWC_CACHE_DIR}"
  exec 8>"${SWC_CACHE_DIR}/.build.lock"
  if ! flock -n 8; then
    log "another build-binaries.sh holds ${SWC_CACHE_DIR}/.build.lock; waiting for it"
    flock 8
  fi
  case "$what" in
    control-plane) build_etcd; build_k8s kube-apiserver kube-controller-manager kubectl ;;
    all) build_etcd; build_k8s kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; build_local_path; build_crictl ;;
    kubectl) build_k8s kubectl ;;
  esac
}

main "$@"
