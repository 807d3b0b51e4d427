# shellcheck shell=bash
# swc_go_build: builds Go main packages of one module from the Go module proxy into a
# version-keyed cache outside the repository (as e2e/install/build-controllers.sh does for
# Tekton/Shipwright). Sourced by the images' build-binaries.sh scripts, never run.
#
#   swc_go_build MODULE VERSION BINDIR TAGS LDFLAGS PKG...
#
# Each module is built in its own wrapper module under ${SWC_CACHE_DIR}/src/, so the dependency
# versions are exactly the module's go.mod. CGO_ENABLED=0, -trimpath, -ldflags "-s -w LDFLAGS".
# Binaries are named after the package's last element. A rerun with an unchanged build key (Go
# version, platform, flags, module version, packages) does nothing; SWC_GO_BUILD_FORCE=1 rebuilds.
# Needs SWC_CACHE_DIR; log lines go to stderr with the prefix SWC_GO_BUILD_LOG (default go-build).

swc_go_build_log() { printf '[%s %s] %s\n' "${SWC_GO_BUILD_LOG:-go-build}" "$(date +%H:%M:%S)" "$*" >&2; }

swc_go_build() {
  local module="$1" version="$2" bindir="$3" tags="$4" ldflags="$5" key mod tmp p missing=0 t0=${SECONDS} gomod
  shift 5
  key="$({ echo "recipe 1"; go version; echo "$(go env GOOS)/$(go env GOARCH) CGO_ENABLED=0 -trimpath"
          echo "tags=${tags}"; echo "ldflags=${ldflags}"; echo "${module}@${version}"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16)"
  for p in "$@"; do [[ -x "${bindir}/${p##*/}" ]] || missing=1; done
  if [[ "${SWC_GO_BUILD_FORCE:-0}" != 1 && ${missing} -eq 0 && "$(cat "${bindir}/.build-key" 2>/dev/null)" == "${key}" ]]; then
    swc_go_build_log "${module}@${version}: cached in ${bindir}"
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
      [[ -f "${gomod}" ]] || { swc_go_build_log "ERROR: the Go module proxy did not serve ${module}@${version}"; exit 1; }
      go mod edit -go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${gomod}")"
      go get "${module}@${version}" >/dev/null
    ) || { swc_go_build_log "ERROR: wrapper module for ${module}@${version} failed"; return 1; }
    touch "${mod}/.ready"
  fi
  swc_go_build_log "${module}@${version}: go build $* (cold on 2 cores: minutes)"
  mkdir -p "${bindir}"
  rm -rf "${bindir}"/.tmp.*
  tmp="$(mktemp -d "${bindir}/.tmp.XXXXXX")"
  (
    cd "${mod}"
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath ${tags:+-tags "${tags}"} -ldflags "-s -w ${ldflags}" -o "${tmp}/" "$@"
  ) || { swc_go_build_log "ERROR: go build of ${module}@${version} failed (output above)"; return 1; }
  for p in "$@"; do mv -f "${tmp}/${p##*/}" "${bindir}/${p##*/}"; done
  rm -rf "${tmp}"
  cp "${mod}/go.mod" "${bindir}/.go.mod"
  echo "${key}" > "${bindir}/.build-key"
  swc_go_build_log "${module}@${version}: built in $((SECONDS - t0)) s -> ${bindir}"
}

# swc_go_check BINARY PACKAGE MODULE VERSION: the binary is PACKAGE, built from MODULE at
# VERSION with CGO_ENABLED=0 (go version -m); says which of these is not so.
swc_go_check() {
  local info
  info="$(go version -m "$1")" || { swc_go_build_log "ERROR: $1 is not a Go binary"; return 1; }
  grep -qxF $'\tpath\t'"$2" <<<"${info}" || { swc_go_build_log "ERROR: $1 is not built from $2"; return 1; }
  grep -qE $'^\tmod\t'"$3"$'\t'"$4"$'(\t|$)' <<<"${info}" || { swc_go_build_log "ERROR: $1 is not built from $3 $4"; return 1; }
  grep -qxF $'\tbuild\tCGO_ENABLED=0' <<<"${info}" || { swc_go_build_log "ERROR: $1 is not static (CGO_ENABLED=0)"; return 1; }
}
