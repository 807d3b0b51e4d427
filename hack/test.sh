#!/usr/bin/env bash
# The project's test command: unit tests, then integration tests against a real
# kube-apiserver (control-plane mode of the offline cluster, started and
# stopped here). Does its own set-up: Node >= 22.19, npm dependencies, and the
# etcd/kube-apiserver binaries (built once from the Go module proxy into
# ~/.cache/shipwright-cache, reused after).
#
# Usage: hack/test.sh [unit|cluster|integration|all]   (default all)
#   cluster: bring-up, idempotent re-up and teardown of the control plane (e2e/cluster/test-cluster.sh)
# Closing line: "N passed, N failed" over every suite that ran.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
source hack/ensure-node.sh
source hack/ensure-deps.sh

PASSED=0
FAILED=0
SKIPPED=0
TEST_CLUSTER_DIR=""

# run_suite NAME DIR: runs uvu on DIR, adds its counts to the totals.
run_suite() {
  local name="$1" dir="$2" out rc=0 total passed skipped
  echo "== ${name} tests (${dir})"
  out="$(mktemp)"
  npx uvu -r tsx "${dir}" 2>&1 | tee "${out}" || rc=$?
  total=$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "${out}" | tail -1)
  passed=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "${out}" | tail -1)
  skipped=$(sed -n 's/^ *Skipped: *\([0-9]*\).*/\1/p' "${out}" | tail -1)
  rm -f "${out}"
  if [[ -z "${total}" ]]; then
    # The runner crashed before its summary (a suite failed to load): count it as one failure.
    echo "!! ${name}: the test runner printed no summary (exit ${rc})"
    FAILED=$((FAILED + 1)); return
  fi
  PASSED=$((PASSED + passed))
  SKIPPED=$((SKIPPED + ${skipped:-0}))
  FAILED=$((FAILED + total - passed - ${skipped:-0}))
  if [[ ${rc} -ne 0 && ${total} -eq $((passed + ${skipped:-0})) ]]; then FAILED=$((FAILED + 1)); fi
}

# run_shell_suite NAME CMD...: a bash test script whose last line is "N passed, N failed".
run_shell_suite() {
  local name="$1" out rc=0 line
  shift
  echo "== ${name} tests ($*)"
  out="$(mktemp)"
  "$@" 2>&1 | tee "${out}" || rc=$?
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "${out}" | tail -1)
  rm -f "${out}"
  if [[ -z "${line}" ]]; then
    echo "!! ${name}: no summary line (exit ${rc})"
    FAILED=$((FAILED + 1)); return
  fi
  PASSED=$((PASSED + $(echo "${line}" | cut -d' ' -f1)))
  FAILED=$((FAILED + $(echo "${line}" | cut -d' ' -f3)))
  if [[ ${rc} -ne 0 && $(echo "${line}" | cut -d' ' -f3) -eq 0 ]]; then FAILED=$((FAILED + 1)); fi
}

start_test_cluster() {
  TEST_CLUSTER_DIR="$(mktemp -d /tmp/swc-test-cluster.XXXXXX)"
  echo "== starting a test control plane in ${TEST_CLUSTER_DIR}"
  SWC_CLUSTER_DIR="${TEST_CLUSTER_DIR}" e2e/cluster/up.sh --mode control-plane --crds
  export KUBECONFIG="${TEST_CLUSTER_DIR}/kubeconfig"
  export SWC_TEST_CLUSTER=1
}

cleanup() {
  if [[ -n "${TEST_CLUSTER_DIR}" ]]; then
    SWC_CLUSTER_DIR="${TEST_CLUSTER_DIR}" e2e/cluster/down.sh --purge || true
    TEST_CLUSTER_DIR=""
  fi
}

main() {
  local what="${1:-all}"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  echo "== typecheck"
  if npx tsc -p tsconfig.test.json; then echo "typecheck ok"; else echo "!! typecheck failed"; FAILED=$((FAILED + 1)); fi
  if [[ "${what}" == unit || "${what}" == all ]]; then run_suite unit tests/unit; fi
  if [[ "${what}" == cluster || "${what}" == all ]]; then run_shell_suite cluster e2e/cluster/test-cluster.sh control-plane; fi
  if [[ "${what}" == integration || "${what}" == all ]]; then
    if start_test_cluster; then
      run_suite integration tests/integration
    else
      echo "!! the test control plane did not start (logs: ${TEST_CLUSTER_DIR}/logs)"
      FAILED=$((FAILED + 1))
    fi
  fi
  cleanup
  # The closing line, last on the output.
  echo "${PASSED} passed, ${FAILED} failed, ${SKIPPED} skipped"
  [[ ${FAILED} -eq 0 ]]
}

main "$@"
