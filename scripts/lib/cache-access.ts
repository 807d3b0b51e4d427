// Can the builder write its cache? A strategy whose build steps run as a
// non-root user (ko and BuildKit as 1000, buildpacks as 1001) fails deep in
// its first build when the cache volume (or the sub-path it mounts) belongs
// to root. Before the cold run, a short-lived pod writes and removes a probe
// file there as that user; `run --fix-permissions` hands the directory to that
// user once (a root pod, chown only what differs: a second run changes nothing).
//
// Which user, which sub-path, the pods and the messages are pure functions
// below; checkCacheAccess() does the I/O.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { StrategySpec } from './strategy-types.js';
import { call, statusOf, poll, type Kube } from './kube.js';
import { progress } from './log.js';
import { CliError, ExitCode } from './errors.js';
import { LABEL_MANAGED, MANAGED_BY } from './patch.js';

/** One build step that mounts a cache volume, and who it runs as. */
export interface CacheWriter {
  step: string;
  volume: string;
  mountPath: string;
  subPath?: string;
  /** undefined: neither the step nor the strategy sets runAsUser (the image's user, unknown here). */
  uid?: number;
  gid?: number;
}

interface RunAs {
  runAsUser?: number;
  runAsGroup?: number;
}
const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/**
 * The steps that mount one of `volumes`, with the user and group they run as:
 * the step's securityContext first, then the strategy's (Shipwright copies
 * spec.securityContext into strategy steps that set none of their own).
 */
export function cacheWriters(spec: StrategySpec, volumes: string[]): CacheWriter[] {
  const strat = (spec.securityContext ?? {}) as RunAs;
  const out: CacheWriter[] = [];
  for (const step of spec.steps) {
    const sc = (step.securityContext ?? {}) as RunAs;
    for (const m of step.volumeMounts ?? []) {
      if (!volumes.includes(m.name) || m.readOnly === true) continue;
      out.push({
        step: step.name,
        volume: m.name,
        mountPath: m.mountPath,
        ...(m.subPath ? { subPath: m.subPath } : {}),
        uid: num(sc.runAsUser) ?? num(strat.runAsUser),
        gid: num(sc.runAsGroup) ?? num(strat.runAsGroup),
      });
    }
  }
  return out;
}

export interface ProbePlan {
  /** Distinct (user, group, sub-path) to probe: non-root writers only. */
  probe: CacheWriter[];
  /** Why a writer is not probed (root can write; an unknown user cannot be reproduced). */
  skipped: { writer: CacheWriter; why: string }[];
}

export function planProbes(writers: CacheWriter[]): ProbePlan {
  const probe: CacheWriter[] = [];
  const skipped: ProbePlan['skipped'] = [];
  const seen = new Set<string>();
  for (const w of writers) {
    if (w.uid === undefined) {
      skipped.push({ writer: w, why: `step '${w.step}' sets no runAsUser (nor does the strategy): it runs as its image's user, which is not known here` });
      continue;
    }
    if (w.uid === 0) {
      skipped.push({ writer: w, why: `step '${w.step}' runs as root` });
      continue;
    }
    const key = `${w.uid}:${w.gid ?? ''}:${w.subPath ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    probe.push(w);
  }
  return { probe, skipped };
}

/** "uid 1000, gid 1000" / "uid 1000 (the image's group)". */
export const userLabel = (w: Pick<CacheWriter, 'uid' | 'gid'>) => `uid ${w.uid}${w.gid === undefined ? '' : `, gid ${w.gid}`}`;
/** "/gocache (sub-path gocache of the volume)" / "/var/lib/containers (the volume root)". */
export const pathLabel = (w: Pick<CacheWriter, 'mountPath' | 'subPath'>) => `${w.mountPath} (${w.subPath ? `sub-path '${w.subPath}' of the volume` : 'the volume root'})`;

export const PROBE_LABEL = 'shipwright-cache.io/access-check';
const PROBE_FILE = '.shipwright-cache-write-probe';

// The strategy's paths reach the scripts as environment variables, never as shell text.
const PROBE_SCRIPT = [
  'f="$PROBE_DIR/' + PROBE_FILE + '-$HOSTNAME"',
  'if ! err=$(touch "$f" 2>&1); then echo "$err" | tee /dev/termination-log >&2; exit 13; fi',
  'if ! err=$(rm -f "$f" 2>&1); then echo "$err" | tee /dev/termination-log >&2; exit 13; fi',
  'echo "writable: $PROBE_DIR as $(id -u):$(id -g)"',
].join('\n');

// Chown only what differs, so a second run changes nothing (and a big cache is not rewritten).
const FIX_SCRIPT = [
  'set -e',
  'mkdir -p "$FIX_DIR"',
  'if [ -n "$FIX_GID" ]; then owner="$FIX_UID:$FIX_GID"; sel="( ! -user $FIX_UID -o ! -group $FIX_GID )"; else owner="$FIX_UID"; sel="! -user $FIX_UID"; fi',
  'n=$(find "$FIX_DIR" $sel | wc -l)',
  'find "$FIX_DIR" $sel -exec chown -h "$owner" {} +',
  'chmod u+rwx "$FIX_DIR"',
  'echo "changed the owner of $n path(s) under $FIX_DIR to $owner"',
].join('\n');

const podName = (pvc: string, what: string, suffix: string) => `${pvc}-${what}-${suffix}`.slice(0, 63).replace(/-+$/, '');
const container = (i: number, image: string, w: CacheWriter, script: string, env: Record<string, string>, securityContext: V1Container['securityContext']): V1Container => ({
  name: `c${i}`,
  image,
  imagePullPolicy: 'IfNotPresent',
  command: ['sh', '-c', script],
  env: Object.entries(env).map(([name, value]) => ({ name, value })),
  securityContext,
  terminationMessagePolicy: 'FallbackToLogsOnError',
  volumeMounts: [{ name: 'cache', mountPath: w.mountPath, ...(w.subPath ? { subPath: w.subPath } : {}) }],
  resources: { requests: { cpu: '10m', memory: '16Mi' } },
});

function pod(namespace: string, pvc: string, name: string, what: string, containers: V1Container[]): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { [LABEL_MANAGED]: MANAGED_BY, [PROBE_LABEL]: what } },
    spec: { restartPolicy: 'Never', containers, volumes: [{ name: 'cache', persistentVolumeClaim: { claimName: pvc } }] },
  };
}

/** One container per writer, each as that writer's user, mounting the claim where and as the build step does. */
export function probePod(namespace: string, pvc: string, image: string, suffix: string, writers: CacheWriter[]): V1Pod {
  return pod(namespace, pvc, podName(pvc, 'probe', suffix), 'probe', writers.map((w, i) =>
    container(i, image, w, PROBE_SCRIPT, { PROBE_DIR: w.mountPath }, { runAsUser: w.uid, ...(w.gid === undefined ? {} : { runAsGroup: w.gid }), runAsNonRoot: true, allowPrivilegeEscalation: false })));
}

/** As root: hands each writer's directory to its user (`chown` of what differs). */
export function fixPod(namespace: string, pvc: string, image: string, suffix: string, writers: CacheWriter[]): V1Pod {
  return pod(namespace, pvc, podName(pvc, 'chown', suffix), 'chown', writers.map((w, i) =>
    container(i, image, w, FIX_SCRIPT, { FIX_DIR: w.mountPath, FIX_UID: String(w.uid), FIX_GID: w.gid === undefined ? '' : String(w.gid) }, { runAsUser: 0, runAsGroup: 0 })));
}

/** The writers whose probe container failed, with what it said (termination message, else exit code). */
export function probeFailures(p: V1Pod, writers: CacheWriter[]): { writer: CacheWriter; detail: string }[] {
  const out: { writer: CacheWriter; detail: string }[] = [];
  const statuses = p.status?.containerStatuses ?? [];
  writers.forEach((w, i) => {
    const t = statuses.find((s) => s.name === `c${i}`)?.state?.terminated;
    if (t && t.exitCode === 0) return;
    if (!t && p.status?.phase === 'Succeeded') return;
    const detail = t ? (t.message?.trim() || `exit code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}`) : `pod ${p.status?.phase ?? 'unknown'}${p.status?.message ? `: ${p.status.message}` : ''}`;
    out.push({ writer: w, detail: detail.split('\n').slice(-3).join(' ').slice(0, 300) });
  });
  return out;
}

/** The error for a builder that cannot write its cache. */
export function notWritableError(namespace: string, pvc: string, strategyLabel: string, failures: { writer: CacheWriter; detail: string }[], afterFix = false): CliError {
  const f = failures[0];
  const w = f.writer;
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more mount(s): ${failures.slice(1).map((x) => `${pathLabel(x.writer)} as ${userLabel(x.writer)}`).join('; ')})` : '';
  const owner = `${w.uid}${w.gid === undefined ? '' : `:${w.gid}`}`;
  const dir = w.subPath ? `the directory '${w.subPath}' on the volume` : 'the volume root';
  return new CliError(
    `the cache volume PersistentVolumeClaim ${namespace}/${pvc} is not writable by the build: step '${w.step}' of ${strategyLabel} runs as ${userLabel(w)} and mounts it at ${pathLabel(w)}; writing a file there failed: ${f.detail}${more}${afterFix ? ' (still, after --fix-permissions changed the owner: the volume does not let root change ownership, e.g. NFS with root_squash)' : ''}`,
    {
      exitCode: ExitCode.conflict,
      hint: afterFix
        ? `give ${owner} write access on the storage side (export options, the provisioner's uid/gid or mode settings), or use a StorageClass whose volumes root can chown`
        : `run again with --fix-permissions: a short root pod (--reset-image) changes the owner of ${dir} to ${owner} once (only what differs; safe to repeat); or chown it to ${owner} yourself`,
    },
  );
}

export interface PodOutcome {
  pod: V1Pod;
  log: string;
}

/** Creates the pod, waits until it ends, reads its log (best effort) and deletes it. */
export async function runPodToEnd(kube: Kube, body: V1Pod, timeoutMs: number, stage = 'reset'): Promise<PodOutcome> {
  const namespace = body.metadata!.namespace!;
  const name = body.metadata!.name!;
  await call(`create Pod ${namespace}/${name}`, () => kube.core.createNamespacedPod({ namespace, body }));
  try {
    const p = await poll(`pod ${namespace}/${name} to finish`, timeoutMs, async () => {
      const got = await call(`get Pod ${namespace}/${name}`, () => kube.core.readNamespacedPod({ name, namespace }));
      return got.status?.phase === 'Succeeded' || got.status?.phase === 'Failed' ? got : undefined;
    }, { onWait: () => progress(stage, `waiting for pod ${name}`) });
    const log = await kube.core.readNamespacedPodLog({ name, namespace }).catch(() => '');
    return { pod: p, log };
  } finally {
    await kube.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch((err) => {
      if (statusOf(err).code !== 404) progress(stage, `could not delete pod ${name}: ${(err as Error).message}`);
    });
  }
}

export interface AccessCheckOptions {
  image: string;
  suffix: string;
  fix: boolean;
  strategyLabel: string;
  timeoutMs?: number;
}

/**
 * Checks that every non-root build step can write the cache where it mounts it;
 * with `fix`, hands the directories to their users first when they cannot.
 * Returns what it did, for the progress line; throws notWritableError otherwise.
 * Without the right to create pods (the optional Role), it warns and goes on.
 */
export async function checkCacheAccess(kube: Kube, namespace: string, pvc: string, spec: StrategySpec, volumes: string[], o: AccessCheckOptions): Promise<'skipped' | 'writable' | 'fixed' | 'unchecked'> {
  const plan = planProbes(cacheWriters(spec, volumes));
  for (const s of plan.skipped) if (s.writer.uid === undefined) progress('access', `not checking write access for ${pathLabel(s.writer)}: ${s.why}`);
  if (plan.probe.length === 0) return 'skipped';
  const timeoutMs = o.timeoutMs ?? 180_000;
  const probe = async (suffix: string) => {
    const { pod: p } = await runPodToEnd(kube, probePod(namespace, pvc, o.image, suffix, plan.probe), timeoutMs, 'access');
    return probeFailures(p, plan.probe);
  };
  progress('access', `checking that ${plan.probe.map((w) => `${userLabel(w)} can write ${pathLabel(w)}`).join('; ')} on PersistentVolumeClaim ${namespace}/${pvc}`);
  let failures: Awaited<ReturnType<typeof probe>>;
  try {
    failures = await probe(o.suffix);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === ExitCode.forbidden) {
      progress('access', `warning: cannot check write access to the cache (${err.message}); apply tasks/rbac/shipwright-cache-pods-rbac.yaml to check it`);
      return 'unchecked';
    }
    throw err;
  }
  if (failures.length === 0) return 'writable';
  if (!o.fix) throw notWritableError(namespace, pvc, o.strategyLabel, failures);
  const writers = failures.map((f) => f.writer);
  progress('access', `--fix-permissions: changing the owner of ${writers.map((w) => `${pathLabel(w)} to ${w.uid}${w.gid === undefined ? '' : `:${w.gid}`}`).join('; ')}`);
  const fixed = await runPodToEnd(kube, fixPod(namespace, pvc, o.image, o.suffix, writers), timeoutMs, 'access');
  if (fixed.pod.status?.phase !== 'Succeeded') {
    throw new CliError(`--fix-permissions: the pod changing the owner on PersistentVolumeClaim ${namespace}/${pvc} ended ${fixed.pod.status?.phase}${fixed.log ? `: ${fixed.log.trim().slice(-300)}` : ''}`, { exitCode: ExitCode.failed, hint: 'check that the claim is writable by root (NFS root_squash prevents it), or change the owner on the storage side' });
  }
  if (fixed.log.trim()) progress('access', fixed.log.trim());
  const again = await probe(`${o.suffix}-2`);
  if (again.length) throw notWritableError(namespace, pvc, o.strategyLabel, again, true);
  return 'fixed';
}
