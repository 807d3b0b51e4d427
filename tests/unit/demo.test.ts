// demo checks every flag, and that the strategy exists and can be patched, before
// it creates anything: through the real CLI against a fake API server that
// counts the writes (tests/helpers/fake-apiserver.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { FakeApiServer } from '../helpers/fake-apiserver.js';
import { REPO_ROOT, upstreamStrategy } from '../helpers/fixtures.js';

const S = suite('demo: flags and strategy checked before anything is created');
const api = new FakeApiServer();
const CBS = /^\/apis\/shipwright.io\/v1beta1\/clusterbuildstrategies/;

function demo(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SHIPWRIGHT_CACHE_')) env[k] = v;
    Object.assign(env, { KUBECONFIG: api.kubeconfig() }, extraEnv);
    const base = ['demo', '--strategy', 'buildah-shipwright-managed-push', '--source-url', 'https://example.com/app.git', '--output-image', 'registry.example.com/app', '--out-dir', '/tmp/swc-demo-never'];
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...base, ...args], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const writes = () => api.requests.filter((r) => r.method !== 'GET');

S.before(async () => {
  await api.start();
});
S.after(async () => {
  await api.stop();
});
S.before.each(() => {
  api.reset();
  api.on({ method: 'GET', path: /^\/apis\/shipwright.io\/v1beta1\/clusterbuildstrategies\?/, replies: [{ status: 200, body: { apiVersion: 'shipwright.io/v1beta1', kind: 'ClusterBuildStrategyList', metadata: {}, items: [] } }] });
  api.on({ method: 'GET', path: /^\/apis\/shipwright.io\/v1beta1\/clusterbuildstrategies\/buildah-shipwright-managed-push$/, replies: [{ status: 200, body: upstreamStrategy('buildah-shipwright-managed-push') }] });
  api.on({ method: 'GET', path: /^\/apis\/shipwright.io\/v1beta1\/clusterbuildstrategies\/kaniko$/, replies: [{ status: 200, body: upstreamStrategy('kaniko') }] });
  // The copy-mode dry run asks whether the target namespace exists when it finds no copy there.
  api.on({ method: 'GET', path: /^\/api\/v1\/namespaces\/ci$/, replies: [{ status: 200, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ci' } } }] });
});

S('bad flags: exit 2 under demo\'s own flag names, before any API call', async () => {
  const cases: [string[], RegExp][] = [
    [['--runs', '0'], /^error: --runs 0 is not a whole number from 2 to 1000/],
    [['--runs', 'abc'], /^error: --runs 'abc' is not a number/],
    [['--baseline', '-1'], /^error: --baseline -1 is not a whole number from 0 to 1000/],
    [['--run-timeout', 'abc'], /^error: --run-timeout 'abc' is not a duration/],
    [['--pvc', 'BAD'], /^error: --pvc 'BAD' is not a valid Kubernetes name/],
    [['--size', '3GB'], /^error: --size '3GB' is not a storage size/],
    [['--param', 'novalue'], /^error: --param 'novalue' is not name=value/],
    [['--runs', '3', '--min-warm-runs', '3'], /^error: --min-warm-runs 3 is more than the 2 warm run\(s\) --runs 3 makes/],
    [['--record', '/tmp/swc-demo-never/report.json'], /^error: --record \/tmp\/swc-demo-never\/report.json would be overwritten by the report/],
  ];
  for (const [args, pattern] of cases) {
    const r = await demo(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.match(r.stderr, /\n {2}fix: /, args.join(' '));
    assert.not.match(r.stderr, /stage \d\/6|NaN/, args.join(' '));
  }
  assert.is(api.requests.length, 0, JSON.stringify(api.requests));
  const env = await demo([], { SHIPWRIGHT_CACHE_RUN_TIMEOUT: 'abc' });
  assert.match(env.stderr, /^error: --run-timeout \(from SHIPWRIGHT_CACHE_RUN_TIMEOUT\) 'abc' is not a duration/);
});

S('a strategy that does not exist, or has no cache profile (kaniko): refused before the PVC; nothing is written', async () => {
  const nope = await demo(['--strategy', 'nope']);
  assert.is(nope.code, 5, nope.stderr);
  assert.match(nope.stderr, /error: .*ClusterBuildStrategy nope/);
  assert.not.match(nope.stderr, /stage 1\/6/);
  const kaniko = await demo(['--strategy', 'kaniko']);
  assert.ok(kaniko.code !== 0, kaniko.stderr);
  assert.match(kaniko.stderr, /uses kaniko|no known cache location/);
  assert.not.match(kaniko.stderr, /stage 1\/6/);
  assert.equal(writes(), []);
  assert.is(api.hits('GET', /persistentvolumeclaims/), 0);
});

S('a patchable strategy: the read-only plan passes, then stage 1 starts', async () => {
  const r = await demo(['--quiet=false']);
  assert.match(r.stderr, /profile buildah/, r.stderr);
  assert.match(r.stderr, /stage 1\/6/);
  // No write happened before stage 1 (the PVC read that starts it fails on this fake server).
  assert.equal(writes().filter((w) => !/persistentvolumeclaims/.test(w.url)), []);
});

S('its record: a record of another Build, a directory, or an unwritable --out-dir are refused before any API call', async () => {
  const { mkdtempSync, writeFileSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'swc-demo-rec-'));
  const rec = join(dir, 'other.json');
  const other = readFileSync(join(REPO_ROOT, 'tests/fixtures/records/pass-buildah.json'), 'utf8');
  writeFileSync(rec, other);
  const foreign = await demo(['--record', rec]);
  assert.is(foreign.code, 6, foreign.stderr);
  assert.match(foreign.stderr, /--record .* already holds \d+ run\(s\) of Build .*; demo \(Build .*\) would overwrite it/);
  assert.is(readFileSync(rec, 'utf8'), other, 'the record is left as it was');
  const isDir = await demo(['--record', dir]);
  assert.is(isDir.code, 2, isDir.stderr);
  assert.match(isDir.stderr, /--record: cannot write .* is not a regular file/);
  const proc = await demo(['--out-dir', '/proc/swc-nope', '--record', join(dir, 'mine.json')]);
  assert.is(proc.code, 2, proc.stderr);
  assert.match(proc.stderr, /--out-dir: cannot write \/proc\/swc-nope\/report\.md/);
  assert.is(api.requests.length, 0, JSON.stringify(api.requests));
});

S.run();
