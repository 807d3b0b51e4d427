// The CLI frame, through the real entry point in a child process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { symlinkSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cluster.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const rec = join(REPO_ROOT, 'tests', 'fixtures', 'records', 'pass-buildah.json');

test('unknown command and unknown option: usage error, exit 2, a fix', async () => {
  const r = await cli(['nope']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /fix: run 'shipwright-cache --help'/);
  const o = await cli(['gate', '--record', rec, '--bogus']);
  assert.is(o.code, 2);
  assert.match(o.stderr, /Unknown argument: bogus/);
});

test('a repeated single-valued flag takes its last value', async () => {
  const r = await cli(['gate', '--record', '/nonexistent.json', '--record', rec, '--min-speedup', '100', '--min-speedup', '1.5']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^PASS: .*>= 1.5x/);
});

test('options come from SHIPWRIGHT_CACHE_* env; an empty one counts as unset', async () => {
  const r = await cli(['gate', '--record', rec], { SHIPWRIGHT_CACHE_MIN_SPEEDUP: '500' });
  assert.is(r.code, 1);
  assert.match(r.stdout, /^FAIL: .*500/);
  const e = await cli(['gate', '--record', rec], { SHIPWRIGHT_CACHE_MIN_SPEEDUP: '' });
  assert.is(e.code, 0, e.stderr);
  assert.match(e.stdout, />= 1.5x/);
});

test('--debug / SHIPWRIGHT_CACHE_DEBUG print the stack; without them no stack', async () => {
  const plain = await cli(['gate', '--record', '/nonexistent.json']);
  assert.is(plain.code, 2);
  assert.not.match(plain.stderr, /\n\s+at /);
  const dbg = await cli(['gate', '--record', '/nonexistent.json'], { SHIPWRIGHT_CACHE_DEBUG: '1' });
  assert.is(dbg.code, 2);
  assert.match(dbg.stderr, /\n\s+at /);
});

test('runs through a symlink (npm bin links)', async () => {
  const d = mkdtempSync(join(tmpdir(), 'swc-link-'));
  symlinkSync(join(REPO_ROOT, 'scripts', 'cli.ts'), join(d, 'shipwright-cache.ts'));
  const { $ } = await import('zx');
  const p = await $({ cwd: REPO_ROOT, nothrow: true, quiet: true })`node --import tsx ${join(d, 'shipwright-cache.ts')} --help`;
  assert.is(p.exitCode, 0);
  assert.match(p.stdout, /shipwright-cache <command>/);
});

test('boolean options accept true/false/1/0/yes/no and refuse anything else (never a silent false)', async () => {
  const nu = join(REPO_ROOT, 'tests', 'fixtures', 'records', 'cache-never-used.json');
  for (const v of ['1', 'yes', 'TRUE']) {
    const r = await cli(['gate', '--record', nu, '--min-speedup', '0.5'], { SHIPWRIGHT_CACHE_REQUIRE_CACHE_HITS: v });
    assert.is(r.code, 1, `env ${v}`);
    assert.match(r.stdout, /cache never used/);
    const f = await cli(['gate', '--record', nu, '--min-speedup', '0.5', `--require-cache-hits=${v}`]);
    assert.is(f.code, 1, `flag ${v}`);
  }
  const bad = await cli(['gate', '--record', nu, '--require-cache-hits=maybe']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--require-cache-hits=maybe is not a boolean/);
  const envBad = await cli(['gate', '--record', nu], { SHIPWRIGHT_CACHE_REQUIRE_CACHE_HITS: 'maybe' });
  assert.is(envBad.code, 2);
  const no = await cli(['gate', '--record', nu, '--min-speedup', '0.5', '--require-cache-hits=no']);
  assert.is(no.code, 0);
});

test('a failing command with --output json prints a JSON error on stdout', async () => {
  const r = await cli(['gate', '--record', '/nonexistent.json', '-o', 'json']);
  assert.is(r.code, 2);
  const e = JSON.parse(r.stdout);
  assert.is(e.error.exitCode, 2);
  assert.match(e.error.message, /does not exist/);
});

test('an env var for an option the command does not have is ignored', async () => {
  const r = await cli(['gate', '--record', rec], { SHIPWRIGHT_CACHE_PVC: 'x', SHIPWRIGHT_CACHE_RESULTS_DIR_X: 'y' });
  assert.is(r.code, 0, r.stderr);
});

const kubeconfig = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'swc-kc-'));
  const f = join(d, 'kubeconfig');
  // Unreachable on purpose: these errors must come before any API call.
  writeFileSync(f, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u, namespace: ci}}]\ncurrent-context: c\n');
  return f;
};

test('a bad value from SHIPWRIGHT_CACHE_<X> says it came from there; from the flag it does not', async () => {
  const runs = await cli(['run', '--build', 'b', '--record', '/tmp/swc-never.json'], { SHIPWRIGHT_CACHE_RUNS: 'abc' });
  assert.is(runs.code, 2, runs.stderr);
  assert.match(runs.stderr, /^error: --runs \(from SHIPWRIGHT_CACHE_RUNS\) 'abc' is not a number\n {2}fix: /);
  assert.not.match(runs.stderr, /NaN/);
  const flag = await cli(['run', '--build', 'b', '--record', '/tmp/swc-never.json', '--runs', 'abc']);
  assert.match(flag.stderr, /^error: --runs 'abc' is not a number/);
  const KUBECONFIG = kubeconfig();
  const ns = await cli(['cache-pvc', '--name', 'c'], { KUBECONFIG, SHIPWRIGHT_CACHE_NAMESPACE: 'BAD' });
  assert.is(ns.code, 2, ns.stderr);
  assert.match(ns.stderr, /^error: --namespace \(from SHIPWRIGHT_CACHE_NAMESPACE\) 'BAD' is not a valid name/);
  const nsFlag = await cli(['cache-pvc', '--name', 'c', '-n', 'BAD'], { KUBECONFIG, SHIPWRIGHT_CACHE_NAMESPACE: 'ci' });
  assert.match(nsFlag.stderr, /^error: --namespace 'BAD' is not a valid name/);
  const size = await cli(['cache-pvc', '--name', 'c', '-n', 'ci'], { KUBECONFIG, SHIPWRIGHT_CACHE_SIZE: '3GB' });
  assert.match(size.stderr, /^error: --size \(from SHIPWRIGHT_CACHE_SIZE\) '3GB' is not a storage size/);
  const speed = await cli(['gate', '--record', rec], { SHIPWRIGHT_CACHE_MIN_SPEEDUP: '0' });
  assert.match(speed.stderr, /^error: --min-speedup \(from SHIPWRIGHT_CACHE_MIN_SPEEDUP\) must be a number greater than 0/);
  const metric = await cli(['gate', '--record', rec], { SHIPWRIGHT_CACHE_METRIC: 'foo' });
  assert.is(metric.code, 2);
  assert.match(metric.stderr, /Argument: metric \(from SHIPWRIGHT_CACHE_METRIC\)/);
});

test('an unknown command is called unknown, and the commands are listed', async () => {
  const r = await cli(['foo']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^error: unknown command 'foo'; the commands are: cache-pvc, .*gate, report, demo\n {2}fix: /);
});

test('--debug=true/yes and SHIPWRIGHT_CACHE_DEBUG=yes enable debug; --debug=no does not', async () => {
  for (const args of [['--debug=true'], ['--debug=yes'], ['--debug=1']]) {
    const r = await cli(['gate', '--record', '/nonexistent.json', ...args]);
    assert.is(r.code, 2);
    assert.match(r.stderr, /\n\s+at /, args.join(' '));
  }
  const env = await cli(['gate', '--record', '/nonexistent.json'], { SHIPWRIGHT_CACHE_DEBUG: 'yes' });
  assert.match(env.stderr, /\n\s+at /);
  const no = await cli(['gate', '--record', '/nonexistent.json', '--debug=no']);
  assert.not.match(no.stderr, /\n\s+at /);
});

test('SHIPWRIGHT_CACHE_HELP / _VERSION are ignored: gate still gates', async () => {
  const r = await cli(['gate', '--record', rec, '--min-speedup', '500'], { SHIPWRIGHT_CACHE_HELP: '1', SHIPWRIGHT_CACHE_VERSION: '1' });
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /^FAIL: /);
  const h = await cli(['gate', '--help']);
  assert.is(h.code, 0);
  assert.match(h.stdout, /--min-speedup/);
});

test('-o json: parser usage errors print the JSON error too; message and fix are separate fields', async () => {
  for (const [args, env] of [
    [['gate', '--record', rec, '--bogus', '-o', 'json'], {}],
    [['gate', '--record', rec, '--metric', 'foo', '--output=json'], {}],
    [['gate', '--record', rec, '--bogus'], { SHIPWRIGHT_CACHE_OUTPUT: 'json' }],
  ] as [string[], Record<string, string>][]) {
    const r = await cli(args, env);
    assert.is(r.code, 2, args.join(' '));
    const e = JSON.parse(r.stdout);
    assert.is(e.error.exitCode, 2);
    assert.match(e.error.message, /Unknown argument: bogus|Argument: metric/);
    assert.is(e.error.fix, "run 'shipwright-cache --help' for the commands and options");
  }
  const missing = await cli(['gate', '--record', '/nonexistent.json', '-o', 'json']);
  const e = JSON.parse(missing.stdout);
  assert.is(e.error.message, 'record file /nonexistent.json does not exist');
  assert.match(e.error.fix, /--record <path>/);
});

test('-ojson means -o json', async () => {
  const r = await cli(['gate', '--record', rec, '-ojson']);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).passed, true);
  const bad = await cli(['gate', '--record', '/nonexistent.json', '-ojson']);
  assert.is(JSON.parse(bad.stdout).error.exitCode, 2);
});

test.run();
