#!/usr/bin/env bash
# Builds the lifecycle of the buildpacks-builder image from the Go module proxy into a
# version-keyed cache outside the repository (images/lib-gobuild.sh):
#   ${SWC_CACHE_DIR}/bin/lifecycle-<LIFECYCLE_VERSION>/   lifecycle launcher
# Flags as the lifecycle's Makefile at that release: CGO_ENABLED=0, -s -w, cmd.Version and
# cmd.SCMRepository set by -X (cmd.SCMCommit is empty: the module zip has no git metadata).
# ~1.5 min cold on 2 cores; a rerun does nothing.
#
# Usage: images/buildpacks-builder/build-binaries.sh [--force]     Output (stdout): NAME<TAB>PATH
set -euo pipefail

IMAGE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=images/buildpacks-builder/image.conf
source "${IMAGE_DIR}/image.conf"
SWC_CACHE_DIR="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
LIFECYCLE_BIN_DIR="${SWC_CACHE_DIR}/bin/lifecycle-${LIFECYCLE_VERSION}"
# shellcheck source=images/lib-gobuild.sh
source "${IMAGE_DIR}/../lib-gobuild.sh"
SWC_GO_BUILD_LOG=lifecycle-binaries
[[ "${1:-}" != --force ]] || SWC_GO_BUILD_FORCE=1

command -v go >/dev/null || { swc_go_build_log "ERROR: go is not installed"; exit 1; }
mkdir -p "${SWC_CACHE_DIR}/bin" "${SWC_CACHE_DIR}/src"
exec 7>"${SWC_CACHE_DIR}/.build-lifecycle.lock"
flock 7

swc_go_build "${LIFECYCLE_MODULE}" "${LIFECYCLE_VERSION}" "${LIFECYCLE_BIN_DIR}" "" \
  "-X ${LIFECYCLE_MODULE}/cmd.Version=${LIFECYCLE_VERSION#v} -X ${LIFECYCLE_MODULE}/cmd.SCMRepository=${LIFECYCLE_MODULE}" \
  "${LIFECYCLE_MODULE}/cmd/lifecycle" "${LIFECYCLE_MODULE}/cmd/launcher"
printf 'lifecycle\t%s\nlauncher\t%s\n' "${LIFECYCLE_BIN_DIR}/lifecycle" "${LIFECYCLE_BIN_DIR}/launcher"
