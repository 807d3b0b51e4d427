// The `gate` and `report` commands as a user runs them: `tsx scripts/cli.ts ...`
// in a child process (run by this test's own Node, so never an older one from
// PATH), asserting exit codes, stdout and the files written. Each process takes
// seconds to start (the CLI loads @kubernetes/client-node), so the invocations
// run in parallel in `before`, and the tests assert on the collected results.
// Finer cases (each gate rule, record validation) are tested in-process in
// gate.test.ts and record-io.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEKTON_RESULT_NAMES } from '../../scripts/lib/tekton-results.js';
import { fixturePath } from '../fixtures/records/load.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CONCURRENCY = Math.max(2, availableParallelism());
const dir = mkdtempSync(join(tmpdir(), 'swc-gate-cli-'));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of the test process without SHIPWRIGHT_CACHE_* variables, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SHIPWRIGHT_CACHE')));
  return { ...env, ...extra };
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], { cwd: REPO, env: cleanEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const pass = fixturePath('pass-buildah');
const neverUsed = fixturePath('cache-never-used');
const failed = fixturePath('failed-volume-not-overridable');
const notJson = join(dir, 'not-json.json');
const resultsDir = join(dir, 'results');
const outDir = join(dir, 'report');
const outDirFailed = join(dir, 'report-failed');

const CASES: Record<string, { args: string[]; env?: Record<string, string> }> = {
  pass: { args: ['gate', '--record', pass, '--results-dir', resultsDir] },
  neverUsed: { args: ['gate', '--record', neverUsed] },
  requireHits: { args: ['gate', '--record', neverUsed, '--require-cache-hits'] },
  failedRun: { args: ['gate', '--record', failed] },
  atThreshold: { args: ['gate', '--record', pass, '--min-speedup', '20'] },
  aboveThresholdFromEnv: { args: ['gate', '-q'], env: { SHIPWRIGHT_CACHE_RECORD: pass, SHIPWRIGHT_CACHE_MIN_SPEEDUP: '20.01' } },
  totalJson: { args: ['gate', '--record', pass, '--metric', 'total', '--output', 'json'] },
  missing: { args: ['gate', '--record', join(dir, 'missing.json')] },
  notJson: { args: ['gate', '--record', notJson] },
  badMinSpeedup: { args: ['gate', '--record', pass, '--min-speedup', '0'] },
  noRecordFlag: { args: ['gate'] },
  report: { args: ['report', '--record', pass, '--out-dir', outDir] },
  reportFailedJson: { args: ['report', '--record', failed, '--out-dir', outDirFailed, '--output', 'json', '-q'] },
};
const results: Record<string, Result> = {};

test.before(async () => {
  writeFileSync(notJson, '{"schemaVersion": 1,');
  const queue = Object.entries(CASES);
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [name, { args, env }] = next;
      results[name] = await runCli(args, env);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Asserts the exit code, showing the output when it differs. */
function exits(name: string, code: number): Result {
  const r = results[name];
  assert.is(r.code, code, `${name}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

test('pass: exit 0, exactly one verdict line on stdout, one file per Tekton result', () => {
  assert.is(exits('pass', 0).stdout, 'PASS: build step 20.0s cold vs 1.0s warm median = 20.00x >= 1.5x\n');
  for (const name of TEKTON_RESULT_NAMES) assert.ok(existsSync(join(resultsDir, name)), name);
  assert.is(readFileSync(join(resultsDir, 'passed'), 'utf8'), 'true');
  assert.is(readFileSync(join(resultsDir, 'speedup'), 'utf8'), '20.00');
  assert.is(JSON.parse(readFileSync(join(resultsDir, 'summary'), 'utf8')).speedup, 20);
});

test('cache never used: exit 1 with the speedup and the threshold on one line', () => {
  const { stdout } = exits('neverUsed', 1);
  assert.is(stdout.split('\n').length, 2, 'one line');
  assert.match(stdout, /^FAIL: speedup too low: build step 20\.0s cold vs 19\.8s warm median = 1\.01x < 1\.5x; /);
});

test('--require-cache-hits: exit 1, cache never used', () => {
  assert.match(exits('requireHits', 1).stdout, /^FAIL: cache never used: all 3 warm runs reported 0 cache hits; /);
});

test('failed BuildRun: exit 1 naming it and its reason', () => {
  assert.match(exits('failedRun', 1).stdout, /^FAIL: BuildRun sample-app-buildah-cold-w6n3p \(run #0, cold\) failed: VolumeNotOverridable: /);
});

test('threshold edge: equal passes, above fails; options come from SHIPWRIGHT_CACHE_* env vars', () => {
  assert.match(exits('atThreshold', 0).stdout, /= 20\.00x >= 20x\n$/);
  const fromEnv = exits('aboveThresholdFromEnv', 1);
  assert.match(fromEnv.stdout, /^FAIL: speedup too low: .*= 20\.00x < 20\.01x\n$/);
  assert.is(fromEnv.stderr, '', '--quiet silences progress');
});

test('--output json prints the gate result; --metric total gates on the whole BuildRun', () => {
  const gate = JSON.parse(exits('totalJson', 0).stdout);
  assert.is(gate.passed, true);
  assert.is(gate.metric, 'total');
  assert.is(gate.coldSeconds, 45);
  assert.is(gate.warmMedianSeconds, 14);
  assert.is(gate.speedup, 45 / 14);
  assert.is(gate.reason, 'total BuildRun time 45.0s cold vs 14.0s warm median = 3.21x >= 1.5x');
});

test('bad record files: exit 2, nothing on stdout, the error names the file', () => {
  const missing = exits('missing', 2);
  assert.is(missing.stdout, '');
  assert.match(missing.stderr, /^error: record file .*missing\.json does not exist\n {2}fix: /);
  const notJsonRun = exits('notJson', 2);
  assert.is(notJsonRun.stdout, '');
  assert.match(notJsonRun.stderr, /^error: record file .*not-json\.json is not valid JSON: /);
});

test('bad flags: exit 2', () => {
  assert.match(exits('badMinSpeedup', 2).stderr, /error: --min-speedup must be a number greater than 0, got "0"/);
  assert.match(exits('noRecordFlag', 2).stderr, /Missing required argument: record/);
});

test('report: prints the table and writes report.md, report.json, report.svg', () => {
  const { stdout } = exits('report', 0);
  assert.match(stdout, /\n0 +cold +sample-app-buildah-cold-7x2kq +Succeeded /);
  assert.match(stdout, /\nVerdict: +PASS: /);
  for (const file of ['report.md', 'report.json', 'report.svg']) assert.ok(stdout.includes(join(outDir, file)), `path of ${file}`);
  assert.match(readFileSync(join(outDir, 'report.md'), 'utf8'), /^# Build cache report: /);
  assert.ok(readFileSync(join(outDir, 'report.svg'), 'utf8').startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="800"'));
  const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8'));
  assert.is(report.gate.passed, true);
  assert.is(report.record.runs.length, 5);
});

test('report exits 0 on a failing record; --output json adds the file paths', () => {
  const report = JSON.parse(exits('reportFailedJson', 0).stdout);
  assert.is(report.gate.passed, false);
  assert.equal(report.files, { markdown: join(outDirFailed, 'report.md'), json: join(outDirFailed, 'report.json'), svg: join(outDirFailed, 'report.svg') });
  assert.ok(existsSync(report.files.svg));
});

test.run();
