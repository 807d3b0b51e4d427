import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError, ExitCode } from '../../scripts/lib/errors.js';
import { evaluateGate, formatSpeedup, parseMinSpeedup, parseMinWarmRuns, type GateOptions } from '../../scripts/lib/gate.js';
import type { RunEntry, RunRecord } from '../../scripts/lib/record.js';
import { loadRecord } from '../fixtures/records/load.js';

const BUILD: GateOptions = { minSpeedup: 1.5, metric: 'build' };

/** A record with the given runs (derived from the passing fixture's metadata). */
function withRuns(runs: RunEntry[]): RunRecord {
  return { ...loadRecord('pass-buildah'), runs };
}

/** A succeeded run with a build phase and total. */
function run(index: number, kind: RunEntry['kind'], build: number, total: number, cacheHits: number | null = null): RunEntry {
  return { index, kind, buildRunName: `br-${kind}-${index}`, outcome: 'Succeeded', totalSeconds: total, phases: { build }, cacheHits };
}

test('passing buildah record: every number of the result', () => {
  const gate = evaluateGate(loadRecord('pass-buildah'), BUILD);
  assert.is(gate.passed, true);
  assert.is(gate.reason, 'build step 20.0s cold vs 1.0s warm median = 20.00x >= 1.5x');
  assert.equal(gate.coldRun, { index: 0, buildRunName: 'sample-app-buildah-cold-7x2kq' });
  assert.is(gate.coldSeconds, 20);
  assert.is(gate.warmCount, 3);
  assert.is(gate.warmMedianSeconds, 1.0);
  assert.is(gate.warmSpread?.min, 0.9);
  assert.is(gate.warmSpread?.max, 1.1);
  assert.ok(Math.abs((gate.warmSpread?.stdev ?? 0) - 0.1) < 1e-9);
  assert.is(gate.speedup, 20);
  assert.equal(gate.totals, { coldSeconds: 45, warmMedianSeconds: 14, speedup: 45 / 14 });
  assert.ok(Math.abs((gate.baseline?.speedupVsWarm ?? 0) - 19.4) < 1e-9);
  assert.equal(gate.baseline && { count: gate.baseline.count, median: gate.baseline.medianSeconds }, { count: 1, median: 19.4 });
  assert.equal(gate.cacheHits, { cold: 0, warmReporting: 3, warmWithHits: 3, warmHits: 18 });
  assert.equal(gate.failedRuns, []);
});

test('the speedup value is not rounded (total metric: 45 / 14)', () => {
  const gate = evaluateGate(loadRecord('pass-buildah'), { minSpeedup: 1.5, metric: 'total' });
  assert.is(gate.speedup, 45 / 14);
  assert.is(gate.reason, 'total BuildRun time 45.0s cold vs 14.0s warm median = 3.21x >= 1.5x');
});

test('a failed BuildRun fails the gate naming it, its reason, message and the fix', () => {
  const gate = evaluateGate(loadRecord('failed-volume-not-overridable'), BUILD);
  assert.is(gate.passed, false);
  assert.is(
    gate.reason,
    'BuildRun sample-app-buildah-cold-w6n3p (run #0, cold) failed: VolumeNotOverridable: Volume "shp-buildah-container-storage" is not overridable in the Strategy (the strategy does not let the Build override its cache volume; run `shipwright-cache patch-strategy`)',
  );
  assert.is(gate.failedRuns.length, 1);
  assert.is(gate.speedup, null);
  assert.is(gate.coldRun, null);
});

test('a failed run fails the gate even when the speedup is met, and further failures are counted', () => {
  const record = loadRecord('pass-buildah');
  record.runs[2] = { ...record.runs[2], outcome: 'TimedOut', reason: 'BuildRunTimeout', message: 'BuildRun\nexceeded  10m' };
  record.runs[4] = { ...record.runs[4], outcome: 'Failed', reason: 'Failed' };
  const gate = evaluateGate(record, BUILD);
  assert.is(gate.passed, false);
  assert.is(
    gate.reason,
    'BuildRun sample-app-buildah-warm-z4h8c (run #2, warm) timed out: BuildRunTimeout: BuildRun exceeded 10m; 1 more run(s) did not succeed: sample-app-buildah-nocache-q8v2r',
  );
  assert.ok(gate.speedup !== null, 'numbers are still computed on failure');
});

test('no cold run', () => {
  const gate = evaluateGate(withRuns([run(0, 'warm', 1, 14), run(1, 'warm', 1, 14)]), BUILD);
  assert.is(gate.passed, false);
  assert.match(gate.reason, /^no cold run: the record has no Succeeded run of kind cold/);
});

test('a run with cacheReset counts as the cold run', () => {
  const reset = { ...run(0, 'warm', 20, 45), cacheReset: true };
  const gate = evaluateGate(withRuns([reset, run(1, 'warm', 2, 14)]), BUILD);
  assert.is(gate.passed, true);
  assert.is(gate.coldRun?.index, 0);
  assert.is(gate.warmCount, 1);
  assert.is(gate.speedup, 10);
});

test('the first cold run by index is used, whatever the array order', () => {
  const gate = evaluateGate(withRuns([run(2, 'warm', 2, 14), run(1, 'cold', 30, 50), run(0, 'cold', 20, 45)]), BUILD);
  assert.is(gate.coldRun?.index, 0);
  assert.is(gate.speedup, 10);
});

test('fewer warm runs than --min-warm-runs', () => {
  const record = loadRecord('pass-buildah');
  assert.is(evaluateGate(record, { ...BUILD, minWarmRuns: 3 }).passed, true);
  const gate = evaluateGate(record, { ...BUILD, minWarmRuns: 4 });
  assert.is(gate.passed, false);
  assert.is(gate.reason, 'too few warm runs: 3 Succeeded warm run(s), --min-warm-runs requires 4');
  assert.is(evaluateGate(withRuns([run(0, 'cold', 20, 45)]), BUILD).reason, 'too few warm runs: 0 Succeeded warm run(s), --min-warm-runs requires 1');
});

test('an unknown build phase fails with a pointer to --metric total, which then passes', () => {
  const record = loadRecord('pass-buildah');
  delete record.runs[2].phases.build;
  const gate = evaluateGate(record, BUILD);
  assert.is(gate.passed, false);
  assert.is(
    gate.reason,
    'build step time unknown for BuildRun sample-app-buildah-warm-z4h8c (run #2, warm): its build step timing could not be measured; gate on the whole BuildRun with --metric total',
  );
  assert.is(evaluateGate(record, { ...BUILD, metric: 'total' }).passed, true);
});

test('an unknown total time fails the total metric', () => {
  const record = loadRecord('pass-buildah');
  record.runs[0].totalSeconds = null;
  const gate = evaluateGate(record, { ...BUILD, metric: 'total' });
  assert.is(gate.passed, false);
  assert.match(gate.reason, /^total time unknown for BuildRun sample-app-buildah-cold-7x2kq \(run #0, cold\)/);
  assert.equal(gate.totals, { coldSeconds: null, warmMedianSeconds: 14, speedup: null });
});

test('speedup below the threshold names both numbers, the threshold and the unused cache', () => {
  const gate = evaluateGate(loadRecord('cache-never-used'), BUILD);
  assert.is(gate.passed, false);
  assert.is(gate.warmMedianSeconds, 19.8);
  assert.match(gate.reason, /^speedup too low: build step 20\.0s cold vs 19\.8s warm median = 1\.01x < 1\.5x; warm runs reported 0 cache hits/);
  assert.match(gate.reason, /PVC shipwright-cache/);
});

test('a speedup exactly equal to the threshold passes; just above it fails', () => {
  const record = loadRecord('pass-buildah');
  assert.is(evaluateGate(record, { ...BUILD, minSpeedup: 20 }).passed, true);
  const gate = evaluateGate(record, { ...BUILD, minSpeedup: 20.000001 });
  assert.is(gate.passed, false);
  assert.match(gate.reason, / = 20\.00x < 20\.000001x$/);
});

test('a speedup just under the threshold is never rendered as equal to it', () => {
  const gate = evaluateGate(withRuns([run(0, 'cold', 14.999, 30), run(1, 'warm', 10, 20)]), BUILD);
  assert.is(gate.passed, false);
  assert.match(gate.reason, /= 1\.4999x < 1\.5x$/);
  assert.is(formatSpeedup(1.4999, 1.5), '1.4999x');
  assert.is(formatSpeedup(1.5, 1.5), '1.50x');
  assert.is(formatSpeedup(3.14159), '3.14x');
});

test('a warm median of 0 s cannot give a speedup and fails', () => {
  const gate = evaluateGate(withRuns([run(0, 'cold', 20, 45), run(1, 'warm', 0, 10)]), BUILD);
  assert.is(gate.passed, false);
  assert.is(gate.speedup, null);
  assert.match(gate.reason, /^warm median build step is 0\.0s, too small to compute a speedup .*--metric total$/);
});

test('--require-cache-hits: warm runs with 0 hits mean the cache was never used', () => {
  const gate = evaluateGate(loadRecord('cache-never-used'), { ...BUILD, requireCacheHits: true });
  assert.is(gate.passed, false);
  assert.is(
    gate.reason,
    'cache never used: all 3 warm runs reported 0 cache hits; check that the build step mounts the cache volume (volume shp-buildah-container-storage from PVC shipwright-cache) and that layer reuse is on (buildah: BUILDAH_LAYERS=true or --layers)',
  );
  assert.equal(gate.cacheHits, { cold: 0, warmReporting: 3, warmWithHits: 0, warmHits: 0 });
});

test('--require-cache-hits passes with hits, and names a warm run that missed', () => {
  const record = loadRecord('pass-buildah');
  assert.is(evaluateGate(record, { ...BUILD, requireCacheHits: true }).passed, true);
  record.runs[3].cacheHits = 0;
  const gate = evaluateGate(record, { ...BUILD, requireCacheHits: true });
  assert.is(gate.passed, false);
  assert.match(gate.reason, /^cache missed in 1 of 3 warm runs \(sample-app-buildah-warm-k2w7n reported 0 cache hits\)/);
});

test('--require-cache-hits fails when no warm log reported hits', () => {
  const gate = evaluateGate(withRuns([run(0, 'cold', 20, 45), run(1, 'warm', 1, 14, null)]), { ...BUILD, requireCacheHits: true });
  assert.is(gate.passed, false);
  assert.match(gate.reason, /^cache use unknown: no warm run's build log reported a cache-hit count/);
  assert.is(evaluateGate(withRuns([run(0, 'cold', 20, 45), run(1, 'warm', 1, 14, null)]), BUILD).passed, true);
});

test('no baseline runs: baseline is null', () => {
  assert.is(evaluateGate(loadRecord('cache-never-used'), BUILD).baseline, null);
});

test('parseMinSpeedup accepts positive numbers and decimal strings', () => {
  assert.is(parseMinSpeedup(1.5), 1.5);
  assert.is(parseMinSpeedup(' 2 '), 2);
  assert.is(parseMinSpeedup('0.8'), 0.8);
  assert.is(parseMinSpeedup('.5'), 0.5);
});

test('parseMinSpeedup rejects NaN, <= 0 and non-numbers with a usage error naming the flag', () => {
  for (const bad of ['abc', '', '1.5x', '0x10', '-1', 0, -1, Number.NaN, Number.POSITIVE_INFINITY, undefined]) {
    assert.throws(
      () => parseMinSpeedup(bad),
      (err: unknown) => err instanceof CliError && err.exitCode === ExitCode.usage && err.message.startsWith('--min-speedup'),
      `should reject ${String(bad)}`,
    );
  }
});

test('parseMinWarmRuns needs a whole number >= 1', () => {
  assert.is(parseMinWarmRuns('3'), 3);
  for (const bad of ['0', '1.5', 'two', -2]) {
    assert.throws(() => parseMinWarmRuns(bad), (err: unknown) => err instanceof CliError && /^--min-warm-runs/.test(err.message));
  }
});

test('evaluateGate validates its options', () => {
  assert.throws(() => evaluateGate(loadRecord('pass-buildah'), { ...BUILD, minSpeedup: 0 }), /--min-speedup/);
  assert.throws(() => evaluateGate(loadRecord('pass-buildah'), { ...BUILD, minWarmRuns: 0 }), /--min-warm-runs/);
});

test('a speedup or spread that is not finite (finite times 1e308 s over 1e-320 s) is bad input, never a pass', () => {
  const refused = (record: RunRecord, opts: GateOptions, pattern: RegExp) => {
    try {
      evaluateGate(record, opts);
    } catch (err) {
      assert.instance(err, CliError);
      assert.is((err as CliError).exitCode, ExitCode.usage);
      assert.match((err as CliError).message, pattern);
      return;
    }
    assert.unreachable('expected a usage error');
  };
  refused(withRuns([run(0, 'cold', 1e308, 10), run(1, 'warm', 1e-320, 5)]), BUILD, /speedup .* is Infinity, not a finite number: BuildRun br-cold-0 \(run #0, cold\) phases.build 1e\+308 s over .*br-warm-1/);
  refused(withRuns([run(0, 'cold', 10, 1e308), run(1, 'warm', 5, 1e-320)]), { ...BUILD, metric: 'total' }, /speedup .* is Infinity.*totalSeconds 1e\+308 s/);
  refused(withRuns([run(0, 'cold', 10, 1e308), run(1, 'warm', 5, 1e-320)]), BUILD, /total-time speedup .* is Infinity/);
  refused(withRuns([run(0, 'cold', 1e308, 10), run(1, 'warm', 1e308, 5), run(2, 'warm', 0, 5)]), BUILD, /spread of the warm runs is (Infinity|NaN)/);
  refused(withRuns([run(0, 'cold', 10, 10), run(1, 'warm', 1e-300, 5), run(2, 'baseline', 1e308, 10)]), BUILD, /speed(up)? vs no cache .* is Infinity/);
});

test.run();
