# shellcheck shell=bash
# shellcheck disable=SC2034  # variables for the scripts that source this file
# Pinned versions and cache locations for e2e/install/*. Sourced, never run.
# The same variable names as e2e/cluster/versions.sh (no leading "v"); both honour overrides.
TEKTON_VERSION="${TEKTON_VERSION:-1.12.2}"         # github.com/tektoncd/pipeline (LTS line v1.12)
SHIPWRIGHT_VERSION="${SHIPWRIGHT_VERSION:-0.20.13}" # github.com/shipwright-io/build
K8S_VERSION="${K8S_VERSION:-1.36.3}"               # only for kubectl's location
SWC_CACHE_DIR="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
TEKTON_BIN_DIR="${SWC_CACHE_DIR}/bin/tekton-v${TEKTON_VERSION}"
SHIPWRIGHT_BIN_DIR="${SWC_CACHE_DIR}/bin/shipwright-v${SHIPWRIGHT_VERSION}"
K8S_BIN_DIR="${SWC_CACHE_DIR}/bin/kubernetes-v${K8S_VERSION}"

# Main packages built per project (binary name = last path element, as ko names them).
TEKTON_CMDS=(controller webhook entrypoint nop workingdirinit sidecarlogresults resolvers events)
SHIPWRIGHT_CMDS=(shipwright-build-controller shipwright-build-webhook git image-processing waiter bundle)

# Module versions the Go module proxy refuses (403 "This module version is not available")
# at the versions Tekton v1.12.2 pins, replaced by the nearest older patch release it serves:
#   github.com/spiffe/spire-api-sdk v1.14.7 -> v1.14.6   (cmd/controller, entrypoint, sidecarlogresults via pkg/spire)
#   github.com/jenkins-x/go-scm     v1.15.22 -> v1.15.21 (cmd/resolvers via the git resolver)
# Only applied when TEKTON_VERSION is 1.12.2 (other versions pin other versions).
if [[ "${TEKTON_VERSION}" == 1.12.2 ]]; then
  TEKTON_GO_REPLACES=(
    github.com/spiffe/spire-api-sdk=github.com/spiffe/spire-api-sdk@v1.14.6
    github.com/jenkins-x/go-scm=github.com/jenkins-x/go-scm@v1.15.21
  )
else
  TEKTON_GO_REPLACES=()
fi
SHIPWRIGHT_GO_REPLACES=()

# Build flags (ko builds with -trimpath too; -s -w drops the symbol table and DWARF).
SWC_GO_LDFLAGS="-s -w"
