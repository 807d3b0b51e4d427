// Records `run` would not write, but a user can hand to gate and report: edited
// ones carrying credentials, huge ones, absurd ones (zero warm time).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecord } from '../fixtures/records/load.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { evaluateGate, type GateOptions } from '../../scripts/lib/gate.js';
import { MAX_DRAWN_RUNS, renderJson, renderMarkdown, renderTable, verdictLine } from '../../scripts/lib/report.js';
import { renderSvg } from '../../scripts/lib/report-svg.js';
import { readRecord } from '../../scripts/lib/record-io.js';
import { max, min } from '../../scripts/lib/stats.js';
import type { RunRecord } from '../../scripts/lib/record.js';

const S = suite('hand-made records: secrets, size, absurd values');
const dir = mkdtempSync(join(tmpdir(), 'swc-handmade-'));
const OPTS: GateOptions = { minSpeedup: 1.5, metric: 'build', minWarmRuns: 1, requireCacheHits: false };
const SECRETS = /s3cr3t-token|hunter2|eyJhbGciOi/;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SHIPWRIGHT_CACHE_')) env[k] = v;
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function withSecrets(): RunRecord {
  const r = loadRecord('pass-buildah');
  const warm = r.runs.find((x) => x.kind === 'warm')!;
  warm.outcome = 'Failed';
  warm.reason = 'GitRemotePrivate password=hunter2';
  warm.message = 'fatal: could not read from https://bot:s3cr3t-token@git.example.com/app.git (Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.x.y)';
  warm.failure = { class: 'other', evidence: 'clone https://bot:s3cr3t-token@git.example.com/app.git' };
  return r;
}

S('a record edited to carry credentials: readRecord masks them, so gate and every report format never show them', async () => {
  const path = join(dir, 'secrets.json');
  writeFileSync(path, JSON.stringify(withSecrets(), null, 2));
  const record = await readRecord(path);
  const gate = evaluateGate(record, OPTS);
  const out = [verdictLine(gate), renderTable(record, gate), renderMarkdown(record, gate), renderSvg(record, gate), JSON.stringify(renderJson(record, gate))].join('\n');
  assert.not.match(out, SECRETS);
  assert.match(out, /https:\/\/\*\*\*@git.example.com/);
});

S('gate and report through the CLI on that record: stdout, stderr, Tekton results and report files are clean', async () => {
  const path = join(dir, 'secrets-cli.json');
  writeFileSync(path, JSON.stringify(withSecrets(), null, 2));
  const results = join(dir, 'results');
  const out = join(dir, 'report');
  const g = await cli(['gate', '--record', path, '--results-dir', results, '--min-warm-runs', '1']);
  const r = await cli(['report', '--record', path, '--out-dir', out]);
  assert.is(r.code, 0, r.stderr);
  for (const text of [g.stdout, g.stderr, r.stdout, r.stderr]) assert.not.match(text, SECRETS);
  for (const d of [results, out]) for (const f of readdirSync(d)) assert.not.match(readFileSync(join(d, f), 'utf8'), SECRETS, `${d}/${f}`);
});

function huge(n: number): RunRecord {
  const r = loadRecord('pass-buildah');
  const cold = r.runs[0];
  const warm = r.runs.find((x) => x.kind === 'warm')!;
  return { ...r, runs: [cold, ...Array.from({ length: n }, (_, i) => ({ ...warm, index: i + 1, buildRunName: `w-${i}` }))] };
}

S('150,000 runs: gate, table, Markdown, JSON and SVG render (no Math.max(...spread) stack overflow)', () => {
  const record = huge(150_000);
  const gate = evaluateGate(record, OPTS);
  assert.ok(gate.passed, gate.reason);
  assert.ok(renderTable(record, gate).length > 0);
  assert.ok(renderMarkdown(record, gate).length > 0);
  assert.ok(renderSvg(record, gate).startsWith('<svg'));
  assert.is(renderJson(record, gate).record.runs.length, 150_001);
  const many = Array.from({ length: 300_000 }, (_, i) => i % 7);
  assert.equal([min(many), max(many)], [0, 6]);
});

S('report through the CLI on a 10,000-run record writes its SVG', async () => {
  const path = join(dir, 'huge.json');
  writeFileSync(path, JSON.stringify(huge(10_000)));
  const out = join(dir, 'huge-report');
  const r = await cli(['report', '--record', path, '--out-dir', out, '--output', 'json']);
  assert.is(r.code, 0, r.stderr);
  assert.ok(readFileSync(join(out, 'report.svg'), 'utf8').includes('</svg>'));
});

S('zero warm time (a record edited by hand, or sub-second builds): no Infinity or NaN anywhere, a message instead', () => {
  const r = loadRecord('pass-buildah');
  for (const x of r.runs) if (x.kind === 'warm') {
    x.phases.build = 0;
    x.totalSeconds = 0;
  }
  for (const metric of ['build', 'total'] as const) {
    const gate = evaluateGate(r, { ...OPTS, metric });
    assert.not.ok(gate.passed);
    assert.match(gate.reason, /too small to compute a speedup/);
    const out = [verdictLine(gate), renderTable(r, gate), renderMarkdown(r, gate), renderSvg(r, gate), JSON.stringify(renderJson(r, gate))].join('\n');
    assert.not.match(out, /Infinity|NaN/);
  }
  const zeroCold = loadRecord('pass-buildah');
  for (const x of zeroCold.runs) x.phases.build = 0;
  const g = evaluateGate(zeroCold, OPTS);
  assert.not.match([verdictLine(g), renderSvg(zeroCold, g), renderMarkdown(zeroCold, g)].join('\n'), /Infinity|NaN/);
});

S('Infinity from finite times (cold 1e308 s, warm 1e-320 s): gate and report exit 2 naming run and field; no Tekton results, no report files', async () => {
  const r = loadRecord('pass-buildah');
  r.runs[0].phases.build = 1e308;
  r.runs[0].totalSeconds = 1e308; // consistent: the phase is not longer than its BuildRun
  for (const x of r.runs) if (x.kind === 'warm') x.phases.build = 1e-320;
  const path = join(dir, 'infinite.json');
  writeFileSync(path, JSON.stringify(r));
  const results = join(dir, 'infinite-results');
  const g = await cli(['gate', '--record', path, '--results-dir', results]);
  assert.is(g.code, 2, g.stdout + g.stderr);
  assert.is(g.stdout, '');
  assert.match(g.stderr, /\nerror: the record's speedup .* is Infinity, not a finite number: BuildRun sample-app-buildah-cold-7x2kq \(run #0, cold\) phases.build /);
  assert.not.ok(existsSync(results));
  const out = join(dir, 'infinite-report');
  const rep = await cli(['report', '--record', path, '--out-dir', out, '-o', 'json']);
  assert.is(rep.code, 2);
  assert.match(JSON.parse(rep.stdout).error.message, /is Infinity, not a finite number/);
  assert.not.ok(existsSync(join(out, 'report.svg')));
});

S('inconsistent records are refused by gate and report (exit 2), the message naming the run and the field', async () => {
  const cases: [string, (r: RunRecord) => void, RegExp][] = [
    ['createdAt', (r) => (r.createdAt = 'garbage'), /createdAt must be an RFC 3339 timestamp .*\(got "garbage"\)/],
    ['updatedAt', (r) => (r.updatedAt = '2026-13-45'), /updatedAt must be an RFC 3339 timestamp/],
    ['startTime', (r) => (r.runs[1].startTime = 'yesterday'), /runs\[1\] \(BuildRun sample-app-buildah-warm-p9d4m\)\.startTime must be an RFC 3339 timestamp .*"yesterday"/],
    ['before', (r) => (r.runs[2].completionTime = '2020-01-01T00:00:00Z'), /runs\[2\] \(BuildRun [^)]+\)\.completionTime 2020-01-01T00:00:00Z is before its startTime/],
    ['hits', (r) => (r.runs[3].cacheHits = 100), /runs\[3\] \(BuildRun [^)]+\)\.cacheHits 100 is more than its cacheableSteps 6/],
    ['phase', (r) => (r.runs[0].phases.build = 500), /runs\[0\] \(BuildRun [^)]+\)\.phases\.build 500 s is longer than the whole BuildRun \(totalSeconds \d+/],
    ['two-cold', (r) => (r.runs[1].kind = 'cold'), /runs\[1\] \(BuildRun [^)]+\)\.kind is a second cold run \(the first is runs\[0\]\) without cacheReset/],
  ];
  for (const [name, edit, pattern] of cases) {
    const r = loadRecord('pass-buildah');
    edit(r);
    const path = join(dir, `inconsistent-${name}.json`);
    writeFileSync(path, JSON.stringify(r));
    for (const cmd of ['gate', 'report']) {
      const res = await cli([cmd, '--record', path, '--out-dir', join(dir, `inc-${name}`)].slice(0, cmd === 'gate' ? 3 : 5));
      assert.is(res.code, 2, `${cmd} ${name}: ${res.stderr}`);
      assert.match(res.stderr, new RegExp(`(^|\\n)error: record file .*inconsistent-${name}\\.json is not a consistent run record: `), name);
      assert.match(res.stderr, pattern, name);
    }
  }
  // A second cold run after a cache reset is what `run` writes after a damaged cache: accepted.
  const reset = loadRecord('pass-buildah');
  Object.assign(reset.runs[2], { kind: 'cold', cacheReset: true });
  const path = join(dir, 'cold-after-reset.json');
  writeFileSync(path, JSON.stringify(reset));
  const ok = await cli(['gate', '--record', path]);
  assert.ok(ok.code === 0 || ok.code === 1, ok.stderr);
});

S('a 100,000-run record: the SVG, table and Markdown show the first runs and say how many are not drawn; stats and JSON cover all', () => {
  const record = huge(100_000);
  const gate = evaluateGate(record, OPTS);
  assert.is(gate.warmCount, 100_000);
  const svg = renderSvg(record, gate);
  assert.ok(svg.length < 500_000, `SVG is ${svg.length} bytes`);
  assert.match(svg, new RegExp(`${100_001 - MAX_DRAWN_RUNS} more runs not drawn \\(the summary covers all 100001\\)`));
  assert.ok(svg.endsWith('</svg>\n'));
  const table = renderTable(record, gate);
  assert.match(table, new RegExp(`${100_001 - MAX_DRAWN_RUNS} more runs not listed`));
  assert.ok(table.split('\n').length < MAX_DRAWN_RUNS + 40);
  assert.match(renderMarkdown(record, gate), /more runs not listed/);
  assert.is(renderJson(record, gate).record.runs.length, 100_001);
  const small = loadRecord('pass-buildah');
  assert.not.match(renderSvg(small, evaluateGate(small, OPTS)), /not drawn/);
});

S.run();
