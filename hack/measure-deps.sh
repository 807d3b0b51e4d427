#!/usr/bin/env bash
# What the dependency cache alone saves: buildah's RUN --mount=type=cache directories, kept on
# the cache PVC under the sub-path buildah-cache beside container storage (see README, profiles).
#
# The reference workload (images/sample-app) installs its npm packages with
#   RUN --mount=type=cache,id=npm,target=/root/.npm npm ci --prefer-offline
# after `ARG NPM_CI_REV`. Two Builds share one cache PVC and differ only in that build arg:
#   1. Build deps-1 (NPM_CI_REV=1): cold (cache emptied first), then warm.
#   2. Build deps-2 (NPM_CI_REV=2): its first run misses the layer cache from `npm ci` on (a new
#      arg value), but finds the base image and every npm tarball on the PVC; then an uncached
#      baseline run (the strategy's emptyDirs) where nothing is found.
# Printed: the build-step seconds of the three kinds of run, and the records/reports in --out-dir.
#
# Usage: hack/measure-deps.sh [--cluster offline|kind|current] [--out-dir DIR] [--namespace NS]
# Exit code: 0 when measured, 2 on set-up errors, else the failing command's.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER=offline
NS=swc-deps
OUT_DIR="${REPO_ROOT}/deps-report"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

cli() { node --import tsx "${REPO_ROOT}/scripts/cli.ts" "$@"; }

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --cluster) CLUSTER="$2"; shift 2 ;;
      --out-dir) OUT_DIR="$2"; shift 2 ;;
      --namespace) NS="$2"; shift 2 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; exit 2 ;;
    esac
  done
  cd "${REPO_ROOT}"
  # shellcheck source=hack/lib/setup.sh
  source hack/lib/setup.sh
  DEMO_STRATEGY=buildah-strategy-managed-push
  cluster_up
  install_platform
  runner_image
  workload
  "${KUBECTL}" create namespace "${NS}" --dry-run=client -o yaml | "${KUBECTL}" apply -f - >&2
  mkdir -p "${OUT_DIR}"

  local pvc="deps-cache-$(date +%Y%m%d-%H%M%S)" params=() p rev
  for p in ${BUILD_PARAMS}; do params+=(--param "${p}"); done
  stage "cache PVC ${NS}/${pvc}, cache-ready strategy, Builds deps-1 and deps-2 (NPM_CI_REV=1, 2)"
  cli cache-pvc -q -n "${NS}" --name "${pvc}" --size 4Gi
  cli patch-strategy -q -n "${NS}" -s "${STRATEGY}" --storage-driver "${STORAGE_DRIVER}"
  for rev in 1 2; do
    cli create-build -q -n "${NS}" -s "${STRATEGY}" -b "deps-${rev}" --pvc "${pvc}" \
      --source-url "${SOURCE_URL}" ${SOURCE_REVISION:+--source-revision "${SOURCE_REVISION}"} \
      ${CONTEXT_DIR:+--context-dir "${CONTEXT_DIR}"} --output-image "${OUTPUT_IMAGE}" \
      $([[ "${OUTPUT_INSECURE}" == true ]] && echo --output-insecure) \
      "${params[@]}" --param "build-args=NPM_CI_REV=${rev}"
  done

  stage "deps-1: cold (cache emptied), then warm"
  cli run -n "${NS}" -b deps-1 --runs 2 --cold --reset-image "${RESET_IMAGE}" --force --record "${OUT_DIR}/deps-1.json"
  stage "deps-2: layers from npm ci on miss, npm cache and base image on the PVC; then an uncached baseline"
  cli run -n "${NS}" -b deps-2 --runs 2 --baseline 1 --reset-image "${RESET_IMAGE}" --force --record "${OUT_DIR}/deps-2.json"
  for rev in 1 2; do cli report -q --record "${OUT_DIR}/deps-${rev}.json" >/dev/null; done

  stage "build step, seconds"
  node --input-type=module - "${OUT_DIR}" <<'JS'
import { readFileSync, writeFileSync } from 'node:fs';
const dir = process.argv[2];
const rec = (n) => JSON.parse(readFileSync(`${dir}/deps-${n}.json`, 'utf8'));
const build = (r, kind, i = 0) => r.runs.filter((x) => x.kind === kind && x.outcome === 'Succeeded')[i]?.phases?.build;
const d1 = rec(1), d2 = rec(2);
const rows = [
  ['nothing cached (deps-1 cold: cache emptied)', build(d1, 'cold')],
  ['nothing cached (deps-2 baseline: emptyDir)', build(d2, 'baseline')],
  ['npm cache + base image on the PVC, layers miss from npm ci (deps-2 first run)', build(d2, 'cold')],
  ['everything cached (deps-1 warm)', build(d1, 'warm')],
];
const lines = rows.map(([what, s]) => `| ${what} | ${s ?? 'n/a'} |`);
const text = ['| run | build step (s) |', '| --- | --- |', ...lines].join('\n');
console.log(text);
writeFileSync(`${dir}/deps-summary.md`, text + '\n');
JS
  note "records and reports in ${OUT_DIR}; total $(( $(date +%s) - T0 ))s"
}

main "$@"
