// Records `run` would not write, but a user can hand to gate and report: edited
// ones carrying credentials, huge ones, absurd ones (zero warm time).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecord } from '../fixtures/records/load.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { evaluateGate, type GateOptions } from '../../scripts/lib/gate.js';
import { renderJson, renderMarkdown, renderTable, verdictLine } from '../../scripts/lib/report.js';
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

S.run();
