#!/usr/bin/env bash
# Put images/ images (built and cached by images/build.sh) into a running full-mode
# cluster: its registry (10.88.0.1:5000) and its containerd (namespace k8s.io), so
# pods find them with imagePullPolicy IfNotPresent. Prints "NAME REFERENCE" per image.
#
# Usage: [SWC_CLUSTER_DIR=DIR] e2e/cluster/load-images.sh NAME...   (e.g. shell buildah)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034 # read by log() in lib.sh
SWC_SCRIPT=load-images
# shellcheck source=e2e/cluster/lib.sh
source "${REPO_ROOT}/e2e/cluster/lib.sh"

main() {
  (( $# > 0 )) || { sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
  cluster_paths "${SWC_CLUSTER_DIR:-${SWC_DEFAULT_FULL_DIR}}"
  [[ -s "${CLUSTER_ENV}" ]] || die "no cluster in ${CLUSTER_DIR}"
  # shellcheck disable=SC1090
  source "${CLUSTER_ENV}"
  [[ "${CLUSTER_MODE}" == full ]] || die "${CLUSTER_DIR} is a ${CLUSTER_MODE} cluster; images need --mode full"
  # shellcheck source=e2e/cluster/lib-full.sh
  source "${REPO_ROOT}/e2e/cluster/lib-full.sh"
  full_paths
  is_running containerd || die "containerd of ${CLUSTER_DIR} is not running (e2e/cluster/up.sh --mode full)"
  [[ -x "${REPO_ROOT}/images/load.sh" ]] || die "images/load.sh is missing"
  "${REPO_ROOT}/images/load.sh" --registry "${REGISTRY_ADDR}" --containerd-namespace k8s.io \
    --containerd-address "${CONTAINERD_SOCK}" "$@" | awk '{ print $1, $2 }'
}

main "$@"
