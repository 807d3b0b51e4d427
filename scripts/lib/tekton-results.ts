// The gate's Tekton results: small scalars plus a compact JSON summary.
//
// All results of a TaskRun travel in one container termination message of at
// most 4096 bytes, JSON-encoded by Tekton's entrypoint as
// [{"key":"<name>","value":"<value>","type":1}, ...], next to Tekton's own
// entries (StartedAt) and the results of the Task's other steps. So the size
// that counts is the encoded one (quotes in the summary are escaped), and the
// gate keeps to a share of the 4096 bytes.
import { speedupDigits, type GateResult } from './gate.js';

/** Result names, as the Task must declare them. */
export const TEKTON_RESULT_NAMES = ['passed', 'speedup', 'cold-seconds', 'warm-seconds', 'metric', 'reason', 'summary'] as const;
export type TektonResultName = (typeof TEKTON_RESULT_NAMES)[number];
export type TektonResults = Record<TektonResultName, string>;

/** Tekton's limit for one container's termination message, shared by all results. */
export const TERMINATION_MESSAGE_BYTES = 4096;

/** Bytes the gate's results may take: the rest is left for Tekton's own entries and other steps' results. */
export const GATE_RESULTS_MAX_BYTES = 3072;

/** Size of `results` as Tekton's entrypoint encodes them in the termination message. */
export function encodedResultsBytes(results: Partial<Record<string, string>>): number {
  const entries = Object.entries(results).map(([key, value]) => ({ key, value, type: 1 }));
  return Buffer.byteLength(JSON.stringify(entries), 'utf8');
}

/** Throws if the encoded results exceed `maxBytes` (default GATE_RESULTS_MAX_BYTES), so an oversized result never reaches Tekton. */
export function assertResultsFit(results: Partial<Record<string, string>>, maxBytes = GATE_RESULTS_MAX_BYTES): void {
  const bytes = encodedResultsBytes(results);
  if (bytes > maxBytes) throw new Error(`Tekton results take ${bytes} bytes encoded, more than the ${maxBytes} allowed`);
}

/** Seconds for machines: up to 3 decimals, no trailing zeros (`20`, `0.95`); empty when unknown. */
const seconds = (value: number | null): string => (value === null ? '' : String(Math.round(value * 1000) / 1000));

const round3 = (value: number | null): number | null => (value === null ? null : Math.round(value * 1000) / 1000);

/** The compact JSON summary: every number of the gate result, no names or free text, so its size is bounded. */
function summary(gate: GateResult): string {
  const spread = gate.warmSpread;
  return JSON.stringify({
    passed: gate.passed,
    metric: gate.metric,
    minSpeedup: gate.minSpeedup,
    speedup: round3(gate.speedup),
    cold: round3(gate.coldSeconds),
    warm: {
      n: gate.warmCount,
      median: round3(gate.warmMedianSeconds),
      min: round3(spread?.min ?? null),
      max: round3(spread?.max ?? null),
      stdev: round3(spread?.stdev ?? null),
    },
    total: { cold: round3(gate.totals.coldSeconds), warm: round3(gate.totals.warmMedianSeconds), speedup: round3(gate.totals.speedup) },
    baseline: gate.baseline && { n: gate.baseline.count, median: round3(gate.baseline.medianSeconds), speedupVsWarm: round3(gate.baseline.speedupVsWarm) },
    cacheHits: gate.cacheHits,
    failedRuns: gate.failedRuns.length,
  });
}

/**
 * Cuts `text` (at code-point boundaries, ending in `…`) to the longest prefix
 * for which `fits(prefix)` holds; `fits` must be monotonic in the length.
 */
function truncateToFit(text: string, fits: (candidate: string) => boolean): string {
  if (fits(text)) return text;
  const chars = Array.from(text);
  let lo = 0;
  let hi = chars.length - 1;
  while (lo < hi) {
    const midpoint = Math.ceil((lo + hi) / 2);
    if (fits(`${chars.slice(0, midpoint).join('')}…`)) lo = midpoint;
    else hi = midpoint - 1;
  }
  return `${chars.slice(0, lo).join('')}…`;
}

/**
 * The gate's Tekton results. Unknown numbers are empty strings; `speedup` has
 * two decimals (more only if needed to stay on the right side of the
 * threshold). `reason` is cut to fit within `maxBytes` encoded; the result is
 * asserted to fit.
 */
export function tektonResults(gate: GateResult, maxBytes = GATE_RESULTS_MAX_BYTES): TektonResults {
  const base: Omit<TektonResults, 'reason'> = {
    passed: String(gate.passed),
    speedup: gate.speedup === null ? '' : speedupDigits(gate.speedup, gate.minSpeedup),
    'cold-seconds': seconds(gate.coldSeconds),
    'warm-seconds': seconds(gate.warmMedianSeconds),
    metric: gate.metric,
    summary: summary(gate),
  };
  const reason = truncateToFit(gate.reason, (candidate) => encodedResultsBytes({ ...base, reason: candidate }) <= maxBytes);
  const results: TektonResults = { ...base, reason };
  assertResultsFit(results, maxBytes);
  return results;
}
