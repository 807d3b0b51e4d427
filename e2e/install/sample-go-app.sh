#!/usr/bin/env bash
# The Go workload of the ko strategy measurement (images/sample-go-app): its source on the local
# git server, for e2e/install/strategies/ko.yaml (ClusterBuildStrategy ko). A sibling of
# sample-app.sh (the demo's Node.js workload), which it leaves alone.
#
# Usage: e2e/install/sample-go-app.sh publish|print
#   publish  idempotent; needs the full cluster's bridge (e2e/cluster/up.sh --mode full):
#            e2e/install/git-server.sh start + add-repo sample-go-app: a snapshot of
#            images/sample-go-app as branch main (the same content gives the same commit).
#            Nothing else is needed: the app uses the standard library only (the strategy runs
#            with GOPROXY=off) and the strategy names its base image (KO_DEFAULTBASEIMAGE, the
#            local ko-app image, which install.sh loads).
#            Prints (stdout, shell-sourceable) what a Build needs:
#              SOURCE_URL=…  SOURCE_REVISION=main  SOURCE_COMMIT=…  OUTPUT_IMAGE=…
#              INSECURE_REGISTRY=…
#            and, on stderr, the CLI commands that build and measure it with a cache.
#   print    the same lines, without publishing anything (the commit is the one published last)
# Environment: SWC_CLUSTER_DIR (default /var/lib/shipwright-cache/node; its cluster.env names the
#   registry), SWC_GIT_ADDR, SWC_GIT_DIR (see git-server.sh).
set -euo pipefail

INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${INSTALL_DIR}/../.." && pwd)"
APP_DIR="${REPO_ROOT}/images/sample-go-app"
CLUSTER_DIR="${SWC_CLUSTER_DIR:-/var/lib/shipwright-cache/node}"
REPO_NAME=sample-go-app
REGISTRY=10.88.0.1:5000
if [[ -s "${CLUSTER_DIR}/cluster.env" ]]; then
  r="$(sed -n 's/^REGISTRY_ADDR=//p' "${CLUSTER_DIR}/cluster.env")"
  [[ -z "${r}" ]] || REGISTRY="${r}"
fi
OUTPUT_IMAGE="${REGISTRY}/demo/sample-go-app"
WORK=""

log() { printf '[sample-go-app] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
cleanup() { local rc=$?; [[ -z "${WORK}" ]] || rm -rf "${WORK}"; exit "${rc}"; }

print_lines() {
  local url="$1" commit="$2"
  cat <<EOF2
SOURCE_URL=${url}
SOURCE_REVISION=main
SOURCE_COMMIT=${commit}
OUTPUT_IMAGE=${OUTPUT_IMAGE}
INSECURE_REGISTRY=${REGISTRY}
EOF2
  cat >&2 <<EOF2
[sample-go-app] Build and measure it with a cache (namespace swc-ko; one cold run, two warm, one baseline):
  cli="node --import tsx scripts/cli.ts"
  \$cli cache-pvc -n swc-ko --name ko-cache --size 2Gi
  \$cli patch-strategy -n swc-ko --strategy ko
  \$cli create-build -n swc-ko --strategy ko --build sample-go-app --pvc ko-cache \\
    --source-url ${url} --source-revision main --output-image ${OUTPUT_IMAGE} --output-insecure
  \$cli run -n swc-ko --build sample-go-app --runs 3 --cold --baseline 1 --record ko/record.json \\
    --reset-image \$(images/build.sh --print shell | cut -f2)
  \$cli report --record ko/record.json && \$cli gate --record ko/record.json
EOF2
}

cmd_publish() {
  local url commit
  [[ -f "${APP_DIR}/go.mod" ]] || die "no ${APP_DIR}/go.mod"
  "${INSTALL_DIR}/git-server.sh" start
  WORK="$(mktemp -d /tmp/swc-sample-go-app.XXXXXX)"
  mkdir -p "${WORK}/src"
  tar -C "${APP_DIR}" --exclude=./.git -cf - . | tar -C "${WORK}/src" -xf -
  IFS=$'\t' read -r url commit < <("${INSTALL_DIR}/git-server.sh" add-repo "${REPO_NAME}" "${WORK}/src")
  [[ -n "${commit}" ]] || die "git-server.sh add-repo printed no commit"
  log "source ${url} @ ${commit}"
  print_lines "${url}" "${commit}"
}

cmd_print() {
  local url commit bare
  url="$("${INSTALL_DIR}/git-server.sh" url "${REPO_NAME}")"
  bare="${SWC_GIT_DIR:-/var/lib/shipwright-cache/git}/www/${REPO_NAME}.git"
  commit="$(git -C "${bare}" rev-parse -q --verify refs/heads/main 2>/dev/null || echo "(not published)")"
  print_lines "${url}" "${commit}"
}

main() {
  local cmd="${1:-}"
  case "${cmd}" in
    publish|print) ;;
    -h|--help|help) usage; return 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  trap cleanup EXIT
  "cmd_${cmd}"
}

main "$@"
