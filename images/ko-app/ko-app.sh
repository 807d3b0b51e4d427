# shellcheck shell=bash
# Sourced by the build fragment of every image that carries one Go binary at /ko-app/NAME
# (images/tekton-*, images/shipwright-*), with ROOTFS and IMAGE_DIR set by images/build.sh.
# image.conf of such an image sets:
#   KO_APP_NAME      the binary's name under /ko-app
#   KO_APP_BINARY    its path below ${SWC_CACHE_DIR}/bin, e.g. tekton-v1.12.2/controller
#   KO_APP_PACKAGE   the main package, e.g. github.com/tektoncd/pipeline/cmd/controller
#   KO_APP_MODULE    module and version the binary must be built from, e.g.
#                    "github.com/tektoncd/pipeline v1.12.2"
# The tag of the image is keyed by these (version-keyed, like the binary cache); the binary
# is built by e2e/install/build-controllers.sh when it is missing.

ko_app_install() {
  # shellcheck disable=SC1091
  source "${IMAGE_DIR}/image.conf"
  local cache="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
  local bin="${cache}/bin/${KO_APP_BINARY:?}" builder project info
  builder="$(cd "${IMAGE_DIR}/../.." && pwd)/e2e/install/build-controllers.sh"
  if [[ ! -x "${bin}" ]]; then
    project="${KO_APP_BINARY%%-v*}"   # tekton | shipwright
    echo "[images] ${KO_APP_NAME}: ${bin} missing; running ${builder} ${project}" >&2
    [[ -x "${builder}" ]] || { echo "[images] ERROR: ${builder} missing" >&2; return 1; }
    "${builder}" "${project}" >/dev/null
  fi
  [[ -x "${bin}" ]] || { echo "[images] ERROR: no ${bin}" >&2; return 1; }
  if command -v go >/dev/null 2>&1; then
    info="$(go version -m "${bin}")"
    grep -qxF $'\tpath\t'"${KO_APP_PACKAGE:?}" <<<"${info}" \
      || { echo "[images] ERROR: ${bin} is not built from ${KO_APP_PACKAGE}" >&2; return 1; }
    grep -qE $'^\t(mod|dep)\t'"${KO_APP_MODULE%% *}"$'\t'"${KO_APP_MODULE##* }"$'(\t|$)' <<<"${info}" \
      || { echo "[images] ERROR: ${bin} is not built from ${KO_APP_MODULE}" >&2; return 1; }
    grep -qxF $'\tbuild\tCGO_ENABLED=0' <<<"${info}" \
      || { echo "[images] ERROR: ${bin} is not static (CGO_ENABLED=0)" >&2; return 1; }
  fi
  install -D -m 0755 "${bin}" "${ROOTFS}/ko-app/${KO_APP_NAME:?}"
}
