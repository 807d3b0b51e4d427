import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coefficientOfVariation, max, mean, median, min, percentile, stdev, summarize } from '../../scripts/lib/stats.js';

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) < eps, `expected ${expected}, got ${actual}`);

test('median: middle sample of an odd count, whatever the order', () => {
  assert.is(median([1.1, 0.9, 1.0]), 1.0);
  assert.is(median([5]), 5);
});

test('median: mean of the two middle samples of an even count', () => {
  assert.is(median([4, 1, 3, 2]), 2.5);
});

test('median does not reorder the caller array', () => {
  const xs = [3, 1, 2];
  median(xs);
  assert.equal(xs, [3, 1, 2]);
});

test('mean, min and max', () => {
  assert.is(mean([1, 2, 3, 6]), 3);
  assert.is(min([13.5, 14, 14.5]), 13.5);
  assert.is(max([13.5, 14, 14.5]), 14.5);
});

test('percentile interpolates linearly between closest ranks', () => {
  const xs = [1, 2, 3, 4];
  assert.is(percentile(xs, 0), 1);
  assert.is(percentile(xs, 100), 4);
  close(percentile(xs, 25), 1.75);
  close(percentile(xs, 90), 3.7);
  assert.is(percentile([7], 90), 7);
});

test('percentile rejects p outside [0, 100] or not a number', () => {
  assert.throws(() => percentile([1, 2], -1), /p must be a number in \[0, 100\]/);
  assert.throws(() => percentile([1, 2], 101), /p must be a number in \[0, 100\]/);
  assert.throws(() => percentile([1, 2], Number.NaN), /p must be a number/);
});

test('stdev is the sample standard deviation (n - 1)', () => {
  // Population stdev of this classic set is 2; the sample stdev is sqrt(32 / 7).
  close(stdev([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7));
  close(stdev([0.9, 1.1, 1.0]), 0.1);
});

test('stdev of one sample is 0', () => {
  assert.is(stdev([20]), 0);
});

test('coefficient of variation is stdev / mean, and 0 when every sample is 0', () => {
  close(coefficientOfVariation([0.9, 1.1, 1.0]), 0.1);
  assert.is(coefficientOfVariation([0, 0, 0]), 0);
});

test('every function throws a RangeError on empty input', () => {
  for (const fn of [median, mean, min, max, stdev, coefficientOfVariation, summarize, (xs: number[]) => percentile(xs, 50)]) {
    assert.throws(() => fn([]), (err: Error) => err instanceof RangeError && /no samples \(empty input\)/.test(err.message));
  }
});

test('NaN, Infinity and negative samples are rejected with the offending value', () => {
  assert.throws(() => median([1, Number.NaN]), /median: sample 1 is not a finite number: NaN/);
  assert.throws(() => mean([Number.POSITIVE_INFINITY]), /mean: sample 0 is not a finite number: Infinity/);
  assert.throws(() => stdev([1, -0.5]), /stdev: sample 1 is negative: -0.5/);
});

test('summarize returns every statistic at once', () => {
  const s = summarize([0.9, 1.1, 1.0]);
  assert.is(s.count, 3);
  assert.is(s.min, 0.9);
  assert.is(s.max, 1.1);
  assert.is(s.median, 1.0);
  close(s.mean, 1.0);
  close(s.stdev, 0.1);
  close(s.cv, 0.1);
});

test.run();
