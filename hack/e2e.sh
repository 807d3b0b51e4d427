#!/usr/bin/env bash
# The end-to-end suite: the same set-up as the main job (hack/demo.sh), then the uvu tests in
# tests/e2e against the real cluster. Prints a closing "N passed, N failed" line.
#
# Usage: hack/e2e.sh [--cluster offline|kind|current] [--namespace NS]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER=offline
NS="swc-e2e-$(date +%H%M%S)"

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --cluster) CLUSTER="$2"; shift 2 ;;
      --namespace) NS="$2"; shift 2 ;;
      *) sed -n '2,6p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
    esac
  done
  cd "${REPO_ROOT}"
  # shellcheck source=hack/lib/setup.sh
  source hack/lib/setup.sh
  prepare
  local registry_url="http://localhost:${REGISTRY_PORT:-5001}"
  # Where the Tasks can be fetched by the git resolver: the local git server offline, else this repository.
  local tasks_url="${SWC_DEMO_SOURCE_URL:-}" tasks_rev="${SWC_DEMO_SOURCE_REVISION:-$(git rev-parse HEAD)}"
  if [[ "${CLUSTER}" == offline ]]; then
    registry_url="http://${OUTPUT_IMAGE%%/*}"
    e2e/install/git-server.sh add-repo shipwright-cache "${REPO_ROOT}" >&2
    tasks_url="$(e2e/install/git-server.sh url shipwright-cache)"
    tasks_rev="$(git rev-parse HEAD)"
  fi
  export E2E_TASKS_GIT_URL="${tasks_url}" E2E_TASKS_GIT_REVISION="${tasks_rev}"
  # The Tasks and the Pipeline as a Tekton Bundle in the cluster's registry.
  local bundle_dir registry_host="${OUTPUT_IMAGE%%/*}"
  [[ "${CLUSTER}" == offline ]] || registry_host="localhost:${REGISTRY_PORT:-5001}"
  bundle_dir="$(mktemp -d)"
  node hack/bundle.mjs "${bundle_dir}" e2e tasks/shipwright-cache-*/shipwright-cache-*.yaml tasks/pipeline/shipwright-cache-pipeline.yaml >/dev/null
  skopeo copy --quiet --dest-tls-verify=false "oci:${bundle_dir}:e2e" "docker://${registry_host}/shipwright-cache/bundle:e2e"
  rm -rf "${bundle_dir}"
  export E2E_BUNDLE="${OUTPUT_IMAGE%%/*}/shipwright-cache/bundle:e2e"
  export KUBECTL KUBECONFIG RUNNER_IMAGE RESET_IMAGE STRATEGY SOURCE_URL OUTPUT_IMAGE BUILD_PARAMS
  export SOURCE_REVISION="${SOURCE_REVISION:-}" CONTEXT_DIR="${CONTEXT_DIR:-}" E2E_NAMESPACE="${NS}" E2E_REGISTRY_URL="${registry_url}"
  stage "tests/e2e in namespace ${NS}"
  local out rc=0
  out="$(mktemp)"
  npx uvu -r tsx tests/e2e 2>&1 | tee "${out}" || rc=$?
  local total passed
  total=$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "${out}" | tail -1)
  passed=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "${out}" | tail -1)
  rm -f "${out}"
  note "total $(( $(date +%s) - T0 ))s"
  if [[ -z "${total}" ]]; then echo "0 passed, 1 failed"; exit 1; fi
  echo "${passed} passed, $(( total - passed + (rc != 0 && total == passed ? 1 : 0) )) failed"
  [[ ${rc} -eq 0 ]]
}

main "$@"
