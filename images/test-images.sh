#!/usr/bin/env bash
# Tests images/: builds every image (cache hits when nothing changed), checks each OCI
# archive's reference and config and the key files of its rootfs (buildah from oci-archive +
# mount, on a throw-away storage), the cache keys, then a registry smoke (Debian
# docker-registry on 127.0.0.1:<free port>, load.sh push twice, pull back by digest) and,
# where containerd is installed, a containerd smoke (private containerd, load.sh import twice).
# Every daemon started here binds to loopback or a unix socket in a temp dir, and is stopped
# by its PID.
#
# Usage: images/test-images.sh            Closing line: "N passed, N failed, N skipped"
set -euo pipefail

# shellcheck source=images/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PASSED=0
FAILED=0
SKIPPED=0
TMP=""
REG_PID=""
CTRD_PID=""
declare -A ARCHIVE REF

ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
nok() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "skip - $*"; }
# check DESC CMD...: one assertion.
check() { local d="$1"; shift; if "$@" >/dev/null 2>&1; then ok "${d}"; else nok "${d}"; fi; }

stop_pid() {
  local pid="$1"
  [[ -n "${pid}" ]] || return 0
  kill "${pid}" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
  kill -9 "${pid}" 2>/dev/null || true
  wait "${pid}" 2>/dev/null || true
}

cleanup() {
  local rc=$? m
  stop_pid "${REG_PID}"; REG_PID=""
  stop_pid "${CTRD_PID}"; CTRD_PID=""
  if [[ -n "${TMP}" && -d "${TMP}" ]]; then
    swc_buildah rm --all >/dev/null 2>&1 || true
    swc_buildah rmi --all --force >/dev/null 2>&1 || true
    while IFS= read -r m; do umount -l "${m}" 2>/dev/null || true; done \
      < <(awk -v w="${TMP}" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r)
    rm -rf --one-file-system "${TMP}"
  fi
  exit "${rc}"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
    || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# on_top_of_base NAME: NAME's layers are debian-base's one layer plus one.
on_top_of_base() {
  local base mine
  base="$(skopeo inspect "oci-archive:${ARCHIVE[debian-base]}" | jq -c '.Layers')"
  mine="$(skopeo inspect "oci-archive:${ARCHIVE[$1]}" | jq -c '.Layers')"
  [[ "$(jq -c '.[0:1]' <<<"${mine}")" == "${base}" && "$(jq 'length' <<<"${mine}")" == 2 ]]
}

# layer_list NAME INDEX: the file list of layer INDEX of NAME's archive.
layer_list() {
  local a="${ARCHIVE[$1]}" manifest layer
  manifest="$(swc_archive_digest "${a}")"
  layer="$(tar -xOf "${a}" "blobs/sha256/${manifest#sha256:}" | jq -r ".layers[$2].digest")"
  tar -xOf "${a}" "blobs/sha256/${layer#sha256:}" | tar -tf -
}

base_dev_empty() { ! layer_list debian-base 0 | grep -q '^\(\./\)\?dev/.'; }

config_of() { skopeo inspect --config "oci-archive:${ARCHIVE[$1]}"; }
# jq_true NAME FILTER: FILTER over NAME's image config is true.
jq_true() { config_of "$1" | jq -e "$2"; }

test_build() {
  echo "== build (images/build.sh)"
  local out name ref archive start ms
  out="$("${SWC_IMAGES_DIR}/build.sh")" || { nok "build.sh exits 0"; return 1; }
  ok "build.sh exits 0"
  while IFS=$'\t' read -r name ref archive; do
    ARCHIVE[${name}]="${archive}"; REF[${name}]="${ref}"
    echo "   ${name}  ${ref}  ${archive} ($(du -h "${archive}" | cut -f1))"
  done <<<"${out}"
  for name in $(swc_image_names); do
    if [[ -n "${ARCHIVE[${name}]:-}" && -f "${ARCHIVE[${name}]}" ]]; then
      ok "${name}: archive ${ARCHIVE[${name}]##*/}"
    else
      nok "${name}: archive exists"
    fi
  done
  # A warm build.sh rebuilds nothing: every archive keeps its mtime. (Its time is printed, not
  # asserted: a timed check fails on a loaded machine for no fault.)
  local before after
  before=$("${SWC_IMAGES_DIR}/build.sh" --print | cut -f3 | xargs stat -c '%n %Y' 2>/dev/null)
  start=$(date +%s%N)
  "${SWC_IMAGES_DIR}/build.sh" >/dev/null
  ms=$((($(date +%s%N) - start) / 1000000))
  after=$("${SWC_IMAGES_DIR}/build.sh" --print | cut -f3 | xargs stat -c '%n %Y' 2>/dev/null)
  if [[ -n "${before}" && "${before}" == "${after}" ]]; then ok "warm build.sh rebuilt nothing (${ms} ms)"; else nok "warm build.sh rebuilt an image (${ms} ms)"; fi
}

test_refs_and_configs() {
  echo "== references and image configs"
  local name ann
  for name in $(swc_image_names); do
    [[ -f "${ARCHIVE[${name}]:-}" ]] || continue
    ann="$(tar -xOf "${ARCHIVE[${name}]}" index.json | jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]')"
    check "${name}: reference ${REF[${name}]} matches 10.88.0.1:5000/offline/${name}:<12 hex>" \
      grep -Eqx "10\.88\.0\.1:5000/offline/${name}:[0-9a-f]{12}" <<<"${REF[${name}]}"
    check "${name}: archive is named after its reference" test "${ann}" = "${REF[${name}]}"
    check "${name}: content-hash label matches the tag" \
      jq_true "${name}" ".config.Labels[\"io.shipwright-cache.content-hash\"] | startswith(\"${REF[${name}]##*:}\")"
  done
  check "pause: entrypoint [\"/pause\",\"-P\"]" jq_true pause '.config.Entrypoint == ["/pause","-P"]'
  check "pause: user 65535:65535" jq_true pause '.config.User == "65535:65535"'
  check "shell: cmd [\"/bin/sh\"]" jq_true shell '.config.Cmd == ["/bin/sh"]'
  check "buildah: env BUILDAH_ISOLATION=chroot" jq_true buildah '.config.Env | index("BUILDAH_ISOLATION=chroot") != null'
  check "debian-base: cmd [\"/bin/bash\"] and a PATH" jq_true debian-base \
    '(.config.Cmd == ["/bin/bash"]) and (.config.Env | map(startswith("PATH=")) | any)'
  check "git: one layer on top of debian-base's (shared)" on_top_of_base git
  check "buildah: one layer on top of debian-base's (shared)" on_top_of_base buildah
}

# mount_image NAME: mounts NAME's archive on the throw-away storage, prints the mount point.
mount_image() {
  local c m
  c="$(swc_buildah from --quiet --name "swc-test-$1${2:+-$2}-$$" "oci-archive:${ARCHIVE[$1]}")"
  m="$(swc_buildah mount "${c}")"
  # Images carry an empty /dev (the runtime provides one); git and others want /dev/null.
  if [[ -d "${m}/dev" ]]; then
    touch "${m}/dev/null"
    mount --bind /dev/null "${m}/dev/null"
  fi
  echo "${m}"
}

test_rootfs() {
  echo "== rootfs contents (buildah from oci-archive + mount)"
  local m name pid
  declare -A MNT
  for name in $(swc_image_names); do MNT[${name}]="$(mount_image "${name}")"; done

  m="${MNT[pause]}"
  check "pause: /pause is an executable" test -x "${m}/pause"
  check "pause: /pause is the only file" test "$(find "${m}" -mindepth 1 | wc -l)" -eq 1
  # Runs it as 65535 (the image's user) in pause mode; it must stay up and exit on SIGTERM.
  setpriv --reuid 65535 --regid 65535 --clear-groups "${m}/pause" -P & pid=$!
  sleep 0.3
  if kill -0 "${pid}" 2>/dev/null; then ok "pause: /pause -P keeps running as uid 65535"; else nok "pause: /pause -P keeps running"; fi
  kill -TERM "${pid}" 2>/dev/null || true
  if wait "${pid}"; then ok "pause: exits 0 on SIGTERM"; else nok "pause: exits 0 on SIGTERM (rc $?)"; fi

  m="${MNT[shell]}"
  check "shell: /bin/sh, wget, sleep, base64 link to busybox" bash -c "
    for a in bin/sh usr/bin/wget bin/sleep bin/base64; do [[ \$(readlink ${m}/\$a) == /bin/busybox ]] || exit 1; done"
  # shellcheck disable=SC2016 # expanded by the image's sh
  check "shell: chroot /bin/sh -c runs" test "$(chroot "${m}" /bin/sh -c 'echo $((6*7)) | cat')" = 42
  check "shell: /etc/passwd has root and 65532" bash -c "grep -q '^root:x:0:0' ${m}/etc/passwd && grep -q ':65532:65532:' ${m}/etc/passwd"
  check "shell: /tmp is 1777" test "$(stat -c %a "${m}/tmp")" = 1777

  m="${MNT[debian-base]}"
  check "debian-base: bash, apt-get, dpkg" test -x "${m}/bin/bash" -a -x "${m}/usr/bin/apt-get" -a -x "${m}/usr/bin/dpkg"
  check "debian-base: Debian 12" grep -q '^12\.' "${m}/etc/debian_version"
  check "debian-base: no apt lists, no .debs, no docs" bash -c "
    [[ -z \$(find ${m}/var/lib/apt/lists ${m}/var/cache/apt/archives -type f -name '*_*' 2>/dev/null) ]] &&
    [[ -z \$(find ${m}/usr/share/doc -type f ! -name copyright) ]]"
  check "debian-base: the layer's /dev is empty" base_dev_empty
  check "debian-base: resolv.conf is empty" test ! -s "${m}/etc/resolv.conf"
  check "debian-base: sources.list carries no host name but the machine's mirror" \
    grep -qF "deb $(swc_apt_mirror) bookworm main" "${m}/etc/apt/sources.list"

  m="${MNT[buildah]}"
  check "buildah: buildah, netavark, fuse-overlayfs, newuidmap" \
    test -x "${m}/usr/bin/buildah" -a -x "${m}/usr/lib/podman/netavark" -a -x "${m}/usr/bin/fuse-overlayfs" -a -x "${m}/usr/bin/newuidmap"
  check "buildah: ca-certificates bundle" test -s "${m}/etc/ssl/certs/ca-certificates.crt"
  check "buildah: storage.conf driver overlay" grep -qx 'driver = "overlay"' "${m}/etc/containers/storage.conf"
  check "buildah: registries.conf 10.88.0.1:5000 insecure" bash -c "
    grep -qx 'location = \"10.88.0.1:5000\"' ${m}/etc/containers/registries.conf &&
    grep -qx 'insecure = true' ${m}/etc/containers/registries.conf"
  check "buildah: no short-name aliases to public registries" test ! -e "${m}/etc/containers/registries.conf.d/shortnames.conf"
  check "buildah: /etc/containers/networks, /var/tmp exist" test -d "${m}/etc/containers/networks" -a -d "${m}/var/tmp"
  check "buildah: chroot buildah --version is 1.28" bash -c "chroot ${m} /usr/bin/buildah --version | grep -q '^buildah version 1\.28'"

  m="${MNT[git]}"
  check "git: git, git-lfs, ssh" test -x "${m}/usr/bin/git" -a -x "${m}/usr/bin/git-lfs" -a -x "${m}/usr/bin/ssh"
  check "git: chroot git --version; git lfs version" bash -c "chroot ${m} /usr/bin/git --version && chroot ${m} /usr/bin/git lfs version"
  check "git: lfs filter in /etc/gitconfig" grep -q 'filter "lfs"' "${m}/etc/gitconfig"
  check "git: users 1000 and 65532, /shared-home 1777" bash -c "
    grep -q ':1000:1000:' ${m}/etc/passwd && grep -q ':65532:65532:' ${m}/etc/passwd &&
    [[ \$(stat -c %a ${m}/shared-home) == 1777 ]]"
}

# A Containerfile built by the buildah image itself, as the Shipwright step would: chroot into
# its rootfs (proc, a tmpfs /dev), /var/lib/containers on a directory of the host's disk (the
# PVC stands in), FROM the debian-base archive, one RUN, `bud --layers`; twice (warm = cache).
test_buildah_bud() {
  echo "== buildah image builds a Containerfile (bud --layers, chroot isolation, overlay)"
  local m n a b out t0 t1 t2
  m="$(mount_image buildah bud)"
  [[ -n "${m}" && "${m}" == "${TMP}"/* && -x "${m}/usr/bin/buildah" ]] || { nok "buildah image mounted"; return; }
  umount "${m}/dev/null"
  mount -t proc swc-test-proc "${m}/proc"
  mount -t tmpfs -o mode=0755,size=16m swc-test-dev "${m}/dev"
  for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r n a b <<<"${n}"; mknod -m 0666 "${m}/dev/${n}" c "${a}" "${b}"
  done
  mkdir -p "${TMP}/pvc" "${m}/ctx"
  mount --bind "${TMP}/pvc" "${m}/var/lib/containers"
  cp "${ARCHIVE[debian-base]}" "${m}/ctx/base.tar"
  printf '%s\n' 'FROM oci-archive:/ctx/base.tar' \
    'RUN echo built > /built && sha256sum /usr/bin/* > /sums && cat /etc/debian_version' > "${m}/ctx/Containerfile"
  bud() {
    chroot "${m}" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root BUILDAH_ISOLATION=chroot \
      buildah bud --layers -t localhost/swc-test:1 -f /ctx/Containerfile /ctx
  }
  t0=$(date +%s%N)
  if out="$(bud 2>&1)"; then ok "cold bud with a RUN step ($((($(date +%s%N) - t0) / 1000000)) ms)"; else nok "cold bud"; tail -n 15 <<<"${out}"; return; fi
  t1=$(date +%s%N)
  if out="$(bud 2>&1)" && grep -q 'Using cache' <<<"${out}"; then
    t2=$(date +%s%N); ok "warm bud reuses the RUN layer ($(((t2 - t1) / 1000000)) ms)"
  else
    nok "warm bud reuses the RUN layer"; tail -n 15 <<<"${out}"
  fi
  check "the storage driver is overlay" bash -c "chroot '${m}' buildah info | grep -q '\"GraphDriverName\": \"overlay\"'"
  chroot "${m}" buildah rmi --all --force >/dev/null 2>&1 || true
}

test_cache_keys() {
  echo "== cache keys (on a copy of images/)"
  local copy="${TMP}/defs" before after
  mkdir -p "${copy}"
  cp -a "${SWC_IMAGES_DIR}/." "${copy}/"
  tags() { bash -c "source '${copy}/lib.sh'; for n in shell debian-base buildah git pause; do swc_image_tag \$n; done" | tr '\n' ' '; }
  before="$(tags)"
  check "the copy hashes like the original" test "${before}" = "$(bash -c "source '${SWC_IMAGES_DIR}/lib.sh'; for n in shell debian-base buildah git pause; do swc_image_tag \$n; done" | tr '\n' ' ')"
  echo "edited" >> "${copy}/shell/README"
  check "a README edit keeps every tag" test "$(tags)" = "${before}"
  echo "# edited" >> "${copy}/shell/packages"
  after="$(tags)"
  check "a shell/packages edit changes shell's tag only" bash -c "
    a=(${before}); b=(${after}); [[ \${a[0]} != \${b[0]} && \${a[*]:1} == \"\${b[*]:1}\" ]]"
  before="${after}"
  echo "# edited" >> "${copy}/debian-base/image.conf"
  after="$(tags)"
  check "a debian-base edit changes debian-base, buildah and git, not shell or pause" bash -c "
    a=(${before}); b=(${after}); [[ \${a[0]} == \${b[0]} && \${a[4]} == \${b[4]} &&
      \${a[1]} != \${b[1]} && \${a[2]} != \${b[2]} && \${a[3]} != \${b[3]} ]]"
}

test_registry() {
  echo "== registry smoke (docker-registry on loopback, load.sh, pull by digest)"
  swc_need docker-registry docker-registry
  local port dir out digest pulled
  port="$(free_port)"
  dir="${TMP}/registry"
  mkdir -p "${dir}/data"
  cat > "${dir}/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: ${dir}/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:${port}}
EOF
  docker-registry serve "${dir}/config.yml" >"${dir}/log" 2>&1 & REG_PID=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:${port}/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  if ! curl -fsS "http://127.0.0.1:${port}/v2/" >/dev/null 2>&1; then
    nok "docker-registry answers on 127.0.0.1:${port}"; cat "${dir}/log"; return
  fi
  ok "docker-registry (pid ${REG_PID}) answers on 127.0.0.1:${port}"

  out="$("${SWC_IMAGES_DIR}/load.sh" --registry "127.0.0.1:${port}" shell pause)" || true
  printf '   %s\n' "${out//$'\n'/$'\n'   }"
  check "load.sh pushed shell and pause" bash -c "[[ \$(grep -c 'registry=pushed' <<<'${out}') -eq 2 ]]"
  out="$("${SWC_IMAGES_DIR}/load.sh" --registry "127.0.0.1:${port}" shell pause)" || true
  check "load.sh again: both already present (skipped)" bash -c "[[ \$(grep -c 'registry=present' <<<'${out}') -eq 2 ]]"

  digest="$(swc_archive_digest "${ARCHIVE[shell]}")"
  rm -rf "${dir}/pulled"
  if skopeo copy --quiet --src-tls-verify=false \
      "docker://127.0.0.1:${port}/offline/shell@${digest}" "dir:${dir}/pulled" >/dev/null 2>&1; then
    pulled="sha256:$(sha256sum "${dir}/pulled/manifest.json" | cut -d' ' -f1)"
    check "pulled shell back by digest ${digest:0:19}…, manifest digest matches" test "${pulled}" = "${digest}"
    check "pulled layer equals the archive's layer" bash -c "
      l=\$(jq -r '.layers[0].digest' ${dir}/pulled/manifest.json); [[ -f ${dir}/pulled/\${l#sha256:} ]] &&
      [[ sha256:\$(sha256sum ${dir}/pulled/\${l#sha256:} | cut -d' ' -f1) == \$l ]]"
  else
    nok "pull shell back by digest"
  fi
  stop_pid "${REG_PID}"
  if kill -0 "${REG_PID}" 2>/dev/null; then nok "registry stopped"; else ok "registry (pid ${REG_PID}) stopped"; fi
  REG_PID=""
}

test_containerd() {
  echo "== containerd smoke (private containerd on a unix socket, load.sh import)"
  if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
    skip "containerd/ctr not installed (Debian package containerd)"; return
  fi
  local dir="${TMP}/containerd" sock out ref
  sock="${dir}/containerd.sock"
  mkdir -p "${dir}"
  cat > "${dir}/config.toml" <<EOF
version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
EOF
  containerd --config "${dir}/config.toml" >"${dir}/log" 2>&1 & CTRD_PID=$!
  for _ in $(seq 100); do ctr -a "${sock}" version >/dev/null 2>&1 && break; sleep 0.1; done
  if ! ctr -a "${sock}" version >/dev/null 2>&1; then nok "containerd answers on ${sock}"; tail -20 "${dir}/log"; return; fi
  ok "containerd (pid ${CTRD_PID}) answers on its private socket"
  out="$("${SWC_IMAGES_DIR}/load.sh" --containerd-namespace k8s.io --containerd-address "${sock}" pause shell)" || true
  printf '   %s\n' "${out//$'\n'/$'\n'   }"
  check "load.sh imported pause and shell" bash -c "[[ \$(grep -c 'containerd=imported' <<<'${out}') -eq 2 ]]"
  out="$("${SWC_IMAGES_DIR}/load.sh" --containerd-namespace k8s.io --containerd-address "${sock}" pause shell)" || true
  check "load.sh again: both already present (skipped)" bash -c "[[ \$(grep -c 'containerd=present' <<<'${out}') -eq 2 ]]"
  ref="${REF[pause]}"
  check "ctr lists ${ref} with the archive's digest" bash -c "
    ctr -a ${sock} -n k8s.io images ls 'name==${ref}' | grep -q '$(swc_archive_digest "${ARCHIVE[pause]}")'"
  check "pause is unpacked (overlayfs snapshot)" bash -c "
    ctr -a ${sock} -n k8s.io images check 'name==${ref}' | grep -q 'complete'"
  stop_pid "${CTRD_PID}"
  if kill -0 "${CTRD_PID}" 2>/dev/null; then nok "containerd stopped"; else ok "containerd (pid ${CTRD_PID}) stopped"; fi
  CTRD_PID=""
}

main() {
  [[ ${EUID} -eq 0 ]] || swc_die "run as root (buildah mount, chroot)"
  swc_need jq jq
  swc_need skopeo skopeo
  swc_need buildah buildah
  swc_need curl curl
  TMP="$(mktemp -d /tmp/swc-image-test.XXXXXX)"
  export SWC_BUILDAH_ROOT="${TMP}/storage" SWC_BUILDAH_RUNROOT="${TMP}/run"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  if test_build; then
    test_refs_and_configs
    test_rootfs
    test_buildah_bud
    test_cache_keys
    test_registry
    test_containerd
  fi
  echo "${PASSED} passed, ${FAILED} failed, ${SKIPPED} skipped"
  [[ ${FAILED} -eq 0 ]]
}

main "$@"
