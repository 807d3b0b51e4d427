// Making a build strategy cache-ready, and undoing it, as pure functions.
//
// A patch is a list of semantic changes (this volume became overridable, this
// mount was added to that step, ...). The changes are turned into JSON Patch
// operations against the current object, each guarded by `test` operations on
// the names it relies on, because spec.volumes and spec.steps are atomic lists
// in Shipwright's CRDs (a merge patch or server-side apply would replace them
// whole). The same changes, recorded on the object, are what the undo reverts.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { applyJsonPatch, deepEqual, pointer, type JsonPatchOp } from './jsonpatch.js';
import { CACHE_VOLUME, detectProfile, locationPath, profileById, supportedToolsSentence, type CacheProfile } from './profiles.js';
import type { EnvVar, Step, StrategySpec, StrategyVolume, VolumeMount } from './strategy-types.js';
import { conflictError, usageError, CliError, ExitCode } from './errors.js';

export type Change =
  | { type: 'volume-overridable'; volume: string; before: boolean | undefined }
  | { type: 'volume-added'; volume: StrategyVolume; createdList: boolean }
  | { type: 'mount-added'; step: string; mount: VolumeMount; createdList: boolean }
  | { type: 'env-added'; step: string; env: EnvVar; createdList: boolean }
  | { type: 'param-default'; param: string; before: string | undefined; after: string };

export interface PatchPlan {
  profile: CacheProfile;
  /** Why this profile was chosen. */
  why: string;
  changes: Change[];
  /** Strategy volumes a Build must point at the cache PVC. */
  cacheVolumes: string[];
  /** Things left as they were, worth telling the user. */
  notes: string[];
}

export interface PlanOptions {
  /** Force a profile instead of detecting it. */
  profileId?: string;
  /** Set the default of the profile's storage-driver parameter (buildah: overlay or vfs). */
  storageDriver?: string;
}

export const STORAGE_DRIVERS = ['overlay', 'vfs'] as const;

/** /var/lib/containers/ and /var/lib//containers name /var/lib/containers. */
const normPath = (p: string): string => posix.normalize(p).replace(/(.)\/+$/, '$1');

/** The description of the volumes this tool adds (its mark: such a volume is ours to reuse). */
const OURS = '(added by shipwright-cache)';

/**
 * True when the volume `name` in the strategy can be used as the tool's own volume: an
 * emptyDir with no other source, or one carrying our description. Anything else (a configMap,
 * a secret, a PVC the author named so) belongs to the strategy's author.
 */
export function isReusableVolume(v: StrategyVolume): boolean {
  if (typeof v.description === 'string' && v.description.includes(OURS)) return true;
  const sources = volumeSources(v);
  return sources.length === 1 && sources[0] === 'emptyDir';
}

/** The fields of a volume that name its source (emptyDir, configMap, ...). */
const volumeSources = (v: StrategyVolume): string[] =>
  Object.keys(v).filter((k) => !['name', 'description', 'overridable'].includes(k) && (v as Record<string, unknown>)[k] !== undefined);

/** Why a volume of the strategy named like one of ours cannot be used as ours. */
function volumeNameConflict(strategyLabel: string, v: StrategyVolume, role: string) {
  const kind = volumeSources(v).join(', ') || 'no source';
  return conflictError(
    `${strategyLabel} already declares a volume '${v.name}' (${kind}) that is not an emptyDir; shipwright-cache uses that name for ${role} and will not take over the strategy's own volume`,
    `rename the strategy's volume '${v.name}' (in spec.volumes and its volumeMounts), then run patch-strategy again`,
  );
}

/**
 * The first duplicate that makes the strategy's pod invalid: two volumes with one name, two
 * steps with one name, or a step with two mounts at one path. Undefined when there is none.
 */
export function duplicateInStrategy(spec: StrategySpec): { what: string; fix: string } | undefined {
  const firstDup = (names: string[]) => names.find((n, i) => names.indexOf(n) !== i);
  const vol = firstDup((spec.volumes ?? []).map((v) => v.name));
  if (vol !== undefined) return { what: `spec.volumes declares volume '${vol}' more than once`, fix: `keep one volume '${vol}' in the strategy (rename or remove the others), then run again` };
  const step = firstDup((spec.steps ?? []).map((s) => s.name));
  if (step !== undefined) return { what: `spec.steps has more than one step named '${step}'`, fix: `give every step of the strategy its own name, then run again` };
  for (const s of spec.steps ?? []) {
    const path = firstDup((s.volumeMounts ?? []).map((m) => normPath(m.mountPath)));
    if (path !== undefined) {
      const names = (s.volumeMounts ?? []).filter((m) => normPath(m.mountPath) === path).map((m) => `'${m.name}'`).join(' and ');
      return { what: `step '${s.name}' mounts ${names} at the same path ${path}`, fix: `keep one mount at ${path} in step '${s.name}', then run again` };
    }
  }
  return undefined;
}

/** sha256 over a canonical (sorted keys) JSON rendering; 16 hex digits. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 16);
}

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  const o = v as Record<string, unknown>;
  return '{' + Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => JSON.stringify(k) + ':' + canonicalJson(o[k])).join(',') + '}';
}

/**
 * Works out what makes `spec` cache-ready. Throws a CliError when no profile
 * matches or the tool is refused. An empty change list means already ready.
 */
export function planCachePatch(spec: StrategySpec, strategyLabel: string, opts: PlanOptions = {}): PatchPlan {
  if (!spec || !Array.isArray(spec.steps) || spec.steps.length === 0) {
    throw usageError(`${strategyLabel} has no spec.steps; it is not a Shipwright build strategy`, 'check the name and kind of the strategy');
  }
  const dup = duplicateInStrategy(spec);
  if (dup) throw conflictError(`${strategyLabel}: ${dup.what}; the build pod would be invalid`, dup.fix);
  let match = detectProfile(spec);
  if (opts.profileId) {
    const forced = profileById(opts.profileId);
    if (!forced) throw usageError(`unknown profile '${opts.profileId}'`, supportedToolsSentence());
    const idx = spec.steps.map((s, i) => (forced.matchStep(s, spec) ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) {
      throw usageError(`profile '${forced.id}' matches no step of ${strategyLabel}`, `its steps are: ${spec.steps.map((s) => `${s.name} (${s.image ?? 'no image'})`).join(', ')}`);
    }
    match = { profile: forced, stepIndexes: idx, why: `profile '${forced.id}' chosen with --profile` };
  }
  if (!match) {
    throw new CliError(`${strategyLabel}: no known cache location; none of its steps (${spec.steps.map((s) => `${s.name}: ${s.image ?? '?'}`).join(', ')}) runs a supported tool`, {
      exitCode: ExitCode.usage,
      hint: supportedToolsSentence(),
    });
  }
  const { profile, stepIndexes, why } = match;
  if (profile.refusal) {
    throw new CliError(`${strategyLabel} uses ${profile.tool}: ${profile.refusal}`, { exitCode: ExitCode.usage, hint: supportedToolsSentence() });
  }

  const changes: Change[] = [];
  const notes: string[] = [];
  const cacheVolumes: string[] = [];
  const volumes = spec.volumes ?? [];
  const toolSteps = stepIndexes.map((i) => spec.steps[i]);
  let addedVolume = false;
  let volumesListCreated = spec.volumes === undefined;

  for (const loc of profile.locations) {
    // Where this location is in each tool step (it can depend on the step's env and user).
    const at = new Map<Step, string>();
    for (const step of toolSteps) {
      const where = locationPath(loc, step, spec);
      if (where.path === undefined) {
        notes.push(`step '${step.name}': ${loc.what} not cached: ${where.why}`);
        continue;
      }
      at.set(step, where.path);
    }
    // A volume mounted below the cache location would keep what the tool writes there out of the cache.
    for (const [step, path] of at) {
      const inner = (step.volumeMounts ?? []).find((m) => normPath(m.mountPath).startsWith(`${path}/`));
      if (inner) {
        throw conflictError(
          `${strategyLabel}: step '${step.name}' mounts volume '${inner.name}' at ${inner.mountPath}, inside the cache location ${path}; what the tool keeps there would bypass the cache`,
          `remove that mount, or mount the cache volume at ${inner.mountPath} yourself`,
        );
      }
    }
    // Volumes the tool steps already mount at this location.
    const mounted = new Set([...at].flatMap(([s, path]) => (s.volumeMounts ?? []).filter((m) => normPath(m.mountPath) === path).map((m) => m.name)));
    for (const name of mounted) {
      const vol = volumes.find((v) => v.name === name);
      if (!vol) {
        // An undeclared mount gets a (deprecated) implicit emptyDir; a Build cannot override it.
        throw conflictError(
          `${strategyLabel} mounts '${name}' at ${[...at.values()].join(', ')} but declares no volume '${name}' in spec.volumes`,
          `declare the volume in the strategy (e.g. {name: ${name}, emptyDir: {}}) and run patch-strategy again`,
        );
      }
      if (vol.overridable !== true && !changes.some((c) => c.type === 'volume-overridable' && c.volume === name)) {
        changes.push({ type: 'volume-overridable', volume: name, before: vol.overridable });
      }
      if (!cacheVolumes.includes(name)) cacheVolumes.push(name);
    }
    // Steps that do not mount anything there get the shared cache volume, under the location's sub-path.
    for (const [step, path] of at) {
      if ((step.volumeMounts ?? []).some((m) => normPath(m.mountPath) === path)) continue;
      const existing = volumes.find((v) => v.name === CACHE_VOLUME);
      if (existing && !isReusableVolume(existing)) throw volumeNameConflict(strategyLabel, existing, 'the cache volume it adds');
      if (existing && existing.overridable !== true && !changes.some((c) => c.type === 'volume-overridable' && c.volume === CACHE_VOLUME)) {
        changes.push({ type: 'volume-overridable', volume: CACHE_VOLUME, before: existing.overridable });
      }
      if (!existing && !addedVolume) {
        changes.push({
          type: 'volume-added',
          volume: { name: CACHE_VOLUME, description: `Build cache kept between BuildRuns; point it at a PersistentVolumeClaim in the Build ${OURS}`, overridable: true, emptyDir: {} },
          createdList: volumesListCreated,
        });
        addedVolume = true;
        volumesListCreated = false;
      }
      changes.push({
        type: 'mount-added',
        step: step.name,
        mount: { name: CACHE_VOLUME, mountPath: path, subPath: loc.subPath },
        createdList: step.volumeMounts === undefined && !changes.some((c) => c.type === 'mount-added' && c.step === step.name),
      });
      if (!cacheVolumes.includes(CACHE_VOLUME)) cacheVolumes.push(CACHE_VOLUME);
    }
  }

  // Directories the tool creates beside the cache: an emptyDir each, in the steps that got the cache mount.
  for (const dir of profile.scratch ?? []) {
    const mountPath = normPath(dir.mountPath);
    const steps = toolSteps.filter(
      (s) => changes.some((c) => c.type === 'mount-added' && c.step === s.name) && !(s.volumeMounts ?? []).some((m) => normPath(m.mountPath) === mountPath),
    );
    if (steps.length === 0) continue;
    const existing = volumes.find((v) => v.name === dir.volume);
    if (existing && !isReusableVolume(existing)) throw volumeNameConflict(strategyLabel, existing, `the ${dir.what}`);
    if (!existing) {
      changes.push({
        type: 'volume-added',
        volume: { name: dir.volume, description: `${dir.what}; beside the cache volume ${OURS}`, emptyDir: {} },
        createdList: volumesListCreated,
      });
      volumesListCreated = false;
    }
    for (const step of steps) {
      changes.push({ type: 'mount-added', step: step.name, mount: { name: dir.volume, mountPath }, createdList: false });
    }
  }

  for (const [name, value] of Object.entries(profile.env ?? {})) {
    for (const step of toolSteps) {
      const cur = (step.env ?? []).find((e) => e.name === name);
      if (cur) {
        if (cur.value !== value) notes.push(`step '${step.name}' already sets ${name}=${JSON.stringify(cur.value ?? '(from a reference)')}; left as is (cache reuse expects ${value})`);
        continue;
      }
      changes.push({
        type: 'env-added',
        step: step.name,
        env: { name, value },
        createdList: step.env === undefined && !changes.some((c) => c.type === 'env-added' && c.step === step.name),
      });
    }
  }

  if (opts.storageDriver !== undefined) {
    if (!(STORAGE_DRIVERS as readonly string[]).includes(opts.storageDriver)) {
      throw usageError(`--storage-driver '${opts.storageDriver}' is not supported`, `use one of: ${STORAGE_DRIVERS.join(', ')} (overlay is much faster; vfs works everywhere)`);
    }
    const pname = profile.storageDriverParam;
    const param = pname ? (spec.parameters ?? []).find((p) => p.name === pname) : undefined;
    if (!pname || !param) {
      throw usageError(`--storage-driver: ${strategyLabel} (${profile.tool}) has no '${pname ?? 'storage driver'}' parameter`, 'drop --storage-driver for this strategy');
    }
    if (param.default !== opts.storageDriver) changes.push({ type: 'param-default', param: pname, before: param.default, after: opts.storageDriver });
  }
  const caveat = profile.caveat?.(spec);
  if (caveat) notes.push(caveat);
  return { profile, why, changes, cacheVolumes, notes };
}

const idx = (list: { name: string }[] | undefined, name: string, what: string): number => {
  const i = (list ?? []).findIndex((x) => x.name === name);
  if (i < 0) throw conflictError(`${what} '${name}' is no longer in the strategy`, 'someone changed the strategy; compare it with the recorded patch and re-run');
  return i;
};

/**
 * JSON Patch operations that apply `changes` to `spec` (paths under `prefix`).
 * Every index-addressed operation is preceded by a `test` of the element's name.
 */
export function changesToOps(spec: StrategySpec, changes: readonly Change[], prefix = '/spec'): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  let cur = structuredClone(spec);
  const push = (...more: JsonPatchOp[]) => {
    ops.push(...more);
    cur = applyJsonPatch({ spec: cur }, more.map((o) => ({ ...o, path: o.path.replace(prefix, '/spec') }))).spec;
  };
  for (const c of changes) {
    switch (c.type) {
      case 'volume-overridable': {
        const i = idx(cur.volumes, c.volume, 'volume');
        const p = pointer('volumes', i);
        if (c.before === undefined) push({ op: 'test', path: `${prefix}${p}/name`, value: c.volume }, { op: 'add', path: `${prefix}${p}/overridable`, value: true });
        else push({ op: 'test', path: `${prefix}${p}/name`, value: c.volume }, { op: 'test', path: `${prefix}${p}/overridable`, value: c.before }, { op: 'replace', path: `${prefix}${p}/overridable`, value: true });
        break;
      }
      case 'volume-added':
        if (cur.volumes === undefined) push({ op: 'add', path: `${prefix}/volumes`, value: [c.volume] });
        else push({ op: 'add', path: `${prefix}/volumes/-`, value: c.volume });
        break;
      case 'mount-added':
      case 'env-added': {
        const field = c.type === 'mount-added' ? 'volumeMounts' : 'env';
        const value = c.type === 'mount-added' ? c.mount : c.env;
        const i = idx(cur.steps, c.step, 'step');
        const base = `${prefix}${pointer('steps', i)}`;
        const list = cur.steps[i][field];
        if (list === undefined) push({ op: 'test', path: `${base}/name`, value: c.step }, { op: 'add', path: `${base}/${field}`, value: [value] });
        else push({ op: 'test', path: `${base}/name`, value: c.step }, { op: 'add', path: `${base}/${field}/-`, value });
        break;
      }
      case 'param-default': {
        const i = idx(cur.parameters, c.param, 'parameter');
        const p = `${prefix}${pointer('parameters', i)}`;
        if (c.before === undefined) push({ op: 'test', path: `${p}/name`, value: c.param }, { op: 'add', path: `${p}/default`, value: c.after });
        else push({ op: 'test', path: `${p}/name`, value: c.param }, { op: 'test', path: `${p}/default`, value: c.before }, { op: 'replace', path: `${p}/default`, value: c.after });
        break;
      }
    }
  }
  return ops;
}

/**
 * JSON Patch operations that undo `changes` on the current `spec`. Each one
 * first tests that what the patch added is still there as it was added; if
 * someone changed it since, the whole undo fails instead of clobbering them.
 */
export function revertOps(spec: StrategySpec, changes: readonly Change[], prefix = '/spec'): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  let cur = structuredClone(spec);
  const push = (...more: JsonPatchOp[]) => {
    ops.push(...more);
    try {
      cur = applyJsonPatch({ spec: cur }, more.map((o) => ({ ...o, path: o.path.replace(prefix, '/spec') }))).spec;
    } catch (err) {
      throw conflictError(`the strategy no longer holds what the patch added (${(err as Error).message})`, 'someone edited it after the patch; restore it by hand, or run unpatch-strategy --force to only drop the patch record');
    }
  };
  for (const c of [...changes].reverse()) {
    switch (c.type) {
      case 'volume-overridable': {
        const p = `${prefix}${pointer('volumes', idx(cur.volumes, c.volume, 'volume'))}`;
        const t: JsonPatchOp[] = [{ op: 'test', path: `${p}/name`, value: c.volume }, { op: 'test', path: `${p}/overridable`, value: true }];
        push(...t, c.before === undefined ? { op: 'remove', path: `${p}/overridable` } : { op: 'replace', path: `${p}/overridable`, value: c.before });
        break;
      }
      case 'volume-added': {
        const i = idx(cur.volumes, c.volume.name, 'volume');
        const p = `${prefix}${pointer('volumes', i)}`;
        const onlyOne = (cur.volumes ?? []).length === 1;
        push({ op: 'test', path: p, value: c.volume }, c.createdList && onlyOne ? { op: 'remove', path: `${prefix}/volumes` } : { op: 'remove', path: p });
        break;
      }
      case 'mount-added':
      case 'env-added': {
        const field = c.type === 'mount-added' ? 'volumeMounts' : 'env';
        const value = c.type === 'mount-added' ? c.mount : c.env;
        const si = idx(cur.steps, c.step, 'step');
        const base = `${prefix}${pointer('steps', si)}`;
        const list = (cur.steps[si][field] ?? []) as { name: string }[];
        const j = list.findIndex((x) => deepEqual(x, value));
        if (j < 0) throw conflictError(`step '${c.step}' no longer has the ${field} entry the patch added (${JSON.stringify(value)})`, 'someone edited the strategy after the patch; restore it by hand, or run unpatch-strategy --force to only drop the patch record');
        const p = `${base}/${field}/${j}`;
        push({ op: 'test', path: `${base}/name`, value: c.step }, { op: 'test', path: p, value }, c.createdList && list.length === 1 ? { op: 'remove', path: `${base}/${field}` } : { op: 'remove', path: p });
        break;
      }
      case 'param-default': {
        const p = `${prefix}${pointer('parameters', idx(cur.parameters, c.param, 'parameter'))}`;
        push({ op: 'test', path: `${p}/name`, value: c.param }, { op: 'test', path: `${p}/default`, value: c.after }, c.before === undefined ? { op: 'remove', path: `${p}/default` } : { op: 'replace', path: `${p}/default`, value: c.before });
        break;
      }
    }
  }
  return ops;
}

/** The patched spec (pure). */
export function applyChanges(spec: StrategySpec, changes: readonly Change[]): StrategySpec {
  return applyJsonPatch({ spec }, changesToOps(spec, changes)).spec;
}

/** The spec with `changes` undone (pure). */
export function revertChanges(spec: StrategySpec, changes: readonly Change[]): StrategySpec {
  return applyJsonPatch({ spec }, revertOps(spec, changes)).spec;
}

/** One line per change, for people. */
export function describeChange(c: Change): string {
  switch (c.type) {
    case 'volume-overridable':
      return `volume '${c.volume}': overridable ${c.before === undefined ? '(unset)' : c.before} -> true`;
    case 'volume-added':
      return `volume '${c.volume.name}' added (emptyDir, overridable)`;
    case 'mount-added':
      return `step '${c.step}': mount '${c.mount.name}' at ${c.mount.mountPath}${c.mount.subPath ? ` (subPath ${c.mount.subPath})` : ''}`;
    case 'env-added':
      return `step '${c.step}': env ${c.env.name}=${c.env.value}`;
    case 'param-default':
      return `parameter '${c.param}': default ${c.before === undefined ? '(unset)' : JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`;
  }
}

/** The record kept on a patched object (annotation) so it can be undone and checked. */
export interface PatchRecord {
  version: 1;
  tool: 'shipwright-cache';
  profile: string;
  mode: 'in-place' | 'copy';
  changes: Change[];
  cacheVolumes: string[];
  /** Hash of spec before and after the patch: detects edits made since. */
  specBefore: string;
  specAfter: string;
  /** For copies: where the spec came from. */
  source?: { kind: string; name: string; namespace?: string; resourceVersion?: string; specHash: string };
}

export const ANNOTATION_PATCH = 'shipwright-cache.io/patch';
export const LABEL_MANAGED = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'shipwright-cache';

export function parsePatchRecord(annotations: Record<string, string> | undefined, label: string): PatchRecord | undefined {
  const raw = annotations?.[ANNOTATION_PATCH];
  if (raw === undefined) return undefined;
  let rec: PatchRecord;
  try {
    rec = JSON.parse(raw) as PatchRecord;
  } catch {
    throw conflictError(`${label}: annotation ${ANNOTATION_PATCH} is not valid JSON`, `remove the annotation (kubectl annotate ... ${ANNOTATION_PATCH}-) and restore the strategy by hand`);
  }
  if (rec?.version !== 1 || !Array.isArray(rec.changes)) {
    throw conflictError(`${label}: annotation ${ANNOTATION_PATCH} has an unknown format`, 'it was written by another version of shipwright-cache; use that version to undo it');
  }
  return rec;
}
