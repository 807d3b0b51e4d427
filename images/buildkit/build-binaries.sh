#!/usr/bin/env bash
# Builds the Go binaries of the buildkit image from the Go module proxy into a version-keyed
# cache outside the repository (as e2e/install/build-controllers.sh does for Tekton/Shipwright):
#   ${SWC_CACHE_DIR}/bin/buildkit-<BUILDKIT_VERSION>/        buildkitd buildctl buildctl-daemonless.sh
#   ${SWC_CACHE_DIR}/bin/rootlesskit-<ROOTLESSKIT_VERSION>/  rootlesskit
# Versions from images/buildkit/image.conf. Flags as upstream's Dockerfile at that release:
# CGO_ENABLED=0, buildkitd with tags "osusergo netgo static_build seccomp", version.* set by
# -X (Revision is empty: the module zip carries no git metadata), plus -trimpath -s -w.
# Each module is built in its own wrapper module under ${SWC_CACHE_DIR}/src/, so the
# dependency versions are exactly the module's go.mod. A rerun with an unchanged build key
# does nothing.
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

log() { printf '[buildkit-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# build MODULE VERSION BINDIR TAGS LDFLAGS PKG...: binaries named after the package's last element.
build() {
  local module="$1" version="$2" bindir="$3" tags="$4" ldflags="$5" key mod tmp p missing=0 t0=${SECONDS} gomod
  shift 5
  key="$({ echo "recipe 1"; go version; echo "$(go env GOOS)/$(go env GOARCH) CGO_ENABLED=0 -trimpath"
          echo "tags=${tags}"; echo "ldflags=${ldflags}"; echo "${module}@${version}"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16)"
  for p in "$@"; do [[ -x "${bindir}/${p##*/}" ]] || missing=1; done
  if [[ ${FORCE} -eq 0 && ${missing} -eq 0 && "$(cat "${bindir}/.build-key" 2>/dev/null)" == "${key}" ]]; then
    log "${module}@${version}: cached in ${bindir}"
    return 0
  fi
  mod="${SWC_CACHE_DIR}/src/${module##*/}-${version}"
  [[ "${module}" != */v[0-9]* ]] || mod="${SWC_CACHE_DIR}/src/$(basename "$(dirname "${module}")")-${version}"
  if [[ ! -f "${mod}/.ready" ]]; then
    rm -rf "${mod}"; mkdir -p "${mod}"
    (
      cd "${mod}"
      export GOFLAGS=-mod=mod
      go mod init "local.build/$(basename "${mod}")" >/dev/null 2>&1
      gomod="$(go mod download -json "${module}@${version}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
      [[ -f "${gomod}" ]] || die "the Go module proxy did not serve ${module}@${version}"
      go mod edit -go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${gomod}")"
      go get "${module}@${version}" >/dev/null
    ) || die "wrapper module for ${module}@${version} failed"
    touch "${mod}/.ready"
  fi
  log "${module}@${version}: go build $* (cold on 2 cores: minutes)"
  mkdir -p "${bindir}"
  rm -rf "${bindir}"/.tmp.*
  tmp="$(mktemp -d "${bindir}/.tmp.XXXXXX")"
  (
    cd "${mod}"
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath ${tags:+-tags "${tags}"} -ldflags "-s -w ${ldflags}" -o "${tmp}/" "$@"
  ) || die "go build of ${module}@${version} failed (output above)"
  for p in "$@"; do mv -f "${tmp}/${p##*/}" "${bindir}/${p##*/}"; done
  rm -rf "${tmp}"
  cp "${mod}/go.mod" "${bindir}/.go.mod"
  echo "${key}" > "${bindir}/.build-key"
  log "${module}@${version}: built in $((SECONDS - t0)) s -> ${bindir}"
}

command -v go >/dev/null || die "go is not installed"
mkdir -p "${SWC_CACHE_DIR}/bin" "${SWC_CACHE_DIR}/src"
exec 7>"${SWC_CACHE_DIR}/.build-buildkit.lock"
flock 7

pkg_ldflags="-X ${BUILDKIT_MODULE}/version.Version=${BUILDKIT_VERSION} -X ${BUILDKIT_MODULE}/version.Package=${BUILDKIT_MODULE}"
# buildctl: plain CGO_ENABLED=0 upstream; buildkitd: the static tags upstream gives it (seccomp
# is a no-op without cgo, kept for parity).
build "${BUILDKIT_MODULE}" "${BUILDKIT_VERSION}" "${BUILDKIT_BIN_DIR}" "osusergo netgo static_build seccomp" "${pkg_ldflags}" \
  "${BUILDKIT_MODULE}/cmd/buildkitd" "${BUILDKIT_MODULE}/cmd/buildctl"
build "${ROOTLESSKIT_MODULE}" "${ROOTLESSKIT_VERSION}" "${ROOTLESSKIT_BIN_DIR}" "" "" "${ROOTLESSKIT_MODULE}/cmd/rootlesskit"

# buildctl-daemonless.sh from the same module version (examples/ is in the module zip).
src="$(go env GOMODCACHE)/${BUILDKIT_MODULE}@${BUILDKIT_VERSION}/examples/buildctl-daemonless/buildctl-daemonless.sh"
[[ -f "${src}" ]] || (cd "${SWC_CACHE_DIR}/src" && go mod download "${BUILDKIT_MODULE}@${BUILDKIT_VERSION}")
install -m 0755 "${src}" "${BUILDKIT_BIN_DIR}/buildctl-daemonless.sh"

printf 'buildkitd\t%s\nbuildctl\t%s\nbuildctl-daemonless.sh\t%s\nrootlesskit\t%s\n' \
  "${BUILDKIT_BIN_DIR}/buildkitd" "${BUILDKIT_BIN_DIR}/buildctl" "${BUILDKIT_BIN_DIR}/buildctl-daemonless.sh" \
  "${ROOTLESSKIT_BIN_DIR}/rootlesskit"
