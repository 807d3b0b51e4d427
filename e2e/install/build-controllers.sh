#!/usr/bin/env bash
# Builds the Tekton Pipelines and Shipwright Build binaries from the Go module proxy into a
# version-keyed cache outside the repository:
#   ${SWC_CACHE_DIR}/bin/tekton-v${TEKTON_VERSION}/      controller webhook entrypoint nop
#                                                        workingdirinit sidecarlogresults resolvers events
#   ${SWC_CACHE_DIR}/bin/shipwright-v${SHIPWRIGHT_VERSION}/  shipwright-build-controller
#                                                        shipwright-build-webhook git image-processing waiter bundle
# Static (CGO_ENABLED=0), -trimpath, -ldflags "-s -w". Each project is built in its own wrapper
# module under ${SWC_CACHE_DIR}/src/, so it resolves exactly its own go.mod (plus the replaces in
# e2e/install/versions.sh for module versions the proxy refuses). A rerun whose build key
# (Go version, module@version, replaces, flags, package list) is unchanged does nothing.
#
# Usage: e2e/install/build-controllers.sh [--force] [tekton|shipwright|all]   (default all)
# Output (stdout): NAME<TAB>PATH, one line per binary.
# Environment: TEKTON_VERSION, SHIPWRIGHT_VERSION, SWC_CACHE_DIR (see e2e/install/versions.sh).
set -euo pipefail

INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=e2e/install/versions.sh
source "${INSTALL_DIR}/versions.sh"

FORCE=0
log() { printf '[build-controllers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

# build_key MODULE VERSION REPLACES... -- CMDS...: what the binaries depend on besides sources
# (which the module version pins).
build_key() {
  {
    echo "recipe 1"
    go version
    echo "GOOS=$(go env GOOS) GOARCH=$(go env GOARCH) CGO_ENABLED=0 -trimpath -ldflags=${SWC_GO_LDFLAGS}"
    printf '%s\n' "$@"
  } | sha256sum | cut -c1-16
}

# prepare_module DIR MODULE VERSION REPLACES...: a wrapper module requiring MODULE@VERSION.
# Marked complete by .ready, so an interrupted `go get` is redone from scratch.
prepare_module() {
  local dir="$1" module="$2" version="$3" gomod r
  shift 3
  if [[ -f "${dir}/.ready" ]]; then return 0; fi
  rm -rf "${dir}"; mkdir -p "${dir}"
  (
    cd "${dir}"
    export GOFLAGS=-mod=mod
    go mod init "local.build/$(basename "${dir}")" >/dev/null 2>&1
    gomod="$(go mod download -json "${module}@${version}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    [[ -f "${gomod}" ]] || die "the Go module proxy did not serve ${module}@${version}"
    go mod edit -go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${gomod}")"
    for r in "$@"; do go mod edit -replace="${r}"; done
    go get "${module}@${version}" >/dev/null
  )
  touch "${dir}/.ready"
}

# build_project LABEL MODULE VERSION BINDIR REPLACES_ARRAY_NAME CMDS...
build_project() {
  local label="$1" module="$2" version="$3" bindir="$4"
  local -n replaces="$5"
  shift 5
  local -a cmds=("$@") pkgs=()
  local key c t0 missing=0 tmp mod
  key="$(build_key "${module}@${version}" "${replaces[@]/#/replace }" -- "${cmds[@]}")"
  for c in "${cmds[@]}"; do [[ -x "${bindir}/${c}" ]] || missing=1; done
  if [[ ${FORCE} -eq 0 && ${missing} -eq 0 && "$(cat "${bindir}/.build-key" 2>/dev/null)" == "${key}" ]]; then
    log "${label} ${version}: cached in ${bindir} (key ${key})"
    return 0
  fi
  t0=${SECONDS}
  mod="${SWC_CACHE_DIR}/src/${label}-${version}"
  log "${label} ${version}: wrapper module ${mod}"
  prepare_module "${mod}" "${module}" "${version}" "${replaces[@]}"
  for c in "${cmds[@]}"; do pkgs+=("${module}/cmd/${c}"); done
  log "${label} ${version}: go build ${cmds[*]} (cold on 2 cores: minutes)"
  mkdir -p "${bindir}"
  rm -rf "${bindir}"/.tmp.*   # left by an interrupted run (we hold the lock)
  tmp="$(mktemp -d "${bindir}/.tmp.XXXXXX")"
  (
    cd "${mod}"
    # -mod=mod lets the first build add the go.sum lines of packages `go get` did not need.
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "${SWC_GO_LDFLAGS}" -o "${tmp}/" "${pkgs[@]}"
  ) || die "${label} ${version}: go build failed (output above)"
  for c in "${cmds[@]}"; do
    [[ -x "${tmp}/${c}" ]] || die "${label}: go build produced no ${c}"
    mv -f "${tmp}/${c}" "${bindir}/${c}"
  done
  rm -rf "${tmp}"
  cp "${mod}/go.mod" "${bindir}/.go.mod"
  echo "${key}" > "${bindir}/.build-key"
  echo "$((SECONDS - t0))" > "${bindir}/.build-seconds"
  log "${label} ${version}: built in $((SECONDS - t0)) s -> ${bindir} ($(du -sh "${bindir}" | cut -f1))"
}

main() {
  local what=all
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --force) FORCE=1 ;;
      -h|--help) usage; return 0 ;;
      tekton|shipwright|all) what="$1" ;;
      *) usage >&2; die "unknown argument $1" ;;
    esac
    shift
  done
  command -v go >/dev/null || die "go is not installed"
  mkdir -p "${SWC_CACHE_DIR}/bin" "${SWC_CACHE_DIR}/src"
  exec 7>"${SWC_CACHE_DIR}/.build-controllers.lock"
  if ! flock -n 7; then log "waiting for another build-controllers.sh"; flock 7; fi

  local c
  if [[ "${what}" == tekton || "${what}" == all ]]; then
    build_project tekton github.com/tektoncd/pipeline "v${TEKTON_VERSION}" "${TEKTON_BIN_DIR}" \
      TEKTON_GO_REPLACES "${TEKTON_CMDS[@]}"
    for c in "${TEKTON_CMDS[@]}"; do printf '%s\t%s\n' "${c}" "${TEKTON_BIN_DIR}/${c}"; done
  fi
  if [[ "${what}" == shipwright || "${what}" == all ]]; then
    build_project shipwright github.com/shipwright-io/build "v${SHIPWRIGHT_VERSION}" "${SHIPWRIGHT_BIN_DIR}" \
      SHIPWRIGHT_GO_REPLACES "${SHIPWRIGHT_CMDS[@]}"
    for c in "${SHIPWRIGHT_CMDS[@]}"; do printf '%s\t%s\n' "${c}" "${SHIPWRIGHT_BIN_DIR}/${c}"; done
  fi
}

main "$@"
