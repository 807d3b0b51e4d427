# shellcheck shell=bash
# Shared helpers for images/build.sh, images/load.sh and images/test-images.sh.
# Sourced, never run. Everything here is cheap (no network, no buildah) so that a
# warm `build.sh` stays well under a second.

SWC_IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SWC_CACHE_DIR="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
SWC_IMAGE_CACHE="${SWC_CACHE_DIR}/images"
# Registry prefix baked into every image reference (the cluster's registry on the bridge).
SWC_IMAGE_REGISTRY="${SWC_IMAGE_REGISTRY:-10.88.0.1:5000}"
SWC_IMAGE_REPO_PREFIX="${SWC_IMAGE_REPO_PREFIX:-offline}"

swc_log() { echo "[images] $*" >&2; }
swc_die() { echo "[images] ERROR: $*" >&2; exit 1; }

# swc_image_names: every image definition (a directory with image.conf), sorted.
swc_image_names() {
  local d
  for d in "${SWC_IMAGES_DIR}"/*/; do
    [[ -f "${d}image.conf" ]] && basename "${d}"
  done
}

swc_image_exists() { [[ -f "${SWC_IMAGES_DIR}/$1/image.conf" ]]; }

# swc_image_conf NAME VAR: prints one variable of images/NAME/image.conf (arrays joined by newlines).
swc_image_conf() {
  (
    # shellcheck disable=SC1090
    source "${SWC_IMAGES_DIR}/$1/image.conf"
    declare -n _v="$2" 2>/dev/null || exit 0
    if [[ "$(declare -p "$2" 2>/dev/null)" == "declare -a"* ]]; then
      printf '%s\n' "${_v[@]}"
    else
      printf '%s\n' "${_v-}"
    fi
  )
}

# swc_image_packages NAME: the packages list of images/NAME (comments and blanks dropped).
swc_image_packages() {
  local f="${SWC_IMAGES_DIR}/$1/packages"
  [[ -f "${f}" ]] || return 0
  sed -e 's/#.*//' -e 's/[[:space:]]\+/\n/g' "${f}" | sed '/^$/d'
}

# swc_image_hash NAME: sha256 over the image's definition files (README* excluded), the
# build logic (build.sh, lib.sh) and, recursively, the definition of its FROM image.
# Memoized in SWC_HASH; swc_hash_images fills it in the calling shell (not a subshell).
declare -gA SWC_HASH=()
swc_image_hash() {
  local name="$1" from
  if [[ -n "${SWC_HASH[${name}]:-}" ]]; then echo "${SWC_HASH[${name}]}"; return; fi
  from="$(swc_image_conf "${name}" IMAGE_FROM)"
  {
    echo "image ${name}"
    (cd "${SWC_IMAGES_DIR}" && find "${name}" -type f ! -name 'README*' -print0 | LC_ALL=C sort -z \
      | xargs -0 -r sha256sum)
    (cd "${SWC_IMAGES_DIR}" && sha256sum build.sh lib.sh)
    swc_image_inputs "${name}"
    case "${from}" in
      scratch|debootstrap|"") echo "from ${from}" ;;
      *) echo "from ${from} $(swc_image_hash "${from}")" ;;
    esac
  } | sha256sum | cut -c1-64
}

# swc_image_inputs NAME: "SHA256  PATH" for every file matched by images/NAME/inputs, an
# optional list of paths and globs (** allowed) relative to the repository root, one per line,
# '#' comments: the sources outside images/ that the image's build fragment copies or compiles.
# A pattern that matches nothing prints "missing PATTERN". Nothing when there is no such file.
swc_image_inputs() {
  local list="${SWC_IMAGES_DIR}/$1/inputs"
  [[ -f "${list}" ]] || return 0
  (
    cd "${SWC_IMAGES_DIR}/.." || exit 1
    shopt -s globstar nullglob
    local pat f
    local -a matched files=()
    while IFS= read -r pat || [[ -n "${pat}" ]]; do
      pat="${pat%%#*}"; pat="${pat//[[:space:]]/}"
      [[ -n "${pat}" ]] || continue
      # shellcheck disable=SC2206 # the glob is meant to expand here
      matched=(${pat})
      [[ ${#matched[@]} -gt 0 ]] || echo "missing ${pat}"
      for f in "${matched[@]}"; do if [[ -f "${f}" ]]; then files+=("${f}"); fi; done
    done < "${list}"
    if [[ ${#files[@]} -gt 0 ]]; then printf '%s\0' "${files[@]}" | LC_ALL=C sort -zu | xargs -0 sha256sum; fi
  )
}

# swc_hash_images NAME...: memoizes the hashes of NAME... and their FROM images.
swc_hash_images() {
  local name from
  for name in "$@"; do
    [[ -z "${SWC_HASH[${name}]:-}" ]] || continue
    swc_image_exists "${name}" || continue
    from="$(swc_image_conf "${name}" IMAGE_FROM)"
    case "${from}" in scratch|debootstrap|"") ;; *) swc_hash_images "${from}" ;; esac
    SWC_HASH[${name}]="$(swc_image_hash "${name}")"
  done
}

swc_image_tag() { swc_image_hash "$1" | cut -c1-12; }
swc_image_ref() { echo "${SWC_IMAGE_REGISTRY}/${SWC_IMAGE_REPO_PREFIX}/$1:$(swc_image_tag "$1")"; }
swc_image_archive() { echo "${SWC_IMAGE_CACHE}/$1-$(swc_image_tag "$1").tar"; }

# swc_archive_digest ARCHIVE: the manifest digest recorded in an OCI archive's index.json.
swc_archive_digest() {
  tar -xOf "$1" index.json | sed -n 's/.*"digest":"\(sha256:[0-9a-f]\{64\}\)".*/\1/p' | head -1
}

# swc_apt_sources: "URI SUITE" per deb entry of the machine's apt sources (deb822 and one-line).
swc_apt_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "${f}" ]] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no") {
          n = split(uris, u, " "); m = split(suites, s, " ")
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
        }
        types = ""; uris = ""; suites = ""; enabled = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
        if (key == "types") types = $0; else if (key == "uris") uris = $0
        else if (key == "suites") suites = $0; else if (key == "enabled") enabled = tolower($0) }
      END { flush() }' "${f}"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "${f}" ]] || continue
    sed -e 's/#.*//' "${f}" | awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i+1) }'
  done
}

# swc_apt_mirror: the Debian mirror URI (SWC_APT_MIRROR overrides): first non-security entry.
swc_apt_mirror() {
  if [[ -n "${SWC_APT_MIRROR:-}" ]]; then echo "${SWC_APT_MIRROR%/}"; return; fi
  local m
  m="$(swc_apt_sources | awk '$2 !~ /-security$/ { print $1; exit }')"
  [[ -n "${m}" ]] || swc_die "no Debian mirror in /etc/apt/sources.list{,.d/*} (set SWC_APT_MIRROR)"
  echo "${m%/}"
}

# swc_apt_security_mirror: the security mirror URI, empty when the machine has none.
swc_apt_security_mirror() {
  if [[ -n "${SWC_APT_SECURITY_MIRROR+x}" ]]; then echo "${SWC_APT_SECURITY_MIRROR%/}"; return; fi
  local m
  m="$(swc_apt_sources | awk '$2 ~ /-security$/ { print $1; exit }')"
  echo "${m%/}"
}

# swc_need CMD PACKAGE: installs PACKAGE from Debian when CMD is missing.
swc_need() {
  local cmd="$1" pkg="$2"
  command -v "${cmd}" >/dev/null 2>&1 && return 0
  [[ ${EUID} -eq 0 ]] || swc_die "${cmd} missing: apt-get install ${pkg} (needs root)"
  swc_log "installing ${pkg} (for ${cmd})"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkg}" >/dev/null; then
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkg}" >/dev/null
  fi
  command -v "${cmd}" >/dev/null 2>&1 || swc_die "${pkg} installed but ${cmd} is still missing"
}

# swc_buildah ARGS...: buildah on a private storage (SWC_BUILDAH_ROOT / SWC_BUILDAH_RUNROOT).
swc_buildah() {
  buildah --root "${SWC_BUILDAH_ROOT:?}" --runroot "${SWC_BUILDAH_RUNROOT:?}" \
    --storage-driver "${SWC_BUILDAH_DRIVER:-overlay}" "$@"
}
