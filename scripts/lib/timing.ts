// Where the time of a BuildRun went, from its TaskRun and Pod, and what its
// build log says about cache use. Pure functions over the API objects.
import type { CacheProfile } from './profiles.js';
import type { Phases, RunOutcome } from './record.js';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface BuildRunLike {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Condition[];
    startTime?: string;
    completionTime?: string;
    taskRunName?: string;
    executor?: { name?: string; kind?: string };
    failureDetails?: { reason?: string; message?: string; location?: { pod?: string; container?: string } };
    output?: { digest?: string };
  };
}

export interface StepState {
  name: string;
  container?: string;
  terminated?: { startedAt?: string; finishedAt?: string; exitCode?: number; reason?: string };
  running?: { startedAt?: string };
}

export interface TaskRunLike {
  metadata: { name: string };
  status?: { startTime?: string; completionTime?: string; podName?: string; steps?: StepState[] };
}

const t = (s?: string) => (s ? Date.parse(s) : NaN);
const secs = (a?: string, b?: string) => {
  const d = (t(b) - t(a)) / 1000;
  return Number.isFinite(d) && d >= 0 ? d : undefined;
};

/** Succeeded condition, when the BuildRun is done; undefined while it runs. */
export function buildRunDone(br: BuildRunLike): { outcome: RunOutcome; reason?: string; message?: string } | undefined {
  const c = br.status?.conditions?.find((x) => x.type === 'Succeeded');
  if (!c || c.status === 'Unknown') return undefined;
  if (c.status === 'True') return { outcome: 'Succeeded', reason: c.reason, message: c.message };
  const outcome: RunOutcome = c.reason === 'BuildRunTimeout' ? 'TimedOut' : c.reason === 'BuildRunCanceled' ? 'Canceled' : 'Failed';
  return { outcome, reason: c.reason, message: br.status?.failureDetails?.message || c.message };
}

export function totalSeconds(br: BuildRunLike): number | null {
  return secs(br.status?.startTime, br.status?.completionTime) ?? null;
}

/** Shipwright's own steps: source acquisition and image processing; the rest belong to the strategy. */
const isSourceStep = (name: string) => /^source-/.test(name);
const isPushStep = (name: string) => name === 'image-processing';

/**
 * Splits the TaskRun into setup (TaskRun start to the first step: scheduling,
 * volume binding, image pulls, init containers), source, build and push.
 * Tekton rewrites each step's startedAt to when the step really began.
 */
export function phasesFrom(taskRun: TaskRunLike | undefined, buildRun?: BuildRunLike): Phases {
  const steps = (taskRun?.status?.steps ?? []).filter((s) => s.terminated?.startedAt && s.terminated?.finishedAt);
  if (steps.length === 0) return {};
  const dur = (s: StepState) => secs(s.terminated!.startedAt, s.terminated!.finishedAt) ?? 0;
  const sum = (pred: (n: string) => boolean) => {
    const sel = steps.filter((s) => pred(s.name));
    return sel.length ? sel.reduce((a, s) => a + dur(s), 0) : undefined;
  };
  const firstStart = steps.map((s) => t(s.terminated!.startedAt)).reduce((a, b) => Math.min(a, b));
  const start = taskRun?.status?.startTime ?? buildRun?.status?.startTime;
  const setup = start ? (firstStart - t(start)) / 1000 : undefined;
  const phases: Phases = {};
  if (setup !== undefined && Number.isFinite(setup) && setup >= 0) phases.setup = setup;
  const source = sum(isSourceStep);
  const build = sum((n) => !isSourceStep(n) && !isPushStep(n));
  const push = sum(isPushStep);
  if (source !== undefined) phases.source = source;
  if (build !== undefined) phases.build = build;
  if (push !== undefined) phases.push = push;
  return phases;
}

/** The strategy's step names in the TaskRun (step containers are `step-<name>`). */
export function strategyStepContainers(taskRun: TaskRunLike | undefined): string[] {
  return (taskRun?.status?.steps ?? []).filter((s) => !isSourceStep(s.name) && !isPushStep(s.name)).map((s) => s.container ?? `step-${s.name}`);
}

/** Cache hits and cacheable steps in a build log, per the profile's log patterns. */
export function countCacheHits(log: string, profile: CacheProfile | undefined): { hits: number | null; steps: number | null } {
  if (!profile?.log) return { hits: null, steps: null };
  const count = (re: RegExp) => (log.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g')) ?? []).length;
  return { hits: count(profile.log.hit), steps: count(profile.log.step) };
}
