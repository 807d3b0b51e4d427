#!/usr/bin/env bash
# Acceptance run for issue 4: real BuildRuns on the offline cluster.
#   1. install.sh (idempotent; skipped with --no-install)
#   2. a source repository on the local git server (e2e/install/git-server.sh): a Containerfile
#      FROM the local debian-base image with two RUN steps and a COPY
#   3. a Build with the buildah-strategy-managed-push ClusterBuildStrategy of
#      e2e/install/strategies/, output to the local registry (insecure)
#   4. two BuildRuns, one after the other; each must reach Succeeded, its image must be in the
#      registry, and the registry's digest must equal the BuildRun's status.output.digest
# Prints, per BuildRun, the total and where the time went: a timeline from the BuildRun's
# creation (TaskRun, Pod, init containers, steps; step start/finish as Tekton records them,
# whole seconds), the image pulls (kubelet events), and the split of the build-and-push step into
# build and push (from the step's log timestamps).
#
#   5. Tekton's remote resolution: a TaskRun whose Task comes from the git server through the
#      git resolver (cmd/resolvers), with a script step (Tekton's -shell-image); skip: --no-resolver
#
# Usage: e2e/install/smoke.sh [--no-install] [--runs N] [--timeout SECONDS] [--no-resolver]
#   --runs N     BuildRuns to run (default 2)
#   --timeout S  per BuildRun (default 900)
# Namespace swc-smoke, the Build and the BuildRuns (smoke-<n>-<HHMMSS>) are kept for inspection;
# a re-run re-applies the Build and adds BuildRuns.
# Environment: SWC_CLUSTER_DIR (default /var/lib/shipwright-cache/node), SWC_GIT_ADDR.
set -euo pipefail

INSTALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${INSTALL_DIR}/../.." && pwd)"
# shellcheck source=e2e/install/versions.sh
source "${INSTALL_DIR}/versions.sh"

CLUSTER_DIR="${SWC_CLUSTER_DIR:-/var/lib/shipwright-cache/node}"
NS=swc-smoke
BUILD=smoke
REPO=smoke-app
STRATEGY=buildah-strategy-managed-push
REGISTRY=10.88.0.1:5000
OUTPUT_IMAGE="${REGISTRY}/swc-smoke/app:latest"
RUNS=2
TIMEOUT=900
DO_INSTALL=1
DO_RESOLVER=1
WORK=""
KUBECTL=()

log() { printf '[smoke %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
cleanup() { local rc=$?; [[ -z "${WORK}" ]] || rm -rf "${WORK}"; exit "${rc}"; }

# seconds between two RFC 3339 times (fractions kept when present)
dt() { echo "$(date -d "$2" +%s.%N) - $(date -d "$1" +%s.%N)" | bc | sed 's/^\./0./; s/^-\./-0./' | xargs printf '%.1f'; }

make_source() {
  local dir="$1" base="$2"
  mkdir -p "${dir}"
  cat >"${dir}/Containerfile" <<EOF
FROM ${base}
# Two RUN steps with a little real work, then a COPY.
RUN seq 1 300000 | sha256sum > /smoke-seq.sha256 && head -c 16000000 /dev/zero | gzip -1 | wc -c > /smoke-gzip.size
RUN printf 'built by e2e/install/smoke.sh on the offline cluster\n' > /smoke.txt && cat /smoke-seq.sha256 /smoke-gzip.size >> /smoke.txt
COPY hello.txt /hello.txt
CMD ["/bin/cat", "/smoke.txt", "/hello.txt"]
EOF
  echo "hello from the shipwright-cache smoke repository" >"${dir}/hello.txt"
}

apply_build() {
  local url="$1"
  "${KUBECTL[@]}" create namespace "${NS}" --dry-run=client -o yaml \
    | "${KUBECTL[@]}" apply --server-side --field-manager=swc-smoke -f - >/dev/null
  "${KUBECTL[@]}" apply --server-side --force-conflicts --field-manager=swc-smoke -f - >/dev/null <<EOF
apiVersion: shipwright.io/v1beta1
kind: Build
metadata: {name: ${BUILD}, namespace: ${NS}}
spec:
  source:
    type: Git
    git: {url: "${url}", revision: main}
  strategy: {name: ${STRATEGY}, kind: ClusterBuildStrategy}
  paramValues:
  - name: dockerfile
    value: Containerfile
  - name: registries-insecure
    values: [{value: "${REGISTRY}"}]
  - name: registries-search
    values: [{value: "${REGISTRY}"}]
  output:
    image: ${OUTPUT_IMAGE}
    insecure: true
EOF
  local end=$((SECONDS + 60)) reg
  while :; do
    reg="$("${KUBECTL[@]}" get build -n "${NS}" "${BUILD}" -o jsonpath='{.status.registered}/{.status.reason}/{.status.message}')"
    [[ "${reg}" == True/* ]] && break
    if [[ "${reg}" == False/* || ${SECONDS} -ge ${end} ]]; then die "Build ${NS}/${BUILD} not registered: ${reg}"; fi
    sleep 1
  done
}

# run_buildrun N: creates a BuildRun, waits for it, checks the image; prints the report.
run_buildrun() {
  local n="$1" name st reason msg digest reg_digest end t0
  name="smoke-${n}-$(date +%H%M%S)"
  t0=$(date +%s.%N)
  "${KUBECTL[@]}" create -f - >/dev/null <<EOF
apiVersion: shipwright.io/v1beta1
kind: BuildRun
metadata: {name: ${name}, namespace: ${NS}}
spec:
  build: {name: ${BUILD}}
EOF
  log "BuildRun ${NS}/${name} created; waiting (timeout ${TIMEOUT}s)"
  end=$((SECONDS + TIMEOUT))
  while :; do
    st="$("${KUBECTL[@]}" get buildrun -n "${NS}" "${name}" -o jsonpath='{.status.conditions[?(@.type=="Succeeded")].status}')"
    [[ "${st}" == True || "${st}" == False ]] && break
    [[ ${SECONDS} -lt ${end} ]] || { st=Timeout; break; }
    sleep 1
  done
  local wall; wall="$(echo "$(date +%s.%N) - ${t0}" | bc | xargs printf '%.1f')"
  "${KUBECTL[@]}" get buildrun -n "${NS}" "${name}" -o json >"${WORK}/br.json"
  reason="$(jq -r '.status.conditions[]? | select(.type=="Succeeded") | .reason' "${WORK}/br.json")"
  msg="$(jq -r '.status.conditions[]? | select(.type=="Succeeded") | .message' "${WORK}/br.json")"
  report "${name}" "${wall}" || true
  [[ "${st}" == True ]] || die "BuildRun ${name}: ${st} ${reason}: ${msg}"
  digest="$(jq -r '.status.output.digest // empty' "${WORK}/br.json")"
  [[ -n "${digest}" ]] || die "BuildRun ${name} succeeded without status.output.digest"
  reg_digest="$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://${OUTPUT_IMAGE}")"
  curl -sf -o /dev/null -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://${REGISTRY}/v2/${OUTPUT_IMAGE#*/}" 2>/dev/null || true
  skopeo inspect --tls-verify=false --raw "docker://${OUTPUT_IMAGE%:*}@${digest}" >/dev/null \
    || die "the registry has no manifest ${OUTPUT_IMAGE%:*}@${digest}"
  if [[ "${reg_digest}" != "${digest}" ]]; then
    die "digest mismatch: BuildRun status.output.digest ${digest}, registry ${OUTPUT_IMAGE} ${reg_digest}"
  fi
  printf '  result: Succeeded; %s = %s (registry digest equals status.output.digest)\n' "${OUTPUT_IMAGE}" "${digest}"
  RESULTS+=("${name} ${wall}")
}

# report NAME WALL: where the time of BuildRun NAME went.
report() {
  local name="$1" wall="$2" tr pod br_c tr_c pod_c sched init first_step finished
  tr="$(jq -r '.status.executor.name // .status.taskRunName // empty' "${WORK}/br.json")"
  [[ -n "${tr}" ]] || { echo "  (no TaskRun)"; return 1; }
  "${KUBECTL[@]}" get taskrun -n "${NS}" "${tr}" -o json >"${WORK}/tr.json"
  pod="$(jq -r '.status.podName // empty' "${WORK}/tr.json")"
  "${KUBECTL[@]}" get pod -n "${NS}" "${pod}" -o json >"${WORK}/pod.json" 2>/dev/null || echo '{}' >"${WORK}/pod.json"
  "${KUBECTL[@]}" get events -n "${NS}" --field-selector "involvedObject.name=${pod}" -o json >"${WORK}/ev.json" 2>/dev/null \
    || echo '{"items":[]}' >"${WORK}/ev.json"
  br_c="$(jq -r '.metadata.creationTimestamp' "${WORK}/br.json")"
  tr_c="$(jq -r '.metadata.creationTimestamp' "${WORK}/tr.json")"
  pod_c="$(jq -r '.metadata.creationTimestamp // empty' "${WORK}/pod.json")"
  sched="$(jq -r '.status.conditions[]? | select(.type=="PodScheduled") | .lastTransitionTime' "${WORK}/pod.json")"
  init="$(jq -r '.status.conditions[]? | select(.type=="Initialized") | .lastTransitionTime' "${WORK}/pod.json")"
  finished="$(jq -r '.status.completionTime // empty' "${WORK}/br.json")"
  echo
  echo "== BuildRun ${NS}/${name}: $(jq -r '.status.conditions[]? | select(.type=="Succeeded") | "\(.status) \(.reason)"' "${WORK}/br.json")"
  printf '  total: %s s (BuildRun created -> completionTime), %s s wall clock from create to seen done\n' \
    "$(dt "${br_c}" "${finished:-${br_c}}")" "${wall}"
  echo "  timeline (seconds after the BuildRun was created; Kubernetes records whole seconds):"
  printf '    %6s  %s\n' "$(dt "${br_c}" "${tr_c}")" "TaskRun ${tr} created"
  [[ -z "${pod_c}" ]] || printf '    %6s  %s\n' "$(dt "${br_c}" "${pod_c}")" "Pod ${pod} created"
  [[ -z "${sched}" ]] || printf '    %6s  %s\n' "$(dt "${br_c}" "${sched}")" "Pod scheduled"
  local cname s f
  while IFS=$'\t' read -r cname s f; do
    printf '    %6s  init %s started, finished +%s s\n' "$(dt "${br_c}" "${s}")" "${cname}" "$(dt "${s}" "${f}")"
  done < <(jq -r '.status.initContainerStatuses[]? | select(.state.terminated) | [.name, .state.terminated.startedAt, .state.terminated.finishedAt] | @tsv' "${WORK}/pod.json")
  [[ -z "${init}" ]] || printf '    %6s  %s\n' "$(dt "${br_c}" "${init}")" "Pod initialized"
  first_step=""
  while IFS=$'\t' read -r cname s f; do
    [[ -n "${first_step}" ]] || first_step="${s}"
    printf '    %6s  step %s ran %s s\n' "$(dt "${br_c}" "${s}")" "${cname}" "$(dt "${s}" "${f}")"
  done < <(jq -r '.status.steps[]? | select(.terminated) | [.name, .terminated.startedAt, .terminated.finishedAt] | @tsv' "${WORK}/tr.json")
  [[ -z "${finished}" ]] || printf '    %6s  %s\n' "$(dt "${br_c}" "${finished}")" "BuildRun completionTime"
  echo "  image pulls (kubelet events):"
  jq -r '.items | sort_by(.firstTimestamp // .eventTime) | .[] | select(.reason=="Pulled") | "    " + .message' "${WORK}/ev.json"
  # Finer split from the containers' log timestamps (nanoseconds): the git step's first and last
  # line; in the build-and-push step the strategy's "[INFO] Building image" and "[INFO] Pushing
  # image" lines and buildah's "STEP 1/N: FROM", "STEP 2/N" and "COMMIT" lines.
  local glog blog g0 g1 b0 from run commit p e
  glog="$("${KUBECTL[@]}" logs -n "${NS}" "${pod}" -c step-source-default --timestamps 2>/dev/null || true)"
  blog="$("${KUBECTL[@]}" logs -n "${NS}" "${pod}" -c step-build-and-push --timestamps 2>/dev/null || true)"
  g0="$(awk 'NF { print $1; exit }' <<<"${glog}")"
  g1="$(awk 'NF { t = $1 } END { print t }' <<<"${glog}")"
  b0="$(awk 'NF { print $1; exit }' <<<"${blog}")"
  from="$(awk '/ STEP 1\/[0-9]+: FROM / { print $1; exit }' <<<"${blog}")"
  run="$(awk '/ STEP 2\/[0-9]+: / { print $1; exit }' <<<"${blog}")"
  commit="$(awk '/ COMMIT / { print $1; exit }' <<<"${blog}")"
  p="$(awk '/\[INFO\] Pushing image/ { print $1; exit }' <<<"${blog}")"
  e="$(awk 'NF { t = $1 } END { print t }' <<<"${blog}")"
  echo "  where the time went (container log timestamps; setup and finish also use the BuildRun's whole-second times, so they are ±1 s):"
  row() { [[ -n "$2" && -n "$3" ]] && printf '    %-8s %6s s  %s\n' "$1" "$(dt "$2" "$3")" "$4"; return 0; }
  row setup "${br_c}" "${g0:-${first_step}}" "BuildRun created -> TaskRun -> Pod -> init containers -> step containers running -> clone starts (includes the pulls above)"
  row clone "${g0}" "${g1}" "step source-default: git clone --depth 1 over smart HTTP (first -> last log line)"
  row handoff "${g1}" "${b0}" "clone step done -> build step's first log line (Tekton entrypoint ordering)"
  row pull "${from}" "${run}" "buildah: FROM image pulled from ${REGISTRY} into the step's empty container storage"
  row build "${run}" "${commit}" "buildah: RUN, RUN, COPY, CMD"
  row commit "${commit}" "${p}" "buildah: commit (layer tar + digest)"
  row push "${p}" "${e}" "buildah push to ${REGISTRY} (to the step's last log line)"
  row finish "${e}" "${finished}" "step done -> BuildRun completionTime (Tekton + Shipwright status updates)"
  return 0
}

# resolver_check: a TaskRun with taskRef {resolver: git} pointing at a Task on the git server;
# the Task has a script step, so Tekton's place-scripts init container (-shell-image) runs too.
resolver_check() {
  local shell_ref url commit name st end t0
  shell_ref="$("${REPO_ROOT}/images/build.sh" --print shell | cut -f2)"
  mkdir -p "${WORK}/task"
  cat >"${WORK}/task/task.yaml" <<EOF
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: hello}
spec:
  steps:
  - name: hello
    image: ${shell_ref}
    script: |
      #!/bin/sh
      echo "hello from a Task fetched by Tekton's git resolver"
EOF
  IFS=$'\t' read -r url commit < <("${INSTALL_DIR}/git-server.sh" add-repo smoke-tasks "${WORK}/task")
  name="resolver-$(date +%H%M%S)"
  t0=$(date +%s.%N)
  "${KUBECTL[@]}" create -f - >/dev/null <<EOF
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: ${name}, namespace: ${NS}}
spec:
  taskRef:
    resolver: git
    params:
    - {name: url, value: "${url}"}
    - {name: revision, value: main}
    - {name: pathInRepo, value: task.yaml}
EOF
  end=$((SECONDS + 300))
  while :; do
    st="$("${KUBECTL[@]}" get taskrun -n "${NS}" "${name}" -o jsonpath='{.status.conditions[?(@.type=="Succeeded")].status}')"
    [[ "${st}" == True || "${st}" == False ]] && break
    [[ ${SECONDS} -lt ${end} ]] || { st=Timeout; break; }
    sleep 1
  done
  echo
  echo "== TaskRun ${NS}/${name} (Task from ${url} @ ${commit:0:12} via the git resolver): ${st}, $(echo "$(date +%s.%N) - ${t0}" | bc | xargs printf '%.1f') s"
  [[ "${st}" == True ]] || die "TaskRun ${name}: $("${KUBECTL[@]}" get taskrun -n "${NS}" "${name}" -o jsonpath='{.status.conditions[0].reason}: {.status.conditions[0].message}')"
  printf '  step log: %s\n' "$("${KUBECTL[@]}" logs -n "${NS}" "${name}-pod" -c step-hello)"
}

main() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --no-install) DO_INSTALL=0 ;;
      --no-resolver) DO_RESOLVER=0 ;;
      --runs) RUNS="${2:?}"; shift ;;
      --timeout) TIMEOUT="${2:?}"; shift ;;
      -h|--help) usage; return 0 ;;
      *) usage >&2; die "unknown argument $1" ;;
    esac
    shift
  done
  for c in jq skopeo bc curl; do command -v "${c}" >/dev/null || die "${c} is needed"; done
  WORK="$(mktemp -d /tmp/swc-smoke.XXXXXX)"
  trap cleanup EXIT
  local kubeconfig="${CLUSTER_DIR}/kubeconfig" t0
  [[ -s "${kubeconfig}" ]] || die "no cluster kubeconfig at ${kubeconfig} (e2e/cluster/up.sh --mode full)"
  KUBECTL=("${K8S_BIN_DIR}/kubectl" --kubeconfig "${kubeconfig}")
  if [[ -s "${CLUSTER_DIR}/cluster.env" ]]; then
    REGISTRY="$(sed -n 's/^REGISTRY_ADDR=//p' "${CLUSTER_DIR}/cluster.env")"
    OUTPUT_IMAGE="${REGISTRY}/swc-smoke/app:latest"
  fi

  if [[ ${DO_INSTALL} -eq 1 ]]; then
    t0=${SECONDS}
    "${INSTALL_DIR}/install.sh"
    log "install.sh took $((SECONDS - t0)) s"
  fi

  # FROM image in the registry (the pod's buildah pulls it from there).
  local base url commit
  base="$("${REPO_ROOT}/images/load.sh" --registry "${REGISTRY}" debian-base | cut -f2)"
  make_source "${WORK}/src" "${base}"
  "${INSTALL_DIR}/git-server.sh" start
  IFS=$'\t' read -r url commit < <("${INSTALL_DIR}/git-server.sh" add-repo "${REPO}" "${WORK}/src")
  log "source ${url} @ ${commit} (FROM ${base})"
  apply_build "${url}"
  log "Build ${NS}/${BUILD} registered (strategy ${STRATEGY}, output ${OUTPUT_IMAGE})"

  RESULTS=()
  local i
  for ((i = 1; i <= RUNS; i++)); do run_buildrun "${i}"; done
  if [[ ${DO_RESOLVER} -eq 1 ]]; then resolver_check; fi
  echo
  echo "== summary"
  for i in "${RESULTS[@]}"; do echo "  BuildRun ${i% *}: Succeeded, ${i##* } s wall clock"; done
}

main "$@"
