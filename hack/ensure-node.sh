# Sourced by hack/*.sh and .ci/run: puts a Node.js >= 22.19 on PATH.
# @kubernetes/client-node 2.x (undici 8) crashes on import under older Node.
# Where the machine's node is older, the `node` package from the npm registry
# brings a real binary, cached outside the repo so a rerun finds it.
SWC_CACHE_DIR="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
SWC_NODE_VERSION="${SWC_NODE_VERSION:-22.23.3}"

swc_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if ! swc_node_ok; then
  _swc_node_dir="${SWC_CACHE_DIR}/node/v${SWC_NODE_VERSION}"
  if [[ ! -x "${_swc_node_dir}/node_modules/.bin/node" ]]; then
    echo "[ensure-node] installing node@${SWC_NODE_VERSION} from the npm registry into ${_swc_node_dir}" >&2
    mkdir -p "${_swc_node_dir}"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "${_swc_node_dir}" "node@${SWC_NODE_VERSION}" >&2
  fi
  export PATH="${_swc_node_dir}/node_modules/.bin:${PATH}"
  swc_node_ok || { echo "[ensure-node] node ${SWC_NODE_VERSION} did not install; need Node >= 22.19" >&2; return 1; }
fi
