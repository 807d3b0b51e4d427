# shellcheck shell=bash disable=SC2034
# Pinned versions and cache locations shared by the cluster scripts. Sourced, not run.
K8S_VERSION="${K8S_VERSION:-1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
SWC_CACHE_DIR="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
K8S_BIN_DIR="${SWC_CACHE_DIR}/bin/kubernetes-v${K8S_VERSION}"
ETCD_BIN_DIR="${SWC_CACHE_DIR}/bin/etcd-v${ETCD_VERSION}"
SHIPWRIGHT_VERSION="${SHIPWRIGHT_VERSION:-0.20.13}"   # CRDs from tests/fixtures/upstream/shipwright/
TEKTON_VERSION="${TEKTON_VERSION:-1.12.2}"            # CRDs from tests/fixtures/upstream/tekton-pipelines/
LOCAL_PATH_VERSION="${LOCAL_PATH_VERSION:-0.0.30}"    # github.com/rancher/local-path-provisioner (full mode StorageClass)
LOCAL_PATH_BIN_DIR="${SWC_CACHE_DIR}/bin/local-path-provisioner-v${LOCAL_PATH_VERSION}"
CRICTL_VERSION="${CRICTL_VERSION:-1.37.0}"            # sigs.k8s.io/cri-tools (full mode teardown and debugging)
CRICTL_BIN_DIR="${SWC_CACHE_DIR}/bin/cri-tools-v${CRICTL_VERSION}"
