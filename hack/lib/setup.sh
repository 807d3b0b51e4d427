# Shared by hack/demo.sh and hack/e2e.sh: bring a cluster to the point where the
# shipwright-cache Pipeline can run. Sourced, not run. The offline and kind paths
# differ only in cluster creation (cluster_up), where Tekton/Shipwright come from
# (install_platform), and image/source locations (runner_image, shell_image,
# workload); everything after that is the same code.
#
# Reads: CLUSTER (offline|kind|current), NS, REPO_ROOT, DEMO_STRATEGY (a ClusterBuildStrategy
# of e2e/install/strategies/; default buildah-strategy-managed-push). Sets: KUBECTL, KUBECONFIG,
# RUNNER_IMAGE, RESET_IMAGE, STRATEGY, STORAGE_DRIVER, SOURCE_URL, SOURCE_REVISION, OUTPUT_IMAGE,
# OUTPUT_INSECURE, BUILD_PARAMS, FIX_PERMISSIONS.

# shellcheck source=hack/ensure-node.sh
source "${REPO_ROOT}/hack/ensure-node.sh"
# shellcheck source=hack/ensure-deps.sh
source "${REPO_ROOT}/hack/ensure-deps.sh"

SWC_CACHE_DIR="${SWC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/shipwright-cache}"
FULL_DIR="${SWC_CLUSTER_DIR:-/var/lib/shipwright-cache/node}"
T0=$(date +%s)

stage() { printf '\n[%4ss] == %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
note() { printf '[%4ss]    %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

cluster_up() {
  case "${CLUSTER}" in
    offline)
      stage "cluster: offline single-node Kubernetes (e2e/cluster/up.sh --mode full; first time builds binaries and images)"
      "${REPO_ROOT}/e2e/cluster/up.sh" --mode full >&2
      export KUBECONFIG="${FULL_DIR}/kubeconfig"
      # shellcheck source=e2e/cluster/versions.sh
      source "${REPO_ROOT}/e2e/cluster/versions.sh"
      KUBECTL="${K8S_BIN_DIR}/kubectl"
      ;;
    kind)
      stage "cluster: kind (e2e/kind/create-cluster.sh)"
      "${REPO_ROOT}/e2e/kind/create-cluster.sh" >&2
      KUBECTL=kubectl
      ;;
    current)
      stage "cluster: the current context ($(kubectl config current-context 2>/dev/null || echo '?'))"
      KUBECTL=kubectl
      ;;
    *) die "--cluster must be offline, kind or current" ;;
  esac
  "${KUBECTL}" version >/dev/null || die "the cluster does not answer (${KUBECONFIG:-default kubeconfig})"
}

install_platform() {
  local source=release
  [[ "${CLUSTER}" == offline ]] && source=offline
  if [[ "${CLUSTER}" == current ]] && "${KUBECTL}" get crd buildruns.shipwright.io taskruns.tekton.dev >/dev/null 2>&1; then
    stage "Tekton and Shipwright: already installed in the current cluster"
    return
  fi
  stage "Tekton v1.12 and Shipwright v0.20 (e2e/install/install.sh --source ${source}; waits for the webhooks)"
  # Offline, only the measured strategy's image is built (BuildKit's takes ~10 min of Go builds).
  "${REPO_ROOT}/e2e/install/install.sh" --source "${source}" \
    $([[ "${source}" == offline ]] && echo --strategies "${DEMO_STRATEGY}") >&2
}

# The image the Tasks run: built from this checkout.
runner_image() {
  case "${CLUSTER}" in
    offline)
      stage "runner image (images/runner: Node 22 + compiled CLI), shell image; into the cluster registry"
      "${REPO_ROOT}/images/build.sh" runner shell >&2
      "${REPO_ROOT}/e2e/cluster/load-images.sh" runner shell >&2
      RUNNER_IMAGE="$("${REPO_ROOT}/images/build.sh" --print runner | cut -f2)"
      RESET_IMAGE="$("${REPO_ROOT}/images/build.sh" --print shell | cut -f2)"
      ;;
    *)
      stage "runner image (Dockerfile) into the kind registry"
      docker build -t "localhost:${REGISTRY_PORT:-5001}/shipwright-cache:dev" "${REPO_ROOT}" >&2
      docker push "localhost:${REGISTRY_PORT:-5001}/shipwright-cache:dev" >&2
      RUNNER_IMAGE="localhost:${REGISTRY_PORT:-5001}/shipwright-cache:dev"
      RESET_IMAGE="docker.io/library/busybox:1.37.0"
      ;;
  esac
  note "runner ${RUNNER_IMAGE}; reset ${RESET_IMAGE}"
}

# The reference workload: images/sample-app (npm dependencies + a compile step).
# The strategies the demo can measure, each with its workload: the Node.js app
# (images/sample-app, built from its Containerfile) or the Go app (images/sample-go-app, no
# Dockerfile). Offline they are the copies in e2e/install/strategies/ (upstream samples changed
# only where this cluster needs it); kind has the upstream samples themselves.
DEMO_STRATEGIES=(buildah-strategy-managed-push buildah-shipwright-managed-push buildkit ko buildpacks-v3)
# kind only: none (offline, buildpacks-v3 runs the local builder images/buildpacks-builder; on
# kind, Paketo's builder).
DEMO_STRATEGIES_KIND=()
# offline only: source-to-image-redhat's s2i image is on registry.redhat.io (login needed); the
# offline copy has s2i built from the Go module proxy and a local Node.js builder image.
DEMO_STRATEGIES_OFFLINE=(source-to-image-redhat)
DEMO_STRATEGY="${DEMO_STRATEGY:-buildah-strategy-managed-push}"

# check_strategy: DEMO_STRATEGY is one the demo can measure on CLUSTER (before any set-up).
check_strategy() {
  local known=" ${DEMO_STRATEGIES[*]} "
  if [[ "${CLUSTER}" == offline ]]; then known+="${DEMO_STRATEGIES_OFFLINE[*]} "; else known+="${DEMO_STRATEGIES_KIND[*]} "; fi
  if [[ "${known}" != *" ${DEMO_STRATEGY} "* ]]; then
    if [[ " ${DEMO_STRATEGIES_KIND[*]:-} " == *" ${DEMO_STRATEGY} "* ]]; then
      die "--strategy ${DEMO_STRATEGY} runs on kind only; use --cluster kind"
    fi
    if [[ " ${DEMO_STRATEGIES_OFFLINE[*]} " == *" ${DEMO_STRATEGY} "* ]]; then
      die "--strategy ${DEMO_STRATEGY} runs on the offline cluster only (its upstream s2i image needs a registry.redhat.io login)"
    fi
    die "--strategy ${DEMO_STRATEGY}: not one of ${DEMO_STRATEGIES[*]} ${DEMO_STRATEGIES_KIND[*]} ${DEMO_STRATEGIES_OFFLINE[*]}"
  fi
}

workload() {
  local app=node vars
  check_strategy
  STRATEGY="${DEMO_STRATEGY}"
  # Only buildah has a storage-driver parameter; empty leaves a strategy's default alone.
  case "${STRATEGY}" in buildah-*|source-to-image-redhat) STORAGE_DRIVER=overlay ;; *) STORAGE_DRIVER="" ;; esac
  case "${STRATEGY}" in ko|buildpacks-*) app=go ;; esac
  # buildpacks' build user (1001) cannot write the cache sub-path the kubelet creates as root;
  # ko and BuildKit (1000) mount the volume root, which the local-path provisioner makes 0777.
  FIX_PERMISSIONS=false
  case "${STRATEGY}" in buildpacks-*) FIX_PERMISSIONS=true ;; esac
  PARAMS="" ARRAY_PARAMS="" CONTEXT_DIR=""
  case "${CLUSTER}:${app}" in
    offline:node)
      stage "workload: images/sample-app on the local git server, its npm packages on the local npm registry"
      vars="$("${REPO_ROOT}/e2e/install/sample-app.sh" publish)"
      eval "${vars}"
      # buildah's registries-insecure is how its FROM pull reaches the plain-HTTP registry;
      # BuildKit's image has that in its buildkitd.toml. The offline BuildKit copy's cache=local
      # keeps only the PVC cache (upstream's default, registry, would also import the last
      # pushed image as cache, so a run without the PVC would not be cold).
      if [[ "${STRATEGY}" == buildkit ]]; then ARRAY_PARAMS=""; PARAMS+=" cache=local"; fi
      # source-to-image-redhat: no Containerfile; s2i writes one FROM the builder image, which is
      # a Build parameter, so it is loaded here (the strategy's own images come with install.sh).
      if [[ "${STRATEGY}" == source-to-image-redhat ]]; then
        "${REPO_ROOT}/e2e/cluster/load-images.sh" s2i-nodejs >&2
        PARAMS="builder-image=$("${REPO_ROOT}/images/build.sh" --print s2i-nodejs | cut -f2)"
      fi
      OUTPUT_INSECURE=true
      ;;
    offline:go)
      stage "workload: images/sample-go-app on the local git server (standard library only)"
      vars="$("${REPO_ROOT}/e2e/install/sample-go-app.sh" publish)"
      eval "${vars}"
      OUTPUT_INSECURE=true
      ;;
    *)
      stage "workload: images/$([[ "${app}" == node ]] && echo sample-app || echo sample-go-app) from ${SWC_DEMO_SOURCE_URL:-?}"
      SOURCE_URL="${SWC_DEMO_SOURCE_URL:?set SWC_DEMO_SOURCE_URL to a git URL of this repository that the cluster can clone}"
      SOURCE_REVISION="${SWC_DEMO_SOURCE_REVISION:-main}"
      OUTPUT_INSECURE=true
      if [[ "${app}" == node ]]; then
        CONTEXT_DIR=images/sample-app
        OUTPUT_IMAGE="${REGISTRY_NAME:-kind-registry}:5000/demo/sample-app"
        PARAMS="dockerfile=Containerfile"
      else
        CONTEXT_DIR=images/sample-go-app
        OUTPUT_IMAGE="${REGISTRY_NAME:-kind-registry}:5000/demo/sample-go-app"
      fi
      ;;
  esac
  # String and array strategy parameters alike go as name=value (an array one once per value).
  BUILD_PARAMS="${PARAMS} ${ARRAY_PARAMS}"
  note "strategy ${STRATEGY}; source ${SOURCE_URL} (${SOURCE_REVISION:-default branch}${CONTEXT_DIR:+, dir ${CONTEXT_DIR}}); image ${OUTPUT_IMAGE}"
}

# The Tasks, the Pipeline and the RBAC they ship with, into namespace NS.
apply_tasks() {
  stage "Tasks, Pipeline and RBAC into namespace ${NS} (through the real Tekton admission webhook)"
  "${KUBECTL}" create namespace "${NS}" --dry-run=client -o yaml | "${KUBECTL}" apply -f - >&2
  local f
  for f in "${REPO_ROOT}"/tasks/shipwright-cache-*/shipwright-cache-*.yaml "${REPO_ROOT}"/tasks/pipeline/shipwright-cache-pipeline.yaml; do
    "${KUBECTL}" apply -n "${NS}" -f "$f" >&2
  done
  "${KUBECTL}" apply -n "${NS}" -f "${REPO_ROOT}/tasks/rbac/shipwright-cache-rbac.yaml" >&2
  "${KUBECTL}" apply -n "${NS}" -f "${REPO_ROOT}/tasks/rbac/shipwright-cache-pods-rbac.yaml" >&2
  "${KUBECTL}" apply -f "${REPO_ROOT}/tasks/rbac/shipwright-cache-cluster-rbac.yaml" >&2
  "${KUBECTL}" create clusterrolebinding "shipwright-cache-cluster-read-${NS}" --clusterrole=shipwright-cache-cluster-read \
    --serviceaccount="${NS}:shipwright-cache" --dry-run=client -o yaml | "${KUBECTL}" apply -f - >&2
}

# run_pipeline NAME RUNS COLD BASELINE MIN_SPEEDUP [PVC]: creates the PipelineRun (its Build is named
# NAME too, so progress shows this run's BuildRuns only), waits, prints progress.
run_pipeline() {
  local name="$1" runs="$2" cold="$3" baseline="$4" min="$5" pvc="${6:-shipwright-cache}"
  local params
  params=$(printf '%s\n' "${BUILD_PARAMS}" | tr ' ' '\n' | sed '/^$/d; s/.*/"&"/' | paste -sd, -)
  stage "PipelineRun ${NS}/${name}: cache PVC ${pvc}, ${runs} cached runs (cold first), ${baseline} uncached, gate >= ${min}x"
  "${KUBECTL}" create -n "${NS}" -f - >&2 <<YAML
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: ${name}
  labels: {app.kubernetes.io/part-of: shipwright-cache-demo}
spec:
  pipelineRef: {name: shipwright-cache-pipeline}
  taskRunTemplate:
    serviceAccountName: shipwright-cache
    podTemplate: {securityContext: {fsGroup: 65532}}
  timeouts: {pipeline: 2h}
  params:
    - {name: source-url, value: "${SOURCE_URL}"}
    - {name: source-revision, value: "${SOURCE_REVISION:-}"}
    - {name: context-dir, value: "${CONTEXT_DIR:-}"}
    - {name: output-image, value: "${OUTPUT_IMAGE}"}
    - {name: output-insecure, value: "${OUTPUT_INSECURE}"}
    - {name: build-params, value: [${params}]}
    - {name: pvc-name, value: "${pvc}"}
    - {name: build-name, value: "${name}"}
    - {name: strategy, value: "${STRATEGY}"}
    - {name: storage-driver, value: "${STORAGE_DRIVER}"}
    - {name: runs, value: "${runs}"}
    - {name: cold, value: "${cold}"}
    - {name: baseline, value: "${baseline}"}
    - {name: min-speedup, value: "${min}"}
    - {name: fix-permissions, value: "${FIX_PERMISSIONS:-false}"}
    - {name: runner-image, value: "${RUNNER_IMAGE}"}
    - {name: reset-image, value: "${RESET_IMAGE}"}
  workspaces:
    - name: reports
      volumeClaimTemplate:
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 16Mi}}}
YAML
  local last="" status reason running
  for (( ; ; )); do
    status=$("${KUBECTL}" get pipelinerun -n "${NS}" "${name}" -o jsonpath='{.status.conditions[?(@.type=="Succeeded")].status}' 2>/dev/null || true)
    reason=$("${KUBECTL}" get pipelinerun -n "${NS}" "${name}" -o jsonpath='{.status.conditions[?(@.type=="Succeeded")].reason}' 2>/dev/null || true)
    running=$("${KUBECTL}" get taskrun -n "${NS}" -l "tekton.dev/pipelineRun=${name}" -o jsonpath='{range .items[*]}{.metadata.labels.tekton\.dev/pipelineTask}={.status.conditions[0].reason} {end}' 2>/dev/null || true)
    local brs
    brs=$("${KUBECTL}" get buildrun -n "${NS}" -l "build.shipwright.io/name=${name}" -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[0].reason} {end}' 2>/dev/null || true)
    if [[ "${running} ${brs}" != "${last}" ]]; then
      note "tasks: ${running:-(starting)}${brs:+ | buildruns: ${brs}}"
      last="${running} ${brs}"
    fi
    [[ "${status}" == True || "${status}" == False ]] && break
    sleep 5
  done
  note "PipelineRun ${name}: ${reason}"
  PIPELINE_STATUS="${status}"
}

# results NAME: the Pipeline results, one per line.
pipeline_results() {
  "${KUBECTL}" get pipelinerun -n "${NS}" "$1" -o jsonpath='{range .status.results[*]}{.name}={.value}{"\n"}{end}'
}

# fetch_reports NAME OUTDIR: copies record.json and the reports from the run's reports workspace.
fetch_reports() {
  local name="$1" out="$2" claim pod="fetch-${1}"
  # Tekton makes the volumeClaimTemplate claim owned by the PipelineRun.
  claim=$("${KUBECTL}" get pvc -n "${NS}" -o jsonpath="{range .items[?(@.metadata.ownerReferences[0].name==\"${name}\")]}{.metadata.name}{end}" 2>/dev/null || true)
  [[ -n "${claim}" ]] || { note "no reports workspace claim found for ${name}"; return 1; }
  mkdir -p "${out}"
  "${KUBECTL}" run -n "${NS}" "${pod}" --image="${RESET_IMAGE}" --restart=Never --overrides="{\"spec\":{\"volumes\":[{\"name\":\"r\",\"persistentVolumeClaim\":{\"claimName\":\"${claim}\"}}],\"containers\":[{\"name\":\"c\",\"image\":\"${RESET_IMAGE}\",\"command\":[\"sleep\",\"300\"],\"volumeMounts\":[{\"name\":\"r\",\"mountPath\":\"/r\"}]}]}}" >&2
  "${KUBECTL}" wait -n "${NS}" --for=condition=Ready "pod/${pod}" --timeout=120s >&2
  local f
  for f in record.json report.md report.json report.svg; do
    "${KUBECTL}" exec -n "${NS}" "${pod}" -- cat "/r/${name}/${f}" > "${out}/${f}" 2>/dev/null || rm -f "${out}/${f}"
  done
  "${KUBECTL}" delete pod -n "${NS}" "${pod}" --wait=false >&2
  note "reports copied to ${out}"
}

# prepare: everything before the Pipeline runs, in order (both hack/demo.sh and hack/e2e.sh).
prepare() {
  check_strategy
  cluster_up
  install_platform
  runner_image
  workload
  apply_tasks
}
