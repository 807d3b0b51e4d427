#!/usr/bin/env bash
# Create (or reuse) the kind cluster and its local registry for the e2e suite.
# Needs docker and kind (https://kind.sigs.k8s.io) and internet access: this is
# the path for users and GitHub Actions; the offline path is e2e/cluster/up.sh.
# Everything after cluster creation is the same code for both paths.
#
# Usage: e2e/kind/create-cluster.sh [--dry-run]
# Environment:
#   KIND_CLUSTER_NAME (default shipwright-cache)
#   KIND_NODE_IMAGE   (default kindest/node:v1.36.1)
#   REGISTRY_NAME     (default kind-registry)   REGISTRY_PORT (default 5001)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KIND_CLUSTER_NAME="${KIND_CLUSTER_NAME:-shipwright-cache}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v1.36.1}"
REGISTRY_NAME="${REGISTRY_NAME:-kind-registry}"
REGISTRY_PORT="${REGISTRY_PORT:-5001}"
DRY_RUN=0

log() { printf '[kind %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# run: execute, or with --dry-run only print, a command.
run() {
  if (( DRY_RUN )); then printf '+ %s\n' "$*"; else "$@"; fi
}

require() {
  local c
  for c in "$@"; do
    if ! command -v "$c" >/dev/null 2>&1; then
      if (( DRY_RUN )); then log "note: '$c' is not installed here (dry run continues)"; else log "'$c' is required"; exit 2; fi
    fi
  done
}

# 1. The registry container, unless it already runs.
create_registry() {
  if (( ! DRY_RUN )) && [[ "$(docker inspect -f '{{.State.Running}}' "${REGISTRY_NAME}" 2>/dev/null || true)" == true ]]; then
    log "registry ${REGISTRY_NAME} already running"
    return
  fi
  run docker run -d --restart=always -p "127.0.0.1:${REGISTRY_PORT}:5000" --network bridge --name "${REGISTRY_NAME}" registry:2
}

# 2. The cluster, unless it exists.
create_cluster() {
  if (( ! DRY_RUN )) && kind get clusters 2>/dev/null | grep -qx "${KIND_CLUSTER_NAME}"; then
    log "kind cluster ${KIND_CLUSTER_NAME} already exists"
    return
  fi
  run kind create cluster --name "${KIND_CLUSTER_NAME}" --image "${KIND_NODE_IMAGE}" --config "${REPO_ROOT}/e2e/kind/cluster.yaml" --wait 120s
}

# 3. Nodes resolve localhost:REGISTRY_PORT to the registry container.
wire_registry() {
  local dir="/etc/containerd/certs.d/localhost:${REGISTRY_PORT}" node
  local nodes=("${KIND_CLUSTER_NAME}-control-plane")
  (( DRY_RUN )) || mapfile -t nodes < <(kind get nodes --name "${KIND_CLUSTER_NAME}")
  for node in "${nodes[@]}"; do
    run docker exec "${node}" mkdir -p "${dir}"
    if (( DRY_RUN )); then
      printf '+ docker exec -i %s cp /dev/stdin %s/hosts.toml  <<< [host."http://%s:5000"]\n' "${node}" "${dir}" "${REGISTRY_NAME}"
    else
      printf '[host."http://%s:5000"]\n' "${REGISTRY_NAME}" | docker exec -i "${node}" cp /dev/stdin "${dir}/hosts.toml"
    fi
  done
  if (( DRY_RUN )) || [[ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "${REGISTRY_NAME}")" == null ]]; then
    run docker network connect kind "${REGISTRY_NAME}"
  fi
  # KEP-1755: tell tools where the local registry is.
  run kubectl apply -f - <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:${REGISTRY_PORT}"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
YAML
}

main() {
  [[ "${1:-}" == --dry-run ]] && DRY_RUN=1
  require docker kind kubectl
  create_registry
  create_cluster
  wire_registry
  log "kind cluster ${KIND_CLUSTER_NAME} ready; registry localhost:${REGISTRY_PORT} (in-cluster: ${REGISTRY_NAME}:5000)"
}

main "$@"
