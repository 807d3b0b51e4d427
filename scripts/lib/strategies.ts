// Reading and writing (Cluster)BuildStrategies, and the two ways of making one
// cache-ready: a namespaced copy (default) or an in-place JSON Patch.
import { YAML } from 'zx';
import { call, callOptional, jsonPatch, namespaceMissing, namespaceNotFoundError, SHIPWRIGHT_API, SHIPWRIGHT_GROUP, SHIPWRIGHT_VERSION, statusOf, translate, type Kube } from './kube.js';
import { CliError, ExitCode, conflictError, notFoundError } from './errors.js';
import { applyJsonPatch, escapeToken, type JsonPatchOp } from './jsonpatch.js';
import {
  ANNOTATION_PATCH,
  LABEL_MANAGED,
  MANAGED_BY,
  changesToOps,
  describeChange,
  parsePatchRecord,
  planCachePatch,
  revertChanges,
  revertOps,
  specHash,
  applyChanges,
  type PatchPlan,
  type PatchRecord,
  type PlanOptions,
} from './patch.js';
import { unifiedDiff } from './diff.js';
import type { StrategyKind, StrategyObject } from './strategy-types.js';
import { progress } from './log.js';

export interface StrategyRef {
  kind: StrategyKind;
  name: string;
  /** Only for BuildStrategy. */
  namespace?: string;
}

export const refLabel = (r: StrategyRef) => (r.kind === 'ClusterBuildStrategy' ? `ClusterBuildStrategy ${r.name}` : `BuildStrategy ${r.namespace}/${r.name}`);
const plural = (k: StrategyKind) => (k === 'ClusterBuildStrategy' ? 'clusterbuildstrategies' : 'buildstrategies');

const base = (r: StrategyRef) => ({ group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: plural(r.kind), name: r.name });

/** The strategy, or undefined when it does not exist. */
export async function readStrategy(kube: Kube, r: StrategyRef): Promise<StrategyObject | undefined> {
  // A missing CRD is also a 404; commands check for Shipwright first (requireShipwright).
  return (await callOptional(`get ${refLabel(r)}`, () =>
    r.kind === 'ClusterBuildStrategy' ? kube.custom.getClusterCustomObject(base(r)) : kube.custom.getNamespacedCustomObject({ ...base(r), namespace: r.namespace! }),
  )) as StrategyObject | undefined;
}

export async function requireStrategy(kube: Kube, r: StrategyRef): Promise<StrategyObject> {
  const s = await readStrategy(kube, r);
  if (!s) {
    if (r.namespace && (await namespaceMissing(kube, r.namespace))) throw namespaceNotFoundError(r.namespace, `get ${refLabel(r)}`);
    const other: StrategyKind = r.kind === 'ClusterBuildStrategy' ? 'BuildStrategy' : 'ClusterBuildStrategy';
    throw notFoundError(`${refLabel(r)} does not exist`, `check the name, or whether it is a ${other} (--kind ${other}); list them with kubectl get ${plural(r.kind)}${r.namespace ? ' -n ' + r.namespace : ''}`);
  }
  return s;
}

/** The object changed between our read and our write (a guard failed): re-read and try again. */
class StaleObjectError extends Error {}

/**
 * Sends a guarded JSON Patch. A failed `test` comes back as a bare 422 Invalid;
 * when the object's resourceVersion moved since `readVersion`, that is a
 * concurrent writer (StaleObjectError, retried), otherwise a real error.
 */
async function patchStrategy(kube: Kube, r: StrategyRef, ops: JsonPatchOp[], readVersion: string | undefined): Promise<StrategyObject> {
  const body = ops as unknown as object;
  try {
    return (r.kind === 'ClusterBuildStrategy'
      ? await kube.custom.patchClusterCustomObject({ ...base(r), body }, jsonPatch())
      : await kube.custom.patchNamespacedCustomObject({ ...base(r), namespace: r.namespace!, body }, jsonPatch())) as StrategyObject;
  } catch (err) {
    const { code } = statusOf(err);
    if (code === 409 || code === 422) {
      const now = await readStrategy(kube, r);
      if (now && readVersion && now.metadata.resourceVersion !== readVersion) {
        throw new StaleObjectError(`${refLabel(r)} changed meanwhile (resourceVersion ${readVersion} -> ${now.metadata.resourceVersion})`);
      }
    }
    throw translate(`patch ${refLabel(r)}`, err);
  }
}

/** Re-reads and retries `attempt` when the object changed underneath us. */
async function withConflictRetry<T>(what: string, attempt: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      const stale = err instanceof StaleObjectError || statusOf(err).code === 409;
      if (!stale) throw err;
      if (i >= tries) throw conflictError(`${what}: the object kept changing during ${tries} attempts`, 'something else keeps writing it (an operator?); stop it, or use --mode copy');
      progress('patch', `${what}: ${(err as Error).message || 'conflict'}; re-reading (attempt ${i + 1}/${tries})`);
      await new Promise((res) => setTimeout(res, 100 * i));
    }
  }
}

export interface PatchOutcome {
  action: 'patched' | 'created' | 'updated' | 'unchanged' | 'would-change' | 'unpatched' | 'deleted';
  mode: 'copy' | 'in-place';
  source: StrategyRef;
  /** The strategy a Build should reference. */
  target: StrategyRef;
  profile?: string;
  why?: string;
  changes: string[];
  cacheVolumes: string[];
  notes: string[];
  diff?: string;
  message: string;
}

const toYaml = (o: unknown) => YAML.stringify(o);
const SERVER_FIELDS = ['resourceVersion', 'uid', 'generation', 'creationTimestamp', 'managedFields'];
const NOISY_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];
/** The object as people want to compare it: no server-maintained fields, no kubectl's copy of itself. */
const forDiff = (o: StrategyObject) => {
  const metadata = Object.fromEntries(Object.entries(o.metadata).filter(([k]) => !SERVER_FIELDS.includes(k)));
  if (o.metadata.annotations) {
    const a = Object.fromEntries(Object.entries(o.metadata.annotations).filter(([k]) => !NOISY_ANNOTATIONS.includes(k)));
    metadata.annotations = Object.keys(a).length ? a : undefined;
  }
  return { ...o, metadata };
};

/**
 * In-place: JSON Patch of the existing object, with a record that lets unpatch
 * undo it. Patching again with other options re-bases on the original: the old
 * changes are undone and the new ones applied in the same guarded patch, so the
 * record always describes the way back to the original.
 */
export async function patchInPlace(kube: Kube, r: StrategyRef, opts: PlanOptions & { dryRun: boolean }): Promise<PatchOutcome> {
  const label = refLabel(r);
  return withConflictRetry(`patch ${label}`, async () => {
    const obj = await requireStrategy(kube, r);
    const rec = parsePatchRecord(obj.metadata.annotations, label);
    if (rec && rec.specAfter !== specHash(obj.spec)) {
      // Edited since our patch: fine while still cache-ready; otherwise undo first.
      const now = planCachePatch(obj.spec, label, opts);
      if (now.changes.length === 0) {
        return outcome('unchanged', `${label} was edited after shipwright-cache patched it, but is still cache-ready; nothing changed`, now);
      }
      throw conflictError(
        `${label} carries a shipwright-cache patch record, but its spec was changed since and is no longer cache-ready`,
        `restore it with 'shipwright-cache unpatch-strategy --mode in-place --kind ${r.kind} --strategy ${r.name}' (it undoes only the patch's own changes, and refuses if those were edited), then patch again`,
      );
    }
    const base = rec ? revertChanges(obj.spec, rec.changes) : obj.spec;
    const plan = planCachePatch(base, label, opts);
    const changeOps = changesToOps(base, plan.changes);
    const patchedSpec = applyJsonPatch({ spec: base }, changeOps).spec;
    if (specHash(patchedSpec) === specHash(obj.spec)) {
      return outcome('unchanged', `${label} is already cache-ready${rec ? ' (patched earlier by shipwright-cache)' : ''}; nothing changed`, plan);
    }
    const record: PatchRecord = {
      version: 1, tool: 'shipwright-cache', profile: plan.profile.id, mode: 'in-place', changes: plan.changes,
      cacheVolumes: plan.cacheVolumes, specBefore: specHash(base), specAfter: specHash(patchedSpec),
    };
    const ops: JsonPatchOp[] = [
      { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion },
      ...(rec ? revertOps(obj.spec, rec.changes) : []),
      ...changeOps,
      ...(rec ? [{ op: 'replace' as const, path: `/metadata/annotations/${escapeToken(ANNOTATION_PATCH)}`, value: JSON.stringify(record) }] : annotationOps(obj, JSON.stringify(record))),
    ];
    const after = applyJsonPatch(obj, ops);
    const diff = unifiedDiff(toYaml(forDiff(obj)), toYaml(forDiff(after)), [`${label} (live)`, `${label} (patched)`]);
    const what = rec ? `re-patched ${label} in place with the new options` : `patched ${label} in place`;
    if (opts.dryRun) return outcome('would-change', `would ${what.replace(/^re-patched/, 're-patch').replace(/^patched/, 'patch')} (${plan.changes.length} changes)`, plan, diff);
    await patchStrategy(kube, r, ops, obj.metadata.resourceVersion);
    return outcome('patched', `${what}: ${plan.changes.map(describeChange).join('; ')}`, plan, diff);
  });

  function outcome(action: PatchOutcome['action'], message: string, plan: PatchPlan, diff?: string): PatchOutcome {
    return {
      action, mode: 'in-place', source: r, target: r, profile: plan.profile.id, why: plan.why,
      changes: plan.changes.map(describeChange), cacheVolumes: plan.cacheVolumes, notes: plan.notes, message, diff,
    };
  }
}

function annotationOps(obj: StrategyObject, value: string): JsonPatchOp[] {
  if (!obj.metadata.annotations) return [{ op: 'add', path: '/metadata/annotations', value: { [ANNOTATION_PATCH]: value } }];
  return [{ op: 'add', path: `/metadata/annotations/${escapeToken(ANNOTATION_PATCH)}`, value }];
}

/** Copy: a namespaced BuildStrategy derived from the source, owned by nobody else. */
export async function patchAsCopy(kube: Kube, src: StrategyRef, target: StrategyRef, opts: PlanOptions & { dryRun: boolean; force: boolean }): Promise<PatchOutcome> {
  const source = await requireStrategy(kube, src);
  const label = refLabel(target);
  const plan: PatchPlan = planCachePatch(source.spec, refLabel(src), opts);
  const spec = applyChanges(source.spec, plan.changes);
  const record: PatchRecord = {
    version: 1, tool: 'shipwright-cache', profile: plan.profile.id, mode: 'copy', changes: plan.changes,
    cacheVolumes: plan.cacheVolumes, specBefore: specHash(source.spec), specAfter: specHash(spec),
    source: { kind: src.kind, name: src.name, namespace: src.namespace, resourceVersion: source.metadata.resourceVersion, specHash: specHash(source.spec) },
  };
  const desired: StrategyObject = {
    apiVersion: SHIPWRIGHT_API,
    kind: 'BuildStrategy',
    metadata: {
      name: target.name,
      namespace: target.namespace,
      labels: { [LABEL_MANAGED]: MANAGED_BY, 'shipwright-cache.io/profile': plan.profile.id },
      annotations: { [ANNOTATION_PATCH]: JSON.stringify(record), 'shipwright-cache.io/source': refLabel(src) },
    },
    spec,
  };
  const out = (action: PatchOutcome['action'], message: string, diff?: string): PatchOutcome => ({
    action, mode: 'copy', source: src, target, profile: plan.profile.id, why: plan.why,
    changes: plan.changes.map(describeChange), cacheVolumes: plan.cacheVolumes, notes: plan.notes, message, diff,
  });
  const existing = await readStrategy(kube, target);
  if (!existing) {
    const diff = unifiedDiff(toYaml(forDiff(source)), toYaml(desired), [`${refLabel(src)} (source)`, `${label} (copy)`]);
    if (opts.dryRun && (await namespaceMissing(kube, target.namespace!))) throw namespaceNotFoundError(target.namespace!, `create ${label}`);
    if (opts.dryRun) return out('would-change', `would create ${label} from ${refLabel(src)}`, diff);
    await call(`create ${label}`, () => kube.custom.createNamespacedCustomObject({ group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: 'buildstrategies', namespace: target.namespace!, body: desired }));
    return out('created', `created ${label} from ${refLabel(src)}: ${plan.changes.map(describeChange).join('; ') || 'no change needed'}`, diff);
  }
  const prev = parsePatchRecord(existing.metadata.annotations, label);
  if (!prev || existing.metadata.labels?.[LABEL_MANAGED] !== MANAGED_BY) {
    throw conflictError(`${label} already exists and was not made by shipwright-cache`, `pass --name to derive the copy under another name, or delete ${label} if it is not needed`);
  }
  if (specHash(existing.spec) === record.specAfter && prev.source?.specHash === record.source!.specHash) {
    return out('unchanged', `${label} is already an up-to-date cache-ready copy of ${refLabel(src)}; nothing changed`);
  }
  if (specHash(existing.spec) !== prev.specAfter && !opts.force) {
    throw conflictError(`${label} was edited since shipwright-cache wrote it; refusing to overwrite those edits`, 'pass --force to re-derive it from the source (the edits are lost), or --name for a new copy');
  }
  const why = prev.source?.specHash !== record.source!.specHash ? `${refLabel(src)} changed since the last copy` : specHash(existing.spec) !== prev.specAfter ? 'the copy was edited (--force)' : 'the options changed';
  const diff = unifiedDiff(toYaml(forDiff(existing)), toYaml(forDiff(desired)), [`${label} (live)`, `${label} (re-derived)`]);
  if (opts.dryRun) return out('would-change', `would re-derive ${label} from ${refLabel(src)}: ${why}`, diff);
  await withConflictRetry(`update ${label}`, async () => {
    const cur = await requireStrategy(kube, target);
    await kube.custom.replaceNamespacedCustomObject({
      group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: 'buildstrategies', namespace: target.namespace!, name: target.name,
      body: { ...desired, metadata: { ...desired.metadata, resourceVersion: cur.metadata.resourceVersion } },
    });
  });
  return out('updated', `re-derived ${label} from ${refLabel(src)}: ${why}`, diff);
}

/** Undo an in-place patch: restore what was there, using the record on the object. */
export async function unpatchInPlace(kube: Kube, r: StrategyRef, opts: { dryRun: boolean; force: boolean }): Promise<PatchOutcome> {
  const label = refLabel(r);
  return withConflictRetry(`unpatch ${label}`, async () => {
    const obj = await requireStrategy(kube, r);
    const rec = parsePatchRecord(obj.metadata.annotations, label);
    const out = (action: PatchOutcome['action'], message: string, extra: Partial<PatchOutcome> = {}): PatchOutcome => ({
      action, mode: 'in-place', source: r, target: r, profile: rec?.profile, changes: (rec?.changes ?? []).map(describeChange), cacheVolumes: [], notes: [], message, ...extra,
    });
    if (!rec) return out('unchanged', `${label} carries no shipwright-cache patch record; nothing to undo`);
    const dropRecord: JsonPatchOp[] = [{ op: 'remove', path: `/metadata/annotations/${escapeToken(ANNOTATION_PATCH)}` }];
    const guard: JsonPatchOp = { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion };
    const ops = opts.force ? [guard, ...dropRecord] : [guard, ...revertOps(obj.spec, rec.changes), ...dropRecord];
    const after = applyJsonPatch(obj, ops);
    if (!opts.force && specHash(after.spec) !== rec.specBefore) {
      // Someone also changed unrelated parts: the undo still only removes our changes, and says so.
      progress('unpatch', `${label} was also changed by someone else since the patch; only the cache changes are undone`);
    }
    const diff = unifiedDiff(toYaml(forDiff(obj)), toYaml(forDiff(after)), [`${label} (live)`, `${label} (restored)`]);
    if (opts.dryRun) return out('would-change', `would ${opts.force ? 'drop the patch record of' : 'restore'} ${label}`, { diff });
    await patchStrategy(kube, r, ops, obj.metadata.resourceVersion);
    return out('unpatched', opts.force ? `dropped the patch record of ${label}; its spec was left as it is` : `restored ${label}: ${rec.changes.map(describeChange).join('; ')} undone`, { diff });
  });
}

/** Names of the Builds in the strategy's namespace that reference it (empty when they cannot be listed). */
async function buildsUsing(kube: Kube, target: StrategyRef): Promise<string[]> {
  try {
    const list = (await kube.custom.listNamespacedCustomObject({ group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: 'builds', namespace: target.namespace! })) as { items: { metadata: { name: string }; spec?: { strategy?: { name?: string; kind?: string } } }[] };
    return list.items.filter((b) => b.spec?.strategy?.name === target.name && (b.spec.strategy.kind ?? 'ClusterBuildStrategy') === target.kind).map((b) => b.metadata.name);
  } catch (err) {
    progress('unpatch', `could not list the Builds that use ${refLabel(target)} (${statusOf(err).code ?? (err as Error).message}); not checked`);
    return [];
  }
}

/** Undo a copy: delete it, if it is ours. */
export async function deleteCopy(kube: Kube, target: StrategyRef, opts: { dryRun: boolean; force: boolean }): Promise<PatchOutcome> {
  const label = refLabel(target);
  const existing = await readStrategy(kube, target);
  const out = (action: PatchOutcome['action'], message: string): PatchOutcome => ({ action, mode: 'copy', source: target, target, changes: [], cacheVolumes: [], notes: [], message });
  if (!existing) return out('unchanged', `${label} does not exist; nothing to undo`);
  if (existing.metadata.labels?.[LABEL_MANAGED] !== MANAGED_BY) {
    throw conflictError(`${label} was not made by shipwright-cache; not deleting it`, 'check --name / --namespace');
  }
  const rec = parsePatchRecord(existing.metadata.annotations, label);
  if (rec && specHash(existing.spec) !== rec.specAfter && !opts.force) {
    throw conflictError(`${label} was edited since shipwright-cache wrote it; deleting it would lose those edits`, 'pass --force to delete it anyway');
  }
  const users = await buildsUsing(kube, target);
  if (users.length && !opts.force) {
    throw conflictError(`${label} is still used by Build(s) ${users.join(', ')}; their next BuildRuns would fail (BuildStrategyNotFound)`, 'delete or re-point those Builds first, or pass --force');
  }
  if (opts.dryRun) return out('would-change', `would delete ${label}`);
  await call(`delete ${label}`, () =>
    kube.custom.deleteNamespacedCustomObject({ group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: 'buildstrategies', namespace: target.namespace!, name: target.name }),
  ).catch((err) => {
    if (err instanceof CliError && err.exitCode === ExitCode.notFound) return;
    throw err;
  });
  return out('deleted', `deleted ${label}`);
}

