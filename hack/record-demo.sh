#!/usr/bin/env bash
# Records a run of the main job (hack/demo.sh) as an asciicast v2 file that a person can replay
# (`asciinema play docs/demo.cast`, or any asciicast player), next to the report it produces.
# Uses util-linux `script` for the terminal session and its timing; converts that to asciicast.
#
# Usage: hack/record-demo.sh [OUT.cast] [-- demo.sh options]   (default docs/demo.cast)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK=""
cleanup() { [[ -n "${WORK}" ]] && rm -rf "${WORK}"; }

main() {
  local out="${REPO_ROOT}/docs/demo.cast"
  if [[ $# -gt 0 && "$1" != -- ]]; then out="$1"; shift; fi
  [[ "${1:-}" == -- ]] && shift
  trap cleanup EXIT
  WORK="$(mktemp -d)"
  local rc=0
  COLUMNS=120 LINES=40 script -q -e --log-out "${WORK}/out" --log-timing "${WORK}/timing" \
    -c "$(printf '%q ' "${REPO_ROOT}/hack/demo.sh" "$@")" >/dev/null || rc=$?
  source "${REPO_ROOT}/hack/ensure-node.sh"
  node "${REPO_ROOT}/hack/lib/to-asciicast.mjs" "${WORK}/timing" "${WORK}/out" > "${out}"
  echo "recorded ${out} ($(wc -c < "${out}") bytes; demo exit ${rc})" >&2
  return "${rc}"
}

main "$@"
