// Descriptive statistics over durations (seconds) for the speedup gate.
//
// Contract of every function here: the samples are durations, so each must be
// a finite, non-negative number, and there must be at least one. Empty input,
// NaN, ±Infinity or a negative value throw a RangeError that names the
// function and the offending value: a statistic of nothing (or of garbage) is a
// bug in the caller, never a silent 0 or NaN in a report.

/** Throws a RangeError unless `values` is a non-empty list of finite, non-negative numbers. */
function assertSamples(values: readonly number[], fn: string): void {
  if (values.length === 0) throw new RangeError(`${fn}: no samples (empty input)`);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${fn}: sample ${i} is not a finite number: ${String(v)}`);
    if (v < 0) throw new RangeError(`${fn}: sample ${i} is negative: ${v}`);
  });
}

/** Smallest sample. */
export function min(values: readonly number[]): number {
  assertSamples(values, 'min');
  // A loop, not Math.min(...values): spreading a huge array overflows the call stack.
  return values.reduce((m, v) => (v < m ? v : m), Infinity);
}

/** Largest sample. */
export function max(values: readonly number[]): number {
  assertSamples(values, 'max');
  return values.reduce((m, v) => (v > m ? v : m), -Infinity);
}

/** Arithmetic mean. */
export function mean(values: readonly number[]): number {
  assertSamples(values, 'mean');
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/**
 * The p-th percentile (p in [0, 100]) by linear interpolation between the
 * closest ranks (the "R-7" / numpy default / spreadsheet PERCENTILE.INC rule):
 * percentile(xs, 0) is the min, 100 the max, 50 the median.
 */
export function percentile(values: readonly number[], p: number): number {
  assertSamples(values, 'percentile');
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100) {
    throw new RangeError(`percentile: p must be a number in [0, 100], got ${String(p)}`);
  }
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Median: the middle sample, or the mean of the two middle samples for an even count. */
export function median(values: readonly number[]): number {
  assertSamples(values, 'median');
  return percentile(values, 50);
}

/**
 * Sample standard deviation (Bessel's correction, divides by n - 1).
 * A single sample has no measurable spread: the result is 0.
 */
export function stdev(values: readonly number[]): number {
  assertSamples(values, 'stdev');
  if (values.length === 1) return 0;
  const m = mean(values);
  const squares = values.reduce((sum, v) => sum + (v - m) ** 2, 0);
  return Math.sqrt(squares / (values.length - 1));
}

/**
 * Coefficient of variation: sample standard deviation / mean, a unitless
 * measure of run-to-run noise (0.1 = 10 %). When every sample is 0 the mean is
 * 0 and there is no variation: the result is 0.
 */
export function coefficientOfVariation(values: readonly number[]): number {
  assertSamples(values, 'coefficientOfVariation');
  const m = mean(values);
  return m === 0 ? 0 : stdev(values) / m;
}

/** Every statistic the gate and the reports show for one group of runs. */
export interface Summary {
  count: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  /** Sample standard deviation; 0 for a single sample. */
  stdev: number;
  /** Coefficient of variation (stdev / mean); 0 when all samples are 0. */
  cv: number;
}

/** All statistics of `values` at once (same input contract as the single functions). */
export function summarize(values: readonly number[]): Summary {
  assertSamples(values, 'summarize');
  return {
    count: values.length,
    min: min(values),
    max: max(values),
    mean: mean(values),
    median: median(values),
    stdev: stdev(values),
    cv: coefficientOfVariation(values),
  };
}
