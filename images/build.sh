#!/usr/bin/env bash
# Builds the offline cluster's container images from Debian packages, without a registry
# and without RUN steps: rootfs by debootstrap / `chroot apt-get`, then buildah
# (from scratch or from debian-base, mount, copy, config, commit) into an OCI archive.
#
# Usage: images/build.sh [--force] [--print] [NAME...]     (default: every images/*/image.conf)
#   --force   rebuild the named images even when their archive is cached
#   --print   build nothing; print what the references and archives are (archive "-" if absent)
#
# Output, one line per named image on stdout:  NAME<TAB>REFERENCE<TAB>ARCHIVE
#   REFERENCE = 10.88.0.1:5000/offline/NAME:TAG, TAG = first 12 hex of the content hash
#   ARCHIVE   = ${SWC_CACHE_DIR:-~/.cache/shipwright-cache}/images/NAME-TAG.tar
# The content hash covers images/NAME/* (README excluded), build.sh, lib.sh and the FROM
# image's hash, so a changed definition rebuilds and an unchanged one is a cache hit.
# The debootstrap rootfs is cached too: images/base/debian-SUITE-VARIANT-KEY.tar, KEY over
# suite + variant + mirror + package list. The mirror comes from the machine's apt sources.
#
# Environment: SWC_CACHE_DIR, SWC_APT_MIRROR / SWC_APT_SECURITY_MIRROR (override the apt
# sources), SWC_BUILDAH_DRIVER (overlay | vfs; default overlay), SWC_IMAGE_REGISTRY,
# SOURCE_DATE_EPOCH (image timestamp; default 2023-06-10, so rebuilds of the same input, e.g.
# pause, shell, debian-base from the same base tarball, give the same digest).
set -euo pipefail

# shellcheck source=images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Image "created" time and the mtime of every file in the layer a commit adds (buildah
# commit --timestamp; lower layers are reused as they are): fixed, so an unchanged input gives
# the same digest. 2023-06-10, the bookworm release. SOURCE_DATE_EPOCH overrides it.
SWC_IMAGE_EPOCH=1686355200
# Bump when the debootstrap recipe below changes in a way the cache key does not see.
SWC_BASE_RECIPE=2

WORK=""
FORCE=0
PRINT_ONLY=0
CHROOT_MOUNTS=()
CHROOT_ROOT=""

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

# ---------------------------------------------------------------------------------------
# chroot helpers: proc, a tmpfs /dev with the usual nodes, the host's resolv.conf/hosts
# bind-mounted over the (existing) files, a policy-rc.d. Mounts leave nothing in the layer.

# guard_root DIR: refuses anything but a rootfs below the cache's work dir (never the host's /).
guard_root() {
  [[ -n "$1" && "$1" != / && -n "${WORK}" && ( "$1" == "${WORK}"/* || "$1" == "${SWC_BUILDAH_ROOT:-${WORK}}"/* ) \
     && -d "$1/usr" ]] || swc_die "refusing to work on rootfs '$1'"
}

chroot_setup() {
  local root="$1" f
  guard_root "${root}"
  CHROOT_ROOT="${root}"
  mkdir -p "${root}/proc" "${root}/dev"
  mount -t proc swc-proc "${root}/proc"; CHROOT_MOUNTS+=("${root}/proc")
  mount -t tmpfs -o mode=0755,size=16m swc-dev "${root}/dev"; CHROOT_MOUNTS+=("${root}/dev")
  mknod -m 0666 "${root}/dev/null" c 1 3
  mknod -m 0666 "${root}/dev/zero" c 1 5
  mknod -m 0666 "${root}/dev/full" c 1 7
  mknod -m 0666 "${root}/dev/random" c 1 8
  mknod -m 0666 "${root}/dev/urandom" c 1 9
  mknod -m 0666 "${root}/dev/tty" c 5 0
  ln -s /proc/self/fd "${root}/dev/fd"
  mkdir -m 1777 "${root}/dev/shm"
  for f in resolv.conf hosts; do
    if [[ -f "${root}/etc/${f}" && ! -L "${root}/etc/${f}" ]]; then
      mount --bind "/etc/${f}" "${root}/etc/${f}"; CHROOT_MOUNTS+=("${root}/etc/${f}")
    fi
  done
  printf '#!/bin/sh\nexit 101\n' > "${root}/usr/sbin/policy-rc.d"
  chmod 0755 "${root}/usr/sbin/policy-rc.d"
}

chroot_teardown() {
  local i
  for ((i = ${#CHROOT_MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${CHROOT_MOUNTS[i]}" 2>/dev/null || umount -l "${CHROOT_MOUNTS[i]}" || true
  done
  CHROOT_MOUNTS=()
  if [[ -n "${CHROOT_ROOT}" ]]; then rm -f "${CHROOT_ROOT}/usr/sbin/policy-rc.d"; fi
  CHROOT_ROOT=""
}

# in_chroot CMD...: runs CMD inside the chroot set up by chroot_setup (for build fragments).
in_chroot() {
  chroot "${CHROOT_ROOT:?in_chroot needs a chroot}" /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

apt_in_chroot() {
  in_chroot apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    -o APT::Install-Recommends=false "$@"
}

# rootfs_clean ROOT: what no image should carry (apt lists and caches, logs, temp files).
rootfs_clean() {
  local r="$1"
  guard_root "${r}"
  rm -rf "${r}"/var/lib/apt/lists/* "${r}"/var/cache/apt/*.bin "${r}"/var/cache/apt/archives/*.deb \
    "${r}"/var/cache/apt/archives/partial/* "${r}"/var/log/apt/* "${r}"/var/log/dpkg.log \
    "${r}"/var/log/alternatives.log "${r}"/var/log/bootstrap.log "${r}"/var/cache/debconf/*-old \
    "${r}"/var/lib/dpkg/*-old "${r}"/var/cache/ldconfig/aux-cache
  find "${r}/tmp" "${r}/var/tmp" -mindepth 1 -delete 2>/dev/null || true
}

# sources_list SUITE: deb lines for SUITE, SUITE-updates and (when the machine has one) SUITE-security.
sources_list() {
  local suite="$1" mirror sec
  mirror="$(swc_apt_mirror)"; sec="$(swc_apt_security_mirror)"
  echo "deb ${mirror} ${suite} main"
  echo "deb ${mirror} ${suite}-updates main"
  if [[ -n "${sec}" ]]; then echo "deb ${sec} ${suite}-security main"; fi
}

# ---------------------------------------------------------------------------------------
# The shared debootstrap rootfs, cached as a tarball.

# slim_rootfs ROOT: like Debian's -slim images, dpkg skips docs (but copyrights), man and info
# pages and translations from now on (so also in every image FROM debian-base), and the ones
# debootstrap already unpacked are removed.
slim_rootfs() {
  local r="$1"
  guard_root "${r}"
  mkdir -p "${r}/etc/dpkg/dpkg.cfg.d"
  cat > "${r}/etc/dpkg/dpkg.cfg.d/shipwright-cache-slim" <<'SLIM'
# shipwright-cache images: keep images small (as Debian's -slim images do)
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
SLIM
  find "${r}/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "${r}/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "${r}"/usr/share/man/* "${r}"/usr/share/info/* "${r}"/usr/share/groff/* \
    "${r}"/usr/share/lintian/* "${r}"/usr/share/linda/*
  find "${r}/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
}

base_key() {
  local suite variant
  suite="$(swc_image_conf debian-base DEBOOTSTRAP_SUITE)"
  variant="$(swc_image_conf debian-base DEBOOTSTRAP_VARIANT)"
  {
    echo "recipe ${SWC_BASE_RECIPE}"
    echo "suite ${suite}"; echo "variant ${variant}"
    echo "mirror $(swc_apt_mirror)"; echo "security $(swc_apt_security_mirror)"
    echo "packages $(swc_image_packages debian-base | LC_ALL=C sort -u | tr '\n' ' ')"
  } | sha256sum | cut -c1-12
}

base_tarball_path() {
  echo "${SWC_IMAGE_CACHE}/base/debian-$(swc_image_conf debian-base DEBOOTSTRAP_SUITE)-$(swc_image_conf debian-base DEBOOTSTRAP_VARIANT)-$(base_key).tar"
}

# ensure_base_tarball: sets BASE_TARBALL, building it first when it is not cached.
ensure_base_tarball() {
  local tarball suite variant mirror include root start
  tarball="$(base_tarball_path)"
  BASE_TARBALL="${tarball}"
  if [[ -f "${tarball}" ]]; then return; fi
  swc_need debootstrap debootstrap
  suite="$(swc_image_conf debian-base DEBOOTSTRAP_SUITE)"
  variant="$(swc_image_conf debian-base DEBOOTSTRAP_VARIANT)"
  mirror="$(swc_apt_mirror)"
  include="$(swc_image_packages debian-base | paste -sd, -)"
  root="${WORK}/base-rootfs"
  start=${SECONDS}
  swc_log "debootstrap --variant=${variant} ${suite} from ${mirror}${include:+ (+${include})}"
  mkdir -p "${root}" "${SWC_IMAGE_CACHE}/base"
  if ! debootstrap --variant="${variant}" ${include:+--include="${include}"} \
      "${suite}" "${root}" "${mirror}" >"${WORK}/debootstrap.log" 2>&1; then
    tail -n 30 "${WORK}/debootstrap.log" >&2
    swc_die "debootstrap failed (log above)"
  fi
  sources_list "${suite}" > "${root}/etc/apt/sources.list"
  slim_rootfs "${root}"
  chroot_setup "${root}"
  { apt_in_chroot update && apt_in_chroot dist-upgrade && apt_in_chroot clean; } >"${WORK}/base-apt.log" 2>&1 \
    || { tail -n 40 "${WORK}/base-apt.log" >&2; swc_die "apt-get in the base rootfs failed"; }
  chroot_teardown
  rootfs_clean "${root}"
  # debootstrap copied the host's files; the runtime bind-mounts its own over them.
  : > "${root}/etc/resolv.conf"
  echo localhost > "${root}/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "${root}/etc/hosts"
  chmod 0644 "${root}/etc/resolv.conf" "${root}/etc/hostname" "${root}/etc/hosts"
  tar -C "${root}" --numeric-owner --xattrs --xattrs-include='*' \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "${tarball}.tmp" .
  mv "${tarball}.tmp" "${tarball}"
  rm -rf --one-file-system "${root}"
  swc_log "base rootfs $(du -h "${tarball}" | cut -f1) in $((SECONDS - start))s: ${tarball}"
}

# ---------------------------------------------------------------------------------------
# Debian packages for FROM scratch images: downloaded with a private apt state (the
# machine's mirror, the debian-base suite) and extracted with dpkg-deb into PKGROOT.

fetch_packages() {
  local name="$1" pkgroot="$2" aptdir suite deb
  local -a pkgs apt
  mapfile -t pkgs < <(swc_image_packages "${name}")
  mkdir -p "${pkgroot}"
  [[ ${#pkgs[@]} -gt 0 ]] || return 0
  aptdir="${WORK}/apt-${name}"
  suite="$(swc_image_conf debian-base DEBOOTSTRAP_SUITE)"
  mkdir -p "${aptdir}/lists/partial" "${aptdir}/cache/archives/partial" "${aptdir}/debs"
  : > "${aptdir}/status"
  sources_list "${suite}" | sed 's|^deb |deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] |' \
    > "${aptdir}/sources.list"
  apt=(apt-get -q -o Dir::Etc::SourceList="${aptdir}/sources.list" -o Dir::Etc::SourceParts=/nonexistent
       -o Dir::State::Lists="${aptdir}/lists" -o Dir::State::status="${aptdir}/status"
       -o Dir::Cache="${aptdir}/cache" -o APT::Sandbox::User=root)
  "${apt[@]}" update >"${aptdir}/update.log" 2>&1 || { cat "${aptdir}/update.log" >&2; swc_die "apt-get update failed"; }
  (cd "${aptdir}/debs" && "${apt[@]}" download "${pkgs[@]}" >"${aptdir}/download.log" 2>&1) \
    || { cat "${aptdir}/download.log" >&2; swc_die "apt-get download ${pkgs[*]} failed"; }
  for deb in "${aptdir}"/debs/*.deb; do
    swc_log "  + $(basename "${deb}")"
    dpkg-deb -x "${deb}" "${pkgroot}"
  done
}

# ---------------------------------------------------------------------------------------

# copy_files NAME ROOT: images/NAME/files/ into ROOT, owned by root, existing dirs untouched.
copy_files() {
  local src="${SWC_IMAGES_DIR}/$1/files"
  [[ -d "${src}" ]] || return 0
  tar -C "${src}" --owner=0 --group=0 --numeric-owner -cf - . | tar -C "$2" --no-overwrite-dir -xf -
}

# run_fragment NAME ROOT PKGROOT: images/NAME/build, sourced in a subshell.
run_fragment() {
  local frag="${SWC_IMAGES_DIR}/$1/build"
  [[ -f "${frag}" ]] || return 0
  (
    export ROOTFS="$2" PKGROOT="$3" IMAGE_DIR="${SWC_IMAGES_DIR}/$1"
    set -euo pipefail
    # shellcheck disable=SC1090
    source "${frag}"
  ) >&2
}

build_image() {
  local name="$1" from ref archive c mnt start from_archive pkgroot v desc
  local -a cfg
  start=${SECONDS}
  from="$(swc_image_conf "${name}" IMAGE_FROM)"
  ref="$(swc_image_ref "${name}")"
  archive="$(swc_image_archive "${name}")"
  pkgroot="${WORK}/pkgroot-${name}"
  swc_log "building ${name} (${from}) -> ${ref}"

  case "${from}" in
    debootstrap)
      ensure_base_tarball
      c="$(swc_buildah from --name "swc-${name}-$$" scratch)"
      mnt="$(swc_buildah mount "${c}")"
      tar -C "${mnt}" --numeric-owner --xattrs --xattrs-include='*' -xpf "${BASE_TARBALL}"
      copy_files "${name}" "${mnt}"
      run_fragment "${name}" "${mnt}" "${pkgroot}"
      ;;
    scratch)
      fetch_packages "${name}" "${pkgroot}"
      c="$(swc_buildah from --name "swc-${name}-$$" scratch)"
      mnt="$(swc_buildah mount "${c}")"
      copy_files "${name}" "${mnt}"
      run_fragment "${name}" "${mnt}" "${pkgroot}"
      ;;
    *)
      swc_image_exists "${from}" || swc_die "${name}: IMAGE_FROM=${from} is no image here"
      from_archive="$(swc_image_archive "${from}")"
      [[ -f "${from_archive}" ]] || swc_die "${name}: ${from_archive} missing"
      c="$(swc_buildah from --quiet --name "swc-${name}-$$" "oci-archive:${from_archive}")"
      mnt="$(swc_buildah mount "${c}")"
      local -a pkgs
      mapfile -t pkgs < <(swc_image_packages "${name}")
      chroot_setup "${mnt}"
      if [[ ${#pkgs[@]} -gt 0 ]]; then
        apt_in_chroot update >"${WORK}/apt-${name}.log" 2>&1 || { cat "${WORK}/apt-${name}.log" >&2; swc_die "apt-get update failed"; }
        apt_in_chroot install "${pkgs[@]}" >>"${WORK}/apt-${name}.log" 2>&1 \
          || { tail -n 40 "${WORK}/apt-${name}.log" >&2; swc_die "apt-get install ${pkgs[*]} failed"; }
        apt_in_chroot clean
      fi
      copy_files "${name}" "${mnt}"
      run_fragment "${name}" "${mnt}" "${pkgroot}"
      chroot_teardown
      rootfs_clean "${mnt}"
      ;;
  esac

  cfg=(--created-by "images/build.sh ${name}" --os linux --arch "$(dpkg --print-architecture 2>/dev/null || echo amd64)"
       --label "org.opencontainers.image.title=${name}"
       --label "io.shipwright-cache.content-hash=$(swc_image_hash "${name}")")
  desc="$(head -n1 "${SWC_IMAGES_DIR}/${name}/README" 2>/dev/null || true)"
  [[ -z "${desc}" ]] || cfg+=(--label "org.opencontainers.image.description=${desc}")
  while IFS= read -r v; do [[ -z "${v}" ]] || cfg+=(--env "${v}"); done < <(swc_image_conf "${name}" IMAGE_ENV)
  v="$(swc_image_conf "${name}" IMAGE_ENTRYPOINT)"; [[ -z "${v}" ]] || cfg+=(--entrypoint "${v}")
  v="$(swc_image_conf "${name}" IMAGE_CMD)"; [[ -z "${v}" ]] || cfg+=(--cmd "${v}")
  v="$(swc_image_conf "${name}" IMAGE_USER)"; [[ -z "${v}" ]] || cfg+=(--user "${v}")
  v="$(swc_image_conf "${name}" IMAGE_WORKDIR)"; [[ -z "${v}" ]] || cfg+=(--workingdir "${v}")
  swc_buildah config "${cfg[@]}" "${c}"
  swc_buildah umount "${c}" >/dev/null

  rm -f "${archive}.tmp"
  swc_buildah commit --quiet --format oci --timestamp "${SOURCE_DATE_EPOCH:-${SWC_IMAGE_EPOCH}}" --rm "${c}" "oci-archive:${archive}.tmp:${ref}" >/dev/null
  mv "${archive}.tmp" "${archive}"
  rm -rf --one-file-system "${pkgroot}"
  prune_old "${name}"
  swc_log "built ${name} in $((SECONDS - start))s: $(du -h "${archive}" | cut -f1) ${archive}"
}

# prune_old NAME: keeps the newest 3 archives of NAME (older definitions) and 2 base tarballs.
prune_old() {
  local f
  while IFS= read -r f; do rm -f "${f}"; done < <(
    find "${SWC_IMAGE_CACHE}" -maxdepth 1 -name "$1-????????????.tar" -printf '%T@ %p\n' | sort -rn | tail -n +4 | cut -d' ' -f2-
    find "${SWC_IMAGE_CACHE}/base" -maxdepth 1 -name 'debian-*.tar' -printf '%T@ %p\n' 2>/dev/null | sort -rn | tail -n +3 | cut -d' ' -f2-)
}

cleanup() {
  local rc=$? m
  chroot_teardown
  if [[ -n "${WORK}" && -d "${WORK}" ]]; then
    swc_buildah rm --all >/dev/null 2>&1 || true
    swc_buildah rmi --all --force >/dev/null 2>&1 || true
    # Anything still mounted under WORK (never expected) is detached before the rm.
    while IFS= read -r m; do umount -l "${m}" 2>/dev/null || true; done \
      < <(awk -v w="${WORK}" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r)
    rm -rf --one-file-system "${WORK}"
  fi
  exit "${rc}"
}

# add_with_deps NAME: appends NAME's FROM chain, then NAME, to ORDER (once each).
add_with_deps() {
  local name="$1" from
  swc_image_exists "${name}" || swc_die "no image definition images/${name}/image.conf"
  from="$(swc_image_conf "${name}" IMAGE_FROM)"
  case "${from}" in scratch|debootstrap) ;; *) add_with_deps "${from}" ;; esac
  [[ " ${ORDER[*]} " == *" ${name} "* ]] || ORDER+=("${name}")
}

print_line() {
  local a
  a="$(swc_image_archive "$1")"
  if [[ ! -f "${a}" ]]; then a="-"; fi
  printf '%s\t%s\t%s\n' "$1" "$(swc_image_ref "$1")" "${a}"
}

main() {
  local -a names=()
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --force) FORCE=1 ;;
      --print) PRINT_ONLY=1 ;;
      -h|--help) usage; return 0 ;;
      -*) swc_die "unknown option $1 (see --help)" ;;
      *) names+=("$1") ;;
    esac
    shift
  done
  if [[ ${#names[@]} -eq 0 ]]; then mapfile -t names < <(swc_image_names); fi

  ORDER=()
  local n todo=()
  for n in "${names[@]}"; do add_with_deps "${n}"; done
  swc_hash_images "${ORDER[@]}"
  if [[ ${PRINT_ONLY} -eq 1 ]]; then
    for n in "${names[@]}"; do print_line "${n}"; done
    return 0
  fi

  # needs_build NAME: archive missing, or forced (the named images only).
  needs_build() {
    [[ ! -f "$(swc_image_archive "$1")" ]] && return 0
    [[ ${FORCE} -eq 1 && " ${names[*]} " == *" $1 "* ]]
  }
  for n in "${ORDER[@]}"; do if needs_build "${n}"; then todo+=("${n}"); fi; done

  if [[ ${#todo[@]} -gt 0 ]]; then
    [[ ${EUID} -eq 0 ]] || swc_die "building needs root (chroot, mounts)"
    swc_need buildah buildah
    mkdir -p "${SWC_IMAGE_CACHE}/.work"
    exec 9>"${SWC_IMAGE_CACHE}/.lock"
    flock 9
    WORK="$(mktemp -d "${SWC_IMAGE_CACHE}/.work/run.XXXXXX")"
    export SWC_BUILDAH_ROOT="${WORK}/storage" SWC_BUILDAH_RUNROOT="${WORK}/run"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    local built_now=" "
    for n in "${ORDER[@]}"; do
      # Re-checked under the lock: a concurrent run may have built it meanwhile.
      if needs_build "${n}" && [[ "${built_now}" != *" ${n} "* ]]; then
        build_image "${n}"; built_now+="${n} "
      fi
    done
  fi
  for n in "${names[@]}"; do print_line "${n}"; done
}

main "$@"
