#!/usr/bin/env bash
# The main job: on a real cluster, show that a PVC cache makes the second and later
# Shipwright builds faster than the first, and fail when it does not.
#
#   1. a cluster: the offline single-node cluster (default), kind, or the current context
#   2. Tekton and Shipwright, installed when missing, webhooks waited for
#   3. the runner image built from this checkout, the reference workload published
#   4. the Tasks, the Pipeline and their RBAC applied (through the real admission webhooks)
#   5. the Pipeline run: cache PVC, cache-ready strategy, Build, measured BuildRuns, gate
#   6. the cold/warm table, the speedup and the verdict printed; record.json, report.md,
#      report.json and report.svg written to --out-dir
#
# Usage: hack/demo.sh [--cluster offline|kind|current] [--strategy NAME] [--runs N]
#                     [--baseline N] [--min-speedup X] [--out-dir DIR] [--namespace NS]
# --strategy: the build strategy measured (default buildah-strategy-managed-push; the list is
# DEMO_STRATEGIES in hack/lib/setup.sh, each with its workload).
# Exit code: 0 when the gate passes, 1 when it fails, 2 on set-up errors.
# kind needs docker, kind, kubectl and internet, and SWC_DEMO_SOURCE_URL (a git URL of this
# repository the cluster can clone); see e2e/kind/.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER=offline
NS=swc-demo
RUNS=3
BASELINE=1
MIN_SPEEDUP=""
OUT_DIR="${REPO_ROOT}/demo-report"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --cluster) CLUSTER="$2"; shift 2 ;;
      --strategy) DEMO_STRATEGY="$2"; shift 2 ;;
      --runs) RUNS="$2"; shift 2 ;;
      --baseline) BASELINE="$2"; shift 2 ;;
      --min-speedup) MIN_SPEEDUP="$2"; shift 2 ;;
      --out-dir) OUT_DIR="$2"; shift 2 ;;
      --namespace) NS="$2"; shift 2 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; exit 2 ;;
    esac
  done
  cd "${REPO_ROOT}"
  # shellcheck source=hack/lib/setup.sh
  source hack/lib/setup.sh
  if [[ -z "${MIN_SPEEDUP}" ]]; then
    MIN_SPEEDUP=$(node --import tsx -e "import('./scripts/lib/gate.ts').then(m => console.log(m.DEFAULT_MIN_SPEEDUP))")
  fi

  prepare
  local run="demo-$(date +%Y%m%d-%H%M%S)"
  run_pipeline "${run}" "${RUNS}" true "${BASELINE}" "${MIN_SPEEDUP}" "demo-cache-${run#demo-}"
  stage "results"
  pipeline_results "${run}" | sed 's/^/    /' >&2
  fetch_reports "${run}" "${OUT_DIR}" || true
  local code=1
  if [[ -s "${OUT_DIR}/record.json" ]]; then
    # The same table and verdict the Task printed, from the record the Task wrote.
    node --import tsx scripts/cli.ts report --quiet --record "${OUT_DIR}/record.json" --out-dir "${OUT_DIR}" --min-speedup "${MIN_SPEEDUP}" || true
    node --import tsx scripts/cli.ts gate --quiet --record "${OUT_DIR}/record.json" --min-speedup "${MIN_SPEEDUP}" && code=0 || code=$?
  else
    echo "no record was written; see: ${KUBECTL} get pipelinerun,taskrun,buildrun -n ${NS}" >&2
  fi
  note "total $(( $(date +%s) - T0 ))s; PipelineRun ${NS}/${run} ${PIPELINE_STATUS}"
  exit "${code}"
}

main "$@"
