# Sourced: installs npm dependencies when package-lock.json changed since the last install.
_swc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_swc_stamp="${_swc_root}/node_modules/.swc-lock-hash"
_swc_hash="$(sha256sum "${_swc_root}/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "${_swc_stamp}" || "$(cat "${_swc_stamp}")" != "${_swc_hash}" ]]; then
  echo "[ensure-deps] npm ci" >&2
  (cd "${_swc_root}" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "${_swc_hash}" > "${_swc_stamp}"
fi
