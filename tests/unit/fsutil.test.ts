// The file system and the process around a command: directories created without
// recursive mkdir (which spins forever under /proc), write checks that create
// nothing, a signal that is never swallowed, and a closed stderr pipe. No cluster.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cluster.js';
import { throwsCli, unreachableKubeconfig } from '../helpers/offline-cli.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { CliError, ExitCode } from '../../scripts/lib/errors.js';
import { ensureDir, unwritableReason } from '../../scripts/lib/fsutil.js';
import { writeFileAtomic } from '../../scripts/lib/record-io.js';

const S = suite('file system and process: no hang, no crash');
const dir = mkdtempSync(join(tmpdir(), 'swc-fsutil-'));
const FIXTURE = join(REPO_ROOT, 'tests', 'fixtures', 'records', 'pass-buildah.json');
const kubeconfig = unreachableKubeconfig(dir);
const swc = (args: string[]) => cli(args, { KUBECONFIG: kubeconfig });

async function rejectsCli(p: Promise<unknown>, code: number, message: RegExp): Promise<CliError> {
  try {
    await p;
  } catch (err) {
    return throwsCli(() => {
      throw err;
    }, code, message);
  }
  throw new Error('expected a CliError');
}

S('ensureDir: creates nested directories; fails fast (exit 2) naming the path under /proc, below a file, in a read-only directory', async () => {
  await ensureDir(join(dir, 'a', 'b', 'c'));
  assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory());
  await ensureDir(join(dir, 'a', 'b', 'c'));
  const started = Date.now();
  const e = await rejectsCli(ensureDir('/proc/nope/x', '--results-dir'), ExitCode.usage, /^cannot create directory \/proc\/nope\/x \(at \/proc\/nope\): \/proc does not accept new entries \(ENOENT/);
  assert.is(e.hint, 'pass a writable directory with --results-dir');
  assert.ok(Date.now() - started < 2000);
  writeFileSync(join(dir, 'plain'), 'x');
  await rejectsCli(ensureDir(join(dir, 'plain', 'sub')), ExitCode.usage, /plain exists and is not a directory/);
  await rejectsCli(writeFileAtomic('/proc/nope/report.md', 'x'), ExitCode.usage, /cannot create directory \/proc\/nope/);
});

S('unwritableReason: checks without creating anything', async () => {
  assert.is(await unwritableReason(join(dir, 'new', 'deeper', 'r.json')), undefined);
  assert.not.ok(existsSync(join(dir, 'new')));
  assert.match((await unwritableReason('/proc/nope/r.json'))!, /cannot create files in \/proc/);
  mkdirSync(join(dir, 'isdir.json'));
  assert.match((await unwritableReason(join(dir, 'isdir.json')))!, /is not a regular file/);
  assert.match((await unwritableReason(join(dir, 'plain', 'r.json')))!, /plain is not a directory/);
  if (process.getuid?.() !== 0) {
    mkdirSync(join(dir, 'ro'));
    chmodSync(join(dir, 'ro'), 0o555);
    assert.match((await unwritableReason(join(dir, 'ro', 'r.json')))!, /permission denied/);
  }
});

S('gate --results-dir under /proc: exit 2 at once naming the directory (Node\'s recursive mkdir would spin forever)', async () => {
  const r = await swc(['gate', '--record', FIXTURE, '--results-dir', '/proc/nope']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /error: cannot write Tekton results to \/proc\/nope: cannot create directory \/proc\/nope: /);
  assert.match(r.stderr, /fix: pass a writable directory with --results-dir/);
  const rep = await swc(['report', '--record', FIXTURE, '--out-dir', '/proc/nope']);
  assert.is(rep.code, 2, rep.stderr);
  assert.match(rep.stderr, /error: cannot write the report into \/proc\/nope: cannot create directory \/proc\/nope/);
});

/** Spawns the CLI; returns the child and its exit. */
function spawnCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], { cwd: REPO_ROOT, env: { ...process.env, KUBECONFIG: kubeconfig, ...env } });
  const exited = new Promise<number>((res) => child.on('exit', (code, signal) => res(code ?? (signal ? -1 : -2))));
  return { child, exited };
}

S('a signal is never swallowed: a command stuck on an API server that never answers exits 130 after the grace period', async () => {
  // Accepts connections, never answers: the first call of `run` waits for good.
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const kc = join(dir, 'kubeconfig-blackhole');
  writeFileSync(kc, readFileSync(kubeconfig, 'utf8').replace('{server: "https://127.0.0.1:9"}', `{server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}`));
  try {
    const { child, exited } = spawnCli(['run', '-n', 'ci', '--build', 'app', '--record', join(dir, 'blackhole.json')], { KUBECONFIG: kc, SWC_TEST_INTERRUPT_GRACE_MS: '500' });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    for (let i = 0; i < 100 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(sockets.length > 0, `the CLI never connected: ${err}`);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    assert.is(code, 130, err);
    assert.match(err, /interrupted: .*stopping anyway in 0\.5s/);
    assert.match(err, /error: still not stopped 0\.5s after the interrupt; exiting now/);
    assert.not.ok(existsSync(join(dir, 'blackhole.json')));
  } finally {
    sockets.forEach((s) => s.destroy());
    server.close();
  }
});

S('stderr a closed pipe: progress output is dropped, the command still ends as it would (no EPIPE crash)', async () => {
  const out = join(dir, 'epipe');
  const { child, exited } = spawnCli(['report', '--record', FIXTURE, '--out-dir', out]);
  child.stderr.destroy();
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const code = await exited;
  assert.is(code, 0, stdout);
  assert.ok(existsSync(join(out, 'report.svg')));
  assert.match(stdout, /Report files:/);
});

S.run();
