// Creating BuildRuns one after another and measuring each: the I/O around timing.ts.
import { randomBytes } from 'node:crypto';
import { call, poll, SHIPWRIGHT_GROUP, SHIPWRIGHT_VERSION, statusOf, type Kube } from './kube.js';
import { progress, elapsed, formatDuration } from './log.js';
import { buildRunDone, countCacheHits, phasesFrom, strategyStepContainers, totalSeconds, type BuildRunLike, type TaskRunLike } from './timing.js';
import type { CacheProfile } from './profiles.js';
import type { RunEntry, RunKind } from './record.js';
import { CliError, ExitCode } from './errors.js';
import { classifyFailure, redact } from './failures.js';
import { LABEL_MANAGED, MANAGED_BY } from './patch.js';

export const LABEL_RUN_ID = 'shipwright-cache.io/run-id';
export const LABEL_RUN_KIND = 'shipwright-cache.io/run-kind';

const brApi = (namespace: string) => ({ group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: 'buildruns', namespace });

export const newRunId = () => `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;

export interface RunOne {
  namespace: string;
  build: string;
  runId: string;
  index: number;
  kind: RunKind;
  /** Volumes to override with emptyDir (baseline runs: no cache). */
  emptyDirVolumes?: string[];
  timeoutMs: number;
  profile?: CacheProfile;
  /** Called with the BuildRun name as soon as it exists (for interrupt handling). */
  onCreated?: (name: string) => void;
  signal?: AbortSignal;
}

/** Creates one BuildRun, waits for it, and measures it. Never throws for a failed build: that is recorded. */
export async function runOnce(kube: Kube, o: RunOne): Promise<RunEntry> {
  const body = {
    apiVersion: `${SHIPWRIGHT_GROUP}/${SHIPWRIGHT_VERSION}`,
    kind: 'BuildRun',
    metadata: {
      generateName: `${o.build}-${o.kind}-`,
      namespace: o.namespace,
      labels: { [LABEL_MANAGED]: MANAGED_BY, [LABEL_RUN_ID]: o.runId, [LABEL_RUN_KIND]: o.kind, 'shipwright-cache.io/run-index': String(o.index) },
    },
    spec: {
      build: { name: o.build },
      ...(o.emptyDirVolumes?.length ? { volumes: o.emptyDirVolumes.map((name) => ({ name, emptyDir: {} })) } : {}),
    },
  };
  const created = (await call(`create BuildRun for Build ${o.namespace}/${o.build}`, () => kube.custom.createNamespacedCustomObject({ ...brApi(o.namespace), body }))) as BuildRunLike;
  const name = created.metadata.name;
  o.onCreated?.(name);
  const label = `BuildRun ${o.namespace}/${name}`;
  const began = Date.now();
  progress('run', `#${o.index + 1} (${o.kind}) ${label} created; waiting up to ${formatDuration(o.timeoutMs)}`);

  let br: BuildRunLike;
  let timedOut = false;
  let state = 'created';
  try {
    br = await poll(`${label} to finish`, o.timeoutMs, async () => {
      if (o.signal?.aborted) throw new CliError('interrupted', { exitCode: ExitCode.interrupted });
      const cur = (await call(`get ${label}`, () => kube.custom.getNamespacedCustomObject({ ...brApi(o.namespace), name }))) as BuildRunLike;
      const c = cur.status?.conditions?.find((x) => x.type === 'Succeeded');
      if (c) state = `${c.reason ?? c.status}${c.message ? `: ${c.message.slice(0, 120)}` : ''}`;
      return buildRunDone(cur) ? cur : undefined;
    }, {
      intervalMs: 2000,
      onWait: () => progress('run', `#${o.index + 1} ${label}: ${state} (${elapsed(began)})`),
    });
  } catch (err) {
    if (!(err instanceof CliError) || (err.exitCode !== ExitCode.timeout && err.exitCode !== ExitCode.interrupted)) throw err;
    timedOut = err.exitCode === ExitCode.timeout;
    await cancelBuildRun(kube, o.namespace, name);
    br = (await kube.custom.getNamespacedCustomObject({ ...brApi(o.namespace), name }).catch(() => created)) as BuildRunLike;
    if (!timedOut) throw Object.assign(err, { buildRunName: name });
  }
  return measure(kube, o, br, timedOut);
}

export async function cancelBuildRun(kube: Kube, namespace: string, name: string): Promise<void> {
  try {
    await kube.custom.patchNamespacedCustomObject(
      { ...brApi(namespace), name, body: [{ op: 'add', path: '/spec/state', value: 'BuildRunCanceled' }] },
    );
    progress('run', `canceled BuildRun ${namespace}/${name}`);
  } catch (err) {
    progress('run', `could not cancel BuildRun ${namespace}/${name}: ${(err as Error).message}`);
  }
}

async function measure(kube: Kube, o: RunOne, br: BuildRunLike, timedOut: boolean): Promise<RunEntry> {
  const done = buildRunDone(br);
  const taskRunName = br.status?.executor?.kind === 'TaskRun' || !br.status?.executor?.kind ? (br.status?.executor?.name ?? br.status?.taskRunName) : undefined;
  let taskRun: TaskRunLike | undefined;
  if (taskRunName) {
    taskRun = (await kube.custom
      .getNamespacedCustomObject({ group: 'tekton.dev', version: 'v1', plural: 'taskruns', namespace: o.namespace, name: taskRunName })
      .catch((err) => {
        progress('run', `cannot read TaskRun ${taskRunName} (${statusOf(err).code ?? (err as Error).message}); phases unknown`);
        return undefined;
      })) as TaskRunLike | undefined;
  }
  let hits: number | null = null;
  let steps: number | null = null;
  const pod = taskRun?.status?.podName;
  const failed = timedOut || done?.outcome !== 'Succeeded';
  let log = '';
  if (pod && (o.profile?.log || failed)) {
    for (const container of strategyStepContainers(taskRun)) {
      log += await kube.core.readNamespacedPodLog({ name: pod, namespace: o.namespace, container }).catch(() => '');
    }
    if (log) ({ hits, steps } = countCacheHits(log, o.profile));
  }
  const failure = failed && !timedOut ? classifyFailure(`${done?.message ?? ''}\n${br.status?.failureDetails?.message ?? ''}`, log) : undefined;
  const entry: RunEntry = {
    index: o.index,
    kind: o.kind,
    buildRunName: br.metadata.name,
    outcome: timedOut ? 'TimedOut' : (done?.outcome ?? 'Failed'),
    reason: timedOut ? 'Timeout' : done?.reason,
    message: timedOut ? `no result within ${formatDuration(o.timeoutMs)}; canceled` : done?.message === undefined ? undefined : redact(done.message),
    startTime: br.status?.startTime,
    completionTime: br.status?.completionTime,
    totalSeconds: totalSeconds(br),
    phases: phasesFrom(taskRun, br),
    cacheHits: hits,
    cacheableSteps: steps,
    ...(failure ? { failure: { class: failure.kind, ...(failure.evidence ? { evidence: redact(failure.evidence) } : {}) } } : {}),
  };
  const p = entry.phases;
  progress('run', `#${o.index + 1} (${o.kind}) ${entry.buildRunName}: ${entry.outcome}${entry.reason && entry.outcome !== 'Succeeded' ? ` (${entry.reason})` : ''}, total ${fmt(entry.totalSeconds)}, build ${fmt(p.build)}${hits !== null ? `, cache hits ${hits}/${steps}` : ''}`);
  return entry;
}

const fmt = (s: number | null | undefined) => (s === null || s === undefined ? '?' : `${s.toFixed(1)}s`);
