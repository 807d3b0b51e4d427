// The kind workflow cannot run here; check what can be: it parses, its jobs and steps have
// the shape GitHub Actions needs, every script it calls exists and is executable, and its
// version matrix stays inside what Shipwright v0.20 supports.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { YAML } from 'zx';
import { REPO_ROOT } from '../helpers/fixtures.js';

const wf = YAML.parse(readFileSync(join(REPO_ROOT, '.github/workflows/e2e-kind.yaml'), 'utf8'));

test('the workflow parses, with triggers and one job of steps', () => {
  assert.ok(wf.on.push && wf.on.pull_request !== undefined);
  const job = wf.jobs.e2e;
  assert.ok(job['runs-on']);
  assert.ok(Array.isArray(job.steps) && job.steps.length > 3);
  for (const s of job.steps) assert.ok(Boolean(s.uses) !== Boolean(s.run), `step ${s.name ?? s.uses}: exactly one of uses/run`);
  for (const s of job.steps.filter((x: { uses?: string }) => x.uses)) assert.match(s.uses, /^[\w-]+\/[\w-]+@v\d/, 'actions are pinned to a version');
});

test('the strategies job has the same step shape and runs the demo once per strategy', () => {
  const job = wf.jobs.strategies;
  assert.ok(job['runs-on']);
  for (const s of job.steps) assert.ok(Boolean(s.uses) !== Boolean(s.run), `step ${s.name ?? s.uses}: exactly one of uses/run`);
  assert.ok(job.steps.some((s: { run?: string }) => /hack\/demo\.sh --cluster kind --strategy \$\{\{ matrix\.strategy \}\}/.test(s.run ?? '')));
});

test('every strategy the workflow measures is one hack/demo.sh knows for kind, with a workload', () => {
  const setup = readFileSync(join(REPO_ROOT, 'hack/lib/setup.sh'), 'utf8');
  const list = (name: string) => (setup.match(new RegExp(`^${name}=\\(([^)]*)\\)`, 'm'))?.[1] ?? '').split(/\s+/).filter(Boolean);
  const kind = [...list('DEMO_STRATEGIES'), ...list('DEMO_STRATEGIES_KIND')];
  assert.ok(kind.length >= 5, `strategies in hack/lib/setup.sh: ${kind.join(' ')}`);
  for (const s of wf.jobs.strategies.strategy.matrix.strategy) assert.ok(kind.includes(s), `${s} is in DEMO_STRATEGIES(_KIND)`);
});

test('every repository script the workflow runs exists and is executable', () => {
  const scripts = new Set<string>();
  for (const s of [...wf.jobs.e2e.steps, ...wf.jobs.strategies.steps]) for (const m of String(s.run ?? '').matchAll(/\b((?:hack|e2e)\/[\w./-]+\.sh)\b/g)) scripts.add(m[1]);
  assert.ok(scripts.has('hack/e2e.sh'));
  for (const s of scripts) {
    assert.ok(existsSync(join(REPO_ROOT, s)), `${s} exists`);
    assert.ok(statSync(join(REPO_ROOT, s)).mode & 0o100, `${s} is executable`);
  }
});

test('the matrix stays inside Shipwright v0.20 support (Kubernetes 1.34-1.36, Tekton LTS up to v1.12)', () => {
  for (const row of wf.jobs.e2e.strategy.matrix.include) {
    assert.match(row.k8s, /^v1\.3[4-6]\.\d+$/);
    assert.match(row.tekton, /^v1\.(3|6|9|12)\.\d+$/);
    assert.match(row.shipwright, /^v0\.20\.\d+$/);
  }
});

test.run();
