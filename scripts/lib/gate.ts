// The speedup gate: decides from a run record whether the build cache made the
// warm BuildRuns fast enough, and explains the verdict in one line.
//
// cold    = the first Succeeded run of kind 'cold' (or any run with cacheReset)
// warm    = the Succeeded runs of kind 'warm' (without cacheReset)
// baseline = the Succeeded runs of kind 'baseline' (no cache volume; A/B)
// speedup = cold / median(warm) on the chosen metric (build step or total time)
import { usageError } from './errors.js';
import type { RunEntry, RunKind, RunOutcome, RunRecord } from './record.js';
import { median, summarize } from './stats.js';

/** Default --min-speedup: warm runs must be 1.5x faster than the cold run. Provisional, to be tuned from measurements. */
export const DEFAULT_MIN_SPEEDUP = 1.5;

/** Default --min-warm-runs. */
export const DEFAULT_MIN_WARM_RUNS = 1;

/** What the gate compares: the strategy's build step(s), or the whole BuildRun (startTime to completionTime). */
export const GATE_METRICS = ['build', 'total'] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

export interface GateOptions {
  /** Pass when speedup >= minSpeedup (equal passes). Must be > 0. */
  minSpeedup: number;
  metric: GateMetric;
  /** Fewest Succeeded warm runs needed for a verdict; default 1. */
  minWarmRuns?: number;
  /** Also fail when the warm runs' build logs show no cache hit. */
  requireCacheHits?: boolean;
}

/** A run the gate refers to. */
export interface RunRef {
  index: number;
  buildRunName: string;
}

/** A run that did not succeed. */
export interface FailedRun extends RunRef {
  kind: RunKind;
  outcome: RunOutcome;
  reason?: string;
  message?: string;
}

/** Spread of the warm runs on the gate's metric, in seconds. */
export interface WarmSpread {
  min: number;
  max: number;
  /** Sample standard deviation (0 for one run). */
  stdev: number;
  /** Coefficient of variation, stdev / mean. */
  cv: number;
}

/** Cache hits counted in the build logs. */
export interface CacheHitSummary {
  /** Hits of the cold run; null when its log reported none. */
  cold: number | null;
  /** Succeeded warm runs whose build log reported a hit count. */
  warmReporting: number;
  /** Of those, the runs with at least one hit. */
  warmWithHits: number;
  /** Sum of the hits of the reporting warm runs. */
  warmHits: number;
}

/** Whole-BuildRun times, reported whatever the metric. */
export interface TotalsComparison {
  coldSeconds: number | null;
  warmMedianSeconds: number | null;
  /** coldSeconds / warmMedianSeconds; null when either is unknown or the median is 0. */
  speedup: number | null;
}

/** The no-cache A/B comparison, on the gate's metric. */
export interface BaselineComparison {
  /** Succeeded baseline runs with the metric measured. */
  count: number;
  medianSeconds: number | null;
  /** "Cache speedup vs no cache": baseline median / warm median. */
  speedupVsWarm: number | null;
}

export interface GateResult {
  passed: boolean;
  /** One human line (no control characters): why it passed or failed. */
  reason: string;
  metric: GateMetric;
  minSpeedup: number;
  minWarmRuns: number;
  requireCacheHits: boolean;
  /** The run taken as cold; null when no cold run succeeded. */
  coldRun: RunRef | null;
  /** Cold run's metric value; null when unknown. */
  coldSeconds: number | null;
  /** Succeeded warm runs (with or without the metric). */
  warmCount: number;
  /** Median of the warm runs' metric values that are known. */
  warmMedianSeconds: number | null;
  warmSpread: WarmSpread | null;
  /** coldSeconds / warmMedianSeconds, unrounded; null when it cannot be computed. */
  speedup: number | null;
  totals: TotalsComparison;
  /** Present when the record has baseline runs. */
  baseline: BaselineComparison | null;
  cacheHits: CacheHitSummary;
  failedRuns: FailedRun[];
}

/** Human name of a metric, as used in reasons and reports. */
export function metricLabel(metric: GateMetric): string {
  return metric === 'build' ? 'build step' : 'total BuildRun time';
}

/** Seconds with one decimal: `20.0s`. */
export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(1)}s`;
}

/**
 * A speedup with two decimals (`20.00x`). When a threshold is given, adds
 * decimals until the rounded text falls on the same side of the threshold as
 * the value, so 1.4999 against 1.5 reads `1.4999x`, never `1.50x < 1.5x`.
 */
export function formatSpeedup(speedup: number, threshold?: number): string {
  return `${speedupDigits(speedup, threshold)}x`;
}

/** The number part of formatSpeedup (`20.00`), for machine-read outputs such as Tekton results. */
export function speedupDigits(speedup: number, threshold?: number): string {
  for (let decimals = 2; decimals <= 6; decimals++) {
    const text = speedup.toFixed(decimals);
    if (threshold === undefined || Number(text) >= threshold === speedup >= threshold) return text;
  }
  return String(speedup);
}

const NUMBER_TEXT = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A number given as a number or a decimal string (flags and env vars); null for anything else. */
function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMBER_TEXT.test(value.trim())) return Number(value.trim());
  return null;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Validates --min-speedup (env SHIPWRIGHT_CACHE_MIN_SPEEDUP): a finite number
 * greater than 0. Values below 1 are allowed (warm may be slower, e.g. to catch
 * only a regression). Throws a usage error naming the flag otherwise (the CLI
 * adds "(from SHIPWRIGHT_CACHE_MIN_SPEEDUP)" when the value came from there).
 */
export function parseMinSpeedup(value: unknown): number {
  const n = toNumber(value);
  if (n === null || !Number.isFinite(n) || n <= 0) {
    throw usageError(
      `--min-speedup must be a number greater than 0, got ${describe(value)}`,
      `pass e.g. --min-speedup ${DEFAULT_MIN_SPEEDUP} to require warm runs ${DEFAULT_MIN_SPEEDUP}x faster than the cold run`,
    );
  }
  return n;
}

/** Validates --min-warm-runs (env SHIPWRIGHT_CACHE_MIN_WARM_RUNS): a whole number >= 1. */
export function parseMinWarmRuns(value: unknown): number {
  const n = toNumber(value);
  if (n === null || !Number.isInteger(n) || n < 1) {
    throw usageError(
      `--min-warm-runs must be a whole number >= 1, got ${describe(value)}`,
      'pass e.g. --min-warm-runs 3',
    );
  }
  return n;
}

/** The run's value on the metric, or null when it was not measured. */
function metricValue(run: RunEntry, metric: GateMetric): number | null {
  return metric === 'build' ? (run.phases.build ?? null) : run.totalSeconds;
}

const ratio = (numerator: number | null, denominator: number | null): number | null =>
  numerator === null || denominator === null || denominator <= 0 ? null : numerator / denominator;

const medianOrNull = (values: number[]): number | null => (values.length ? median(values) : null);

const known = (values: (number | null)[]): number[] => values.filter((v): v is number => v !== null);

/** Replaces control characters (newlines, terminal escapes) with spaces and trims: safe on one terminal or Markdown line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

const OUTCOME_VERB: Record<RunOutcome, string> = {
  Succeeded: 'succeeded',
  Failed: 'failed',
  TimedOut: 'timed out',
  Canceled: 'was canceled',
  Interrupted: 'was interrupted',
};

/** What to do about Shipwright reasons that mean the cache set-up is wrong. */
const REASON_HINTS: Record<string, string> = {
  VolumeNotOverridable: 'the strategy does not let the Build override its cache volume; run `shipwright-cache patch-strategy`',
  UndefinedVolume: 'the strategy declares no volume of that name; run `shipwright-cache patch-strategy`',
  VolumeDoesNotExist: 'the cache PVC is missing; run `shipwright-cache cache-pvc` before the first BuildRun',
};

function describeRun(run: RunRef & { kind: RunKind }): string {
  return `BuildRun ${run.buildRunName} (run #${run.index}, ${run.kind})`;
}

function failedRunsReason(failed: FailedRun[]): string {
  const [first, ...rest] = failed;
  const detail = [first.reason, first.message].filter((s): s is string => Boolean(s)).map(oneLine).join(': ');
  let text = `${describeRun(first)} ${OUTCOME_VERB[first.outcome]}${detail ? `: ${detail}` : ''}`;
  const hint = first.reason ? REASON_HINTS[first.reason] : undefined;
  if (hint) text += ` (${hint})`;
  if (rest.length) text += `; ${rest.length} more run(s) did not succeed: ${rest.map((r) => r.buildRunName).join(', ')}`;
  return text;
}

function cacheVolumeHint(record: RunRecord): string {
  const where = record.cache ? ` (volume ${record.cache.volume} from PVC ${record.cache.pvc})` : '';
  return `check that the build step mounts the cache volume${where} and that layer reuse is on (buildah: BUILDAH_LAYERS=true or --layers)`;
}

/** Reason when --require-cache-hits is set and the warm runs' logs do not prove cache use; null when they do. */
function cacheHitsFailure(record: RunRecord, warm: RunEntry[], hits: CacheHitSummary): string | null {
  if (hits.warmReporting === 0) {
    return "cache use unknown: no warm run's build log reported a cache-hit count (the build tool prints no cache markers, or its logs were unreadable); drop --require-cache-hits to gate on time alone";
  }
  const missed = warm.filter((r) => r.cacheHits === 0);
  if (missed.length === 0) return null;
  if (missed.length === hits.warmReporting) {
    return `cache never used: ${missed.length === 1 ? 'the warm run' : `all ${missed.length} warm runs`} reported 0 cache hits; ${cacheVolumeHint(record)}`;
  }
  return `cache missed in ${missed.length} of ${hits.warmReporting} warm runs (${missed.map((r) => r.buildRunName).join(', ')} reported 0 cache hits); check that every run mounts the same PVC and nothing resets it between runs`;
}

/** Refuses (usage error, exit 2) a computed number that is not finite, naming what it was computed from. */
function refuseNonFinite(what: string, value: number | null, from: string | null): void {
  if (value === null || Number.isFinite(value)) return;
  throw usageError(
    `the record's ${what} is ${String(value)}, not a finite number${from ? `: ${from}` : ''}`,
    'the times in the record are absurd (edited by hand?); record the runs again with `shipwright-cache run`',
  );
}

/**
 * Evaluates the gate on a record. Pure: no I/O, the same inputs give the same
 * result. Every number that can be computed is filled in, even when the gate
 * fails, so that reports can show them. Throws a usage error for invalid
 * options (see parseMinSpeedup / parseMinWarmRuns), and for a record whose
 * times give a speedup or spread that is not finite.
 */
export function evaluateGate(record: RunRecord, opts: GateOptions): GateResult {
  const minSpeedup = parseMinSpeedup(opts.minSpeedup);
  const minWarmRuns = parseMinWarmRuns(opts.minWarmRuns ?? DEFAULT_MIN_WARM_RUNS);
  const requireCacheHits = opts.requireCacheHits ?? false;
  const { metric } = opts;

  const label = metricLabel(metric);
  const runs = [...record.runs].sort((a, b) => a.index - b.index);
  const succeeded = runs.filter((r) => r.outcome === 'Succeeded');
  const failedRuns: FailedRun[] = runs
    .filter((r) => r.outcome !== 'Succeeded')
    .map(({ index, kind, buildRunName, outcome, reason, message }) => ({ index, kind, buildRunName, outcome, reason, message }));

  const cold = succeeded.find((r) => r.kind === 'cold' || r.cacheReset) ?? null;
  const warm = succeeded.filter((r) => r.kind === 'warm' && !r.cacheReset);
  const baselineRuns = succeeded.filter((r) => r.kind === 'baseline' && !r.cacheReset);

  const coldSeconds = cold ? metricValue(cold, metric) : null;
  const warmValues = known(warm.map((r) => metricValue(r, metric)));
  const warmStats = warmValues.length ? summarize(warmValues) : null;
  const warmMedianSeconds = warmStats?.median ?? null;
  const speedup = ratio(coldSeconds, warmMedianSeconds);

  const warmTotalMedian = medianOrNull(known(warm.map((r) => r.totalSeconds)));
  const coldTotal = cold?.totalSeconds ?? null;
  const totals: TotalsComparison = { coldSeconds: coldTotal, warmMedianSeconds: warmTotalMedian, speedup: ratio(coldTotal, warmTotalMedian) };

  const hasBaseline = runs.some((r) => r.kind === 'baseline');
  const baselineValues = known(baselineRuns.map((r) => metricValue(r, metric)));
  const baselineMedian = medianOrNull(baselineValues);
  const baseline: BaselineComparison | null = hasBaseline
    ? {
        count: baselineValues.length,
        medianSeconds: baselineMedian,
        speedupVsWarm: ratio(baselineMedian, warmMedianSeconds),
      }
    : null;

  const warmReported = known(warm.map((r) => r.cacheHits));
  const cacheHits: CacheHitSummary = {
    cold: cold?.cacheHits ?? null,
    warmReporting: warmReported.length,
    warmWithHits: warmReported.filter((h) => h > 0).length,
    warmHits: warmReported.reduce((sum, h) => sum + h, 0),
  };

  // Finite times can still divide to Infinity (1e308 s over 1e-320 s) or overflow a spread:
  // such a record is bad input (hand-made), never a pass.
  const field = metric === 'build' ? 'phases.build' : 'totalSeconds';
  const warmNames = warm.map((r) => r.buildRunName);
  const warmText = `the warm runs (${warmNames.slice(0, 3).join(', ')}${warmNames.length > 3 ? ', ...' : ''})`;
  refuseNonFinite(`speedup (cold / warm median ${label})`, speedup, cold && `${describeRun(cold)} ${field} ${coldSeconds} s over the ${field} median ${warmMedianSeconds} s of ${warmText}`);
  refuseNonFinite('spread of the warm runs', warmStats && warmStats.stdev + warmStats.cv, `${field} of ${warmText}`);
  refuseNonFinite('total-time speedup (cold / warm median total BuildRun time)', totals.speedup, cold && `${describeRun(cold)} totalSeconds ${coldTotal} s over the totalSeconds median ${warmTotalMedian} s of ${warmText}`);
  refuseNonFinite('speedup vs no cache (baseline median / warm median)', baseline?.speedupVsWarm ?? null, `${field} median ${baselineMedian} s of the baseline runs over ${warmMedianSeconds} s of ${warmText}`);

  const comparison =
    coldSeconds !== null && warmMedianSeconds !== null && speedup !== null
      ? `${label} ${formatSeconds(coldSeconds)} cold vs ${formatSeconds(warmMedianSeconds)} warm median = ${formatSpeedup(speedup, minSpeedup)}`
      : '';

  const failure = ((): string | null => {
    if (failedRuns.length) return failedRunsReason(failedRuns);
    if (!cold) {
      return 'no cold run: the record has no Succeeded run of kind cold (or with cacheReset), so there is nothing to compare the warm runs with; run the sequence again starting from an empty cache';
    }
    if (warm.length < minWarmRuns) {
      return `too few warm runs: ${warm.length} Succeeded warm run(s), --min-warm-runs requires ${minWarmRuns}`;
    }
    const unmeasured = [cold, ...warm].find((r) => metricValue(r, metric) === null);
    if (unmeasured) {
      return metric === 'build'
        ? `build step time unknown for ${describeRun(unmeasured)}: its build step timing could not be measured; gate on the whole BuildRun with --metric total`
        : `total time unknown for ${describeRun(unmeasured)}: it has no start or completion time`;
    }
    if (speedup === null) {
      return `warm median ${label} is ${formatSeconds(warmMedianSeconds ?? 0)}, too small to compute a speedup (Kubernetes timestamps have 1 s resolution)${metric === 'build' ? '; gate on the whole BuildRun with --metric total' : ''}`;
    }
    if (requireCacheHits) {
      const cacheFailure = cacheHitsFailure(record, warm, cacheHits);
      if (cacheFailure) return cacheFailure;
    }
    if (speedup < minSpeedup) {
      const neverHit = cacheHits.warmReporting > 0 && cacheHits.warmWithHits === 0 ? `; warm runs reported 0 cache hits, so the cache was never used: ${cacheVolumeHint(record)}` : '';
      return `speedup too low: ${comparison} < ${minSpeedup}x${neverHit}`;
    }
    return null;
  })();

  return {
    passed: failure === null,
    reason: oneLine(failure ?? `${comparison} >= ${minSpeedup}x`),
    metric,
    minSpeedup,
    minWarmRuns,
    requireCacheHits,
    coldRun: cold ? { index: cold.index, buildRunName: cold.buildRunName } : null,
    coldSeconds,
    warmCount: warm.length,
    warmMedianSeconds,
    warmSpread: warmStats ? { min: warmStats.min, max: warmStats.max, stdev: warmStats.stdev, cv: warmStats.cv } : null,
    speedup,
    totals,
    baseline,
    cacheHits,
    failedRuns,
  };
}
