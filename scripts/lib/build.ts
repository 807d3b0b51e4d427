// The Shipwright Build that points the strategy's cache volume at the PVC,
// and the checks Shipwright's controller would run on it, as pure functions.
import { SHIPWRIGHT_API } from './kube.js';
import { LABEL_MANAGED, MANAGED_BY, canonicalJson, planCachePatch, parsePatchRecord } from './patch.js';
import type { StrategyObject } from './strategy-types.js';
import type { StrategyRef } from './strategies.js';

export interface BuildRequest {
  name: string;
  namespace: string;
  strategy: StrategyRef;
  sourceUrl: string;
  revision?: string;
  contextDir?: string;
  cloneSecret?: string;
  outputImage: string;
  outputInsecure?: boolean;
  pushSecret?: string;
  /** Strategy parameters: a string, or the values of an array parameter. */
  params: Record<string, string | string[]>;
  env: Record<string, string>;
  pvc: string;
  cacheVolumes: string[];
  labels: Record<string, string>;
  timeout?: string;
}

export interface BuildObject {
  apiVersion: string;
  kind: 'Build';
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; generation?: number; deletionTimestamp?: string; finalizers?: string[] };
  spec: Record<string, unknown> & { volumes?: { name: string; [k: string]: unknown }[] };
  status?: { registered?: string; reason?: string; message?: string };
}

export function desiredBuild(req: BuildRequest): BuildObject {
  const spec: Record<string, unknown> = {
    source: {
      type: 'Git',
      git: { url: req.sourceUrl, ...(req.revision ? { revision: req.revision } : {}), ...(req.cloneSecret ? { cloneSecret: req.cloneSecret } : {}) },
      ...(req.contextDir ? { contextDir: req.contextDir } : {}),
    },
    strategy: { name: req.strategy.name, kind: req.strategy.kind },
    output: { image: req.outputImage, ...(req.pushSecret ? { pushSecret: req.pushSecret } : {}), ...(req.outputInsecure ? { insecure: true } : {}) },
    volumes: req.cacheVolumes.map((name) => ({ name, persistentVolumeClaim: { claimName: req.pvc } })),
  };
  const params = Object.entries(req.params);
  if (params.length) spec.paramValues = params.map(([name, value]) => (Array.isArray(value) ? { name, values: value.map((v) => ({ value: v })) } : { name, value }));
  const env = Object.entries(req.env);
  if (env.length) spec.env = env.map(([name, value]) => ({ name, value }));
  if (req.timeout) spec.timeout = req.timeout;
  return {
    apiVersion: SHIPWRIGHT_API,
    kind: 'Build',
    metadata: { name: req.name, namespace: req.namespace, labels: { ...req.labels, [LABEL_MANAGED]: MANAGED_BY, 'shipwright-cache.io/pvc': req.pvc } },
    spec,
  };
}

/**
 * Strategy parameters from repeated name=value flags: an array parameter of the
 * strategy collects every value given for it; a string parameter takes the last.
 */
export function paramValues(pairs: [string, string][], strategy: StrategyObject | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const type = (strategy?.spec.parameters ?? []).find((p) => p.name === name)?.type;
    if (type === 'array') out[name] = [...((out[name] as string[] | undefined) ?? []), value];
    else out[name] = value;
  }
  return out;
}

/** The volumes of `strategy` that hold the cache: from the patch record, else from its profile. */
export function cacheVolumesOf(strategy: StrategyObject, label: string): { volumes: string[]; ready: boolean; profile: string } {
  const rec = parsePatchRecord(strategy.metadata.annotations, label);
  const plan = planCachePatch(strategy.spec, label);
  const volumes = rec?.cacheVolumes?.length ? rec.cacheVolumes : plan.cacheVolumes;
  return { volumes, ready: plan.changes.length === 0, profile: plan.profile.id };
}

/** Environment the tool steps need that the strategy does not set itself (given to the Build instead). */
export function profileEnvMissing(strategy: StrategyObject, label: string): Record<string, string> {
  const plan = planCachePatch(strategy.spec, label);
  const out: Record<string, string> = {};
  for (const c of plan.changes) if (c.type === 'env-added') out[c.env.name] = String(c.env.value);
  return out;
}

export interface PreflightProblem {
  /** The reason Shipwright would report (Build status.reason), or ours for checks it does not make. */
  reason: 'SpecSourceSecretRefNotFound' | 'SpecOutputSecretRefNotFound' | 'UndefinedVolume' | 'VolumeNotOverridable' | 'BuildStrategyNotFound' | 'ClusterBuildStrategyNotFound' | 'PersistentVolumeClaimNotFound' | 'PersistentVolumeClaimTerminating' | 'UndefinedParameter';
  message: string;
  fix: string;
}

/** A Secret the Build references: exists is undefined when it could not be checked (forbidden). */
export interface SecretCheck {
  role: 'source' | 'output';
  name: string;
  exists?: boolean;
}

/**
 * The checks Shipwright's Build reconciler makes (pkg/validate/volumes.go and
 * strategies.go), plus the one it does not: that the claim exists (a missing
 * claim leaves the build pod Pending forever).
 */
export function preflightBuild(build: BuildObject, strategy: StrategyObject | undefined, pvc: { exists: boolean; terminating?: boolean; name: string }, secrets: SecretCheck[] = []): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  // Shipwright checks the referenced Secrets exist (pkg/validate/secrets.go); exists undefined = could not tell.
  for (const s of secrets) {
    if (s.exists !== false) continue;
    const ns = build.metadata.namespace;
    if (s.role === 'source') {
      problems.push({ reason: 'SpecSourceSecretRefNotFound', message: `Secret ${ns}/${s.name} (--clone-secret) does not exist`, fix: `create it (kubectl create secret generic ${s.name} -n ${ns} --type=kubernetes.io/basic-auth --from-literal=username=... --from-literal=password=..., or --type=kubernetes.io/ssh-auth --from-file=ssh-privatekey=...), or correct --clone-secret` });
    } else {
      problems.push({ reason: 'SpecOutputSecretRefNotFound', message: `Secret ${ns}/${s.name} (--push-secret) does not exist`, fix: `create it (kubectl create secret docker-registry ${s.name} -n ${ns} --docker-server=... --docker-username=... --docker-password=...), or correct --push-secret` });
    }
  }
  const ref = build.spec.strategy as { name: string; kind: string };
  if (!strategy) {
    const reason = ref.kind === 'ClusterBuildStrategy' ? 'ClusterBuildStrategyNotFound' : 'BuildStrategyNotFound';
    problems.push({ reason, message: `${ref.kind} ${ref.name} does not exist`, fix: `create it, or run 'shipwright-cache patch-strategy' first (the copy mode creates BuildStrategy <strategy>-cached)` });
    return problems;
  }
  for (const v of build.spec.volumes ?? []) {
    const sv = (strategy.spec.volumes ?? []).find((x) => x.name === v.name);
    if (!sv) problems.push({ reason: 'UndefinedVolume', message: `Volume "${v.name}" is not defined in the Strategy`, fix: `run 'shipwright-cache patch-strategy' on ${ref.kind} ${ref.name}, or name one of its volumes: ${(strategy.spec.volumes ?? []).map((x) => x.name).join(', ') || '(none)'}` });
    else if (sv.overridable !== true) problems.push({ reason: 'VolumeNotOverridable', message: `Volume "${v.name}" is not overridable in the Strategy`, fix: `run 'shipwright-cache patch-strategy' on ${ref.kind} ${ref.name} (it marks the volume overridable)` });
  }
  const declared = new Set((strategy.spec.parameters ?? []).map((p) => p.name));
  for (const p of (build.spec.paramValues as { name: string }[] | undefined) ?? []) {
    if (!declared.has(p.name) && !p.name.startsWith('shp-')) problems.push({ reason: 'UndefinedParameter', message: `parameter "${p.name}" is not defined in ${ref.kind} ${ref.name}`, fix: `use one of: ${[...declared].join(', ') || '(none)'}` });
  }
  if (!pvc.exists) problems.push({ reason: 'PersistentVolumeClaimNotFound', message: `PersistentVolumeClaim ${build.metadata.namespace}/${pvc.name} does not exist; the build pod would stay Pending`, fix: `run 'shipwright-cache cache-pvc --name ${pvc.name}' first` });
  else if (pvc.terminating) problems.push({ reason: 'PersistentVolumeClaimTerminating', message: `PersistentVolumeClaim ${build.metadata.namespace}/${pvc.name} is being deleted`, fix: 'wait until it is gone and create it again with cache-pvc, or use another claim' });
  return problems;
}

const MANAGED_SPEC_KEYS = ['source', 'strategy', 'output', 'volumes', 'paramValues', 'env', 'timeout'];

/** True when a field this tool manages differs (fields the server defaulted or others added are ignored). */
export function buildSpecDiffers(existing: BuildObject, desired: BuildObject): boolean {
  return MANAGED_SPEC_KEYS.some((k) => canonicalJson(existing.spec[k]) !== canonicalJson(desired.spec[k]));
}

export const isManaged = (b: BuildObject) => b.metadata.labels?.[LABEL_MANAGED] === MANAGED_BY;

/**
 * A Build that is being deleted but stays (a finalizer of another controller
 * holds it): it can be neither kept nor re-created until that controller lets go.
 * `stillThere`: our own delete (to re-create it) did not complete.
 */
export function heldBuildMessage(b: BuildObject, stillThere = false): { message: string; hint: string } {
  const label = `Build ${b.metadata.namespace}/${b.metadata.name}`;
  const fin = b.metadata.finalizers ?? [];
  const held = fin.length ? `finalizer(s) ${fin.join(', ')} of another controller keep it` : 'it has no finalizer left, so it should go soon';
  const since = b.metadata.deletionTimestamp ? ` since ${String(b.metadata.deletionTimestamp)}` : '';
  return {
    message: stillThere
      ? `${label} must be re-created, but it is still there after it was deleted${since}: ${held}`
      : `${label} is being deleted${since}; ${held}`,
    hint: fin.length
      ? `wait for that controller to finish, then run create-build again; if it is gone, remove the finalizer: kubectl -n ${b.metadata.namespace} patch build ${b.metadata.name} --type=merge -p '{"metadata":{"finalizers":null}}'; or pass another --build name`
      : 'run create-build again in a moment',
  };
}
