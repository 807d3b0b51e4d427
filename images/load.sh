#!/usr/bin/env bash
# Puts the cached image archives (images/build.sh; built first when missing) where the
# cluster pulls from: a registry and/or containerd. Idempotent: an image whose manifest
# digest is already there is skipped.
#
# Usage: images/load.sh [--registry HOST:PORT] [--containerd-namespace NS]
#                       [--containerd-address SOCKET] [NAME...]      (default: every image)
#   --registry HOST:PORT        push to docker://HOST:PORT/offline/NAME:TAG over plain HTTP
#                               (skopeo copy --preserve-digests: the digest stays the archive's)
#   --containerd-namespace NS   `ctr -n NS images import` (NS is k8s.io for the kubelet); the
#                               image keeps the archive's name 10.88.0.1:5000/offline/NAME:TAG
#   --containerd-address SOCK   containerd socket (default /run/containerd/containerd.sock)
# At least one of --registry / --containerd-namespace is needed.
# Output, one line per image: NAME REFERENCE DIGEST registry=pushed|present containerd=imported|present
set -euo pipefail

# shellcheck source=images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REGISTRY=""
CTR_NS=""
CTR_ADDRESS="/run/containerd/containerd.sock"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

# push_registry NAME TAG ARCHIVE DIGEST: prints pushed|present.
push_registry() {
  local name="$1" tag="$2" archive="$3" digest="$4" dest have
  dest="docker://${REGISTRY}/${SWC_IMAGE_REPO_PREFIX}/${name}:${tag}"
  have="$(skopeo inspect --raw --tls-verify=false "${dest}" 2>/dev/null | sha256sum | cut -d' ' -f1 || true)"
  if [[ "sha256:${have}" == "${digest}" ]]; then echo present; return; fi
  skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci-archive:${archive}" "${dest}" >&2
  have="$(skopeo inspect --raw --tls-verify=false "${dest}" | sha256sum | cut -d' ' -f1)"
  [[ "sha256:${have}" == "${digest}" ]] || swc_die "${dest}: registry has sha256:${have}, archive ${digest}"
  echo pushed
}

# ctr_digest REF: the target digest containerd has for REF (empty when absent).
ctr_digest() {
  ctr -a "${CTR_ADDRESS}" -n "${CTR_NS}" images ls "name==$1" 2>/dev/null | awk -v r="$1" '$1 == r { print $3 }'
}

# import_containerd REF ARCHIVE DIGEST: prints imported|present.
import_containerd() {
  local ref="$1" archive="$2" digest="$3"
  if [[ "$(ctr_digest "${ref}")" == "${digest}" ]]; then echo present; return; fi
  ctr -a "${CTR_ADDRESS}" -n "${CTR_NS}" images import "${archive}" >&2
  [[ "$(ctr_digest "${ref}")" == "${digest}" ]] \
    || swc_die "containerd (${CTR_NS}) has no ${ref}@${digest} after the import"
  echo imported
}

main() {
  local -a names=() lines=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --registry) REGISTRY="${2:?--registry needs HOST:PORT}"; shift ;;
      --registry=*) REGISTRY="${1#*=}" ;;
      --containerd-namespace) CTR_NS="${2:?--containerd-namespace needs a namespace}"; shift ;;
      --containerd-namespace=*) CTR_NS="${1#*=}" ;;
      --containerd-address) CTR_ADDRESS="${2:?--containerd-address needs a socket}"; shift ;;
      --containerd-address=*) CTR_ADDRESS="${1#*=}" ;;
      -h|--help) usage; return 0 ;;
      -*) swc_die "unknown option $1 (see --help)" ;;
      *) names+=("$1") ;;
    esac
    shift
  done
  [[ -n "${REGISTRY}" || -n "${CTR_NS}" ]] || { usage >&2; swc_die "give --registry and/or --containerd-namespace"; }
  if [[ ${#names[@]} -eq 0 ]]; then mapfile -t names < <(swc_image_names); fi
  if [[ -n "${REGISTRY}" ]]; then swc_need skopeo skopeo; fi
  if [[ -n "${CTR_NS}" ]]; then
    command -v ctr >/dev/null 2>&1 || swc_die "ctr missing (Debian package containerd)"
    [[ -S "${CTR_ADDRESS}" ]] || swc_die "no containerd socket at ${CTR_ADDRESS}"
  fi

  # Builds what is missing (a cache hit costs well under a second).
  mapfile -t lines < <("${SWC_IMAGES_DIR}/build.sh" "${names[@]}")
  [[ ${#lines[@]} -eq ${#names[@]} ]] || swc_die "build.sh did not report every image"

  local line name ref archive tag digest reg ctd
  for line in "${lines[@]}"; do
    IFS=$'\t' read -r name ref archive <<<"${line}"
    [[ -f "${archive}" ]] || swc_die "${name}: no archive (${archive})"
    tag="${ref##*:}"
    digest="$(swc_archive_digest "${archive}")"
    [[ -n "${digest}" ]] || swc_die "${archive}: no manifest digest in index.json"
    reg="-"; ctd="-"
    if [[ -n "${REGISTRY}" ]]; then reg="$(push_registry "${name}" "${tag}" "${archive}" "${digest}")"; fi
    if [[ -n "${CTR_NS}" ]]; then ctd="$(import_containerd "${ref}" "${archive}" "${digest}")"; fi
    printf '%s\t%s\t%s\tregistry=%s\tcontainerd=%s\n' "${name}" "${ref}" "${digest}" "${reg}" "${ctd}"
  done
}

main "$@"
