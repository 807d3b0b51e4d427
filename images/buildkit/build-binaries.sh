#!/usr/bin/env bash
# Builds the Go binaries of the buildkit image from the Go module proxy into a version-keyed
# cache outside the repository (as e2e/install/build-controllers.sh does for Tekton/Shipwright):
#   ${SWC_CACHE_DIR}/bin/buildkit-<BUILDKIT_VERSION>/        buildkitd buildctl buildctl-daemonless.sh
#   ${SWC_CACHE_DIR}/bin/rootlesskit-<ROOTLESSKIT_VERSION>/  rootlesskit
# Versions from images/buildkit/image.conf. Flags as upstream's Dockerfile at that release:
# CGO_ENABLED=0, buildkitd with tags "osusergo netgo static_build seccomp", version.* set by
# -X (Revision is empty: the module zip carries no git metadata), plus -trimpath -s -w
# (images/lib-gobuild.sh: one wrapper module per module, a rerun with an unchanged build key
# does nothing).
#
# Usage: images/buildkit/build-binaries.sh [--force]     Output (stdout): NAME<TAB>PATH
set -euo pipefail

IMAGE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=images/buildkit/image.conf
source "${IMAGE_DIR}/image.conf"
SWC_CACHE_DIR="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
BUILDKIT_BIN_DIR="${SWC_CACHE_DIR}/bin/buildkit-${BUILDKIT_VERSION}"
ROOTLESSKIT_BIN_DIR="${SWC_CACHE_DIR}/bin/rootlesskit-${ROOTLESSKIT_VERSION}"
FORCE=0
[[ "${1:-}" != --force ]] || FORCE=1

# shellcheck source=images/lib-gobuild.sh
source "${IMAGE_DIR}/../lib-gobuild.sh"
SWC_GO_BUILD_LOG=buildkit-binaries
SWC_GO_BUILD_FORCE=${FORCE}
die() { swc_go_build_log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed"
mkdir -p "${SWC_CACHE_DIR}/bin" "${SWC_CACHE_DIR}/src"
exec 7>"${SWC_CACHE_DIR}/.build-buildkit.lock"
flock 7

pkg_ldflags="-X ${BUILDKIT_MODULE}/version.Version=${BUILDKIT_VERSION} -X ${BUILDKIT_MODULE}/version.Package=${BUILDKIT_MODULE}"
# buildctl: plain CGO_ENABLED=0 upstream; buildkitd: the static tags upstream gives it (seccomp
# is a no-op without cgo, kept for parity).
swc_go_build "${BUILDKIT_MODULE}" "${BUILDKIT_VERSION}" "${BUILDKIT_BIN_DIR}" "osusergo netgo static_build seccomp" "${pkg_ldflags}" \
  "${BUILDKIT_MODULE}/cmd/buildkitd" "${BUILDKIT_MODULE}/cmd/buildctl"
swc_go_build "${ROOTLESSKIT_MODULE}" "${ROOTLESSKIT_VERSION}" "${ROOTLESSKIT_BIN_DIR}" "" "" "${ROOTLESSKIT_MODULE}/cmd/rootlesskit"

# buildctl-daemonless.sh from the same module version (examples/ is in the module zip).
src="$(go env GOMODCACHE)/${BUILDKIT_MODULE}@${BUILDKIT_VERSION}/examples/buildctl-daemonless/buildctl-daemonless.sh"
[[ -f "${src}" ]] || (cd "${SWC_CACHE_DIR}/src" && go mod download "${BUILDKIT_MODULE}@${BUILDKIT_VERSION}")
install -m 0755 "${src}" "${BUILDKIT_BIN_DIR}/buildctl-daemonless.sh"

printf 'buildkitd\t%s\nbuildctl\t%s\nbuildctl-daemonless.sh\t%s\nrootlesskit\t%s\n' \
  "${BUILDKIT_BIN_DIR}/buildkitd" "${BUILDKIT_BIN_DIR}/buildctl" "${BUILDKIT_BIN_DIR}/buildctl-daemonless.sh" \
  "${ROOTLESSKIT_BIN_DIR}/rootlesskit"
