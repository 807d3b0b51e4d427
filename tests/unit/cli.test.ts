// The CLI frame, through the real entry point in a child process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { symlinkSync, mkdtempSync } from 'node:fs';
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

test.run();
