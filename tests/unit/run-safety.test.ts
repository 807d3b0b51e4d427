// `run`'s record file: what it still has to run (by kind), when it may
// overwrite a record, and, through the CLI, that a bad flag or file writes nothing. No cluster: the
// kubeconfig points at a port nobody listens on, so any check that reaches the
// API server would fail with exit 3.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/cluster.js';
import { throwsCli, unreachableKubeconfig } from '../helpers/offline-cli.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { ExitCode } from '../../scripts/lib/errors.js';
import { checkOverwrite, remainingRuns } from '../../scripts/lib/run-plan.js';
import { formatDuration } from '../../scripts/lib/log.js';
import type { RunKind } from '../../scripts/lib/record.js';

const S = suite('run: record file safety');
const dir = mkdtempSync(join(tmpdir(), 'swc-run-safety-'));
const FIXTURE = join(REPO_ROOT, 'tests', 'fixtures', 'records', 'pass-buildah.json');
const kubeconfig = unreachableKubeconfig(dir);
const swc = (args: string[]) => cli(args, { KUBECONFIG: kubeconfig });
const kinds = (...k: RunKind[]) => k.map((kind) => ({ kind }));

S('remainingRuns plans by kind: a record with cold + 2 warm still needs the baseline asked for', () => {
  assert.equal(remainingRuns([], 3, 1), ['cold', 'warm', 'warm', 'baseline']);
  assert.equal(remainingRuns(kinds('cold', 'warm', 'warm'), 2, 1), ['baseline']);
  assert.equal(remainingRuns(kinds('cold', 'warm', 'warm'), 3, 0), []);
  assert.equal(remainingRuns(kinds('cold'), 3, 2), ['warm', 'warm', 'baseline', 'baseline']);
  assert.equal(remainingRuns(kinds('cold', 'warm', 'baseline'), 3, 1), ['warm']);
  // A cold run after a cache reset took a warm run's place.
  assert.equal(remainingRuns(kinds('cold', 'cold', 'warm'), 3, 0), []);
});

S('checkOverwrite: a record with runs, or a file that is no record, is not overwritten (exit 6); empty files and run-less records are', () => {
  const text = readFileSync(FIXTURE, 'utf8');
  const e = throwsCli(() => checkOverwrite('keep.json', text), ExitCode.conflict, /^record file keep\.json already holds 5 runs of Build swc-e2e\/sample-app-buildah$/);
  assert.is(e.hint, 'pass --resume to continue it, --force to start it anew (the old runs are lost), or another --record path');
  throwsCli(() => checkOverwrite('notes.txt', 'hello'), ExitCode.conflict, /notes\.txt exists and is not a run record/);
  throwsCli(() => checkOverwrite('package.json', '{"name":"x"}'), ExitCode.conflict, /package\.json exists and is not a valid run record/);
  checkOverwrite('empty.json', '');
  checkOverwrite('blank.json', '\n');
  checkOverwrite('begun.json', JSON.stringify({ ...JSON.parse(text), runs: [] }));
});

S('formatDuration: seconds below a minute, never 0m', () => {
  assert.is(formatDuration(5000), '5s');
  assert.is(formatDuration(4000), '4s');
  assert.is(formatDuration(90_000), '1m30s');
  assert.is(formatDuration(30 * 60_000), '30m');
  assert.is(formatDuration(90 * 60_000), '1h30m');
  assert.is(formatDuration(1), '1s');
});

S('run: a bad flag leaves an existing record byte for byte, and creates no new one', async () => {
  const keep = join(dir, 'keep.json');
  copyFileSync(FIXTURE, keep);
  const before = readFileSync(keep);
  const r = await swc(['run', '-n', 'ci', '--lock-timeout', '0', '--record', keep]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /error: --lock-timeout '0' is zero; it must be longer than that/);
  assert.equal(readFileSync(keep), before);
  for (const bad of [['--lock-timeout', '0'], ['--timeout', 'soon'], ['--resume', '--force']]) {
    const fresh = join(dir, `fresh-${bad[0].slice(2)}.json`);
    const b = await swc(['run', '-n', 'ci', ...bad, '--record', fresh]);
    assert.is(b.code, 2, `${bad.join(' ')}: ${b.stderr}`);
    assert.not.ok(existsSync(fresh), `${bad.join(' ')} created ${fresh}`);
  }
});

S('run without --resume refuses a record that holds runs (exit 6, file, Build, count, fix); the file is unchanged', async () => {
  const keep = join(dir, 'other.json');
  copyFileSync(FIXTURE, keep);
  const before = readFileSync(keep);
  const r = await swc(['run', '-n', 'ci', '--build', 'app', '--record', keep]);
  assert.is(r.code, 6, r.stderr);
  assert.match(r.stderr, new RegExp(`error: record file ${keep} already holds 5 runs of Build swc-e2e/sample-app-buildah\n  fix: pass --resume to continue it, --force to start it anew \\(the old runs are lost\\), or another --record path`));
  assert.equal(readFileSync(keep), before);
  // With --force (or an empty file) the run goes on to the cluster: here unreachable, exit 3, file still unchanged.
  const forced = await swc(['run', '-n', 'ci', '--build', 'app', '--record', keep, '--force']);
  assert.is(forced.code, 3, forced.stderr);
  assert.equal(readFileSync(keep), before);
  writeFileSync(join(dir, 'zero.json'), '');
  assert.is((await swc(['run', '-n', 'ci', '--build', 'app', '--record', join(dir, 'zero.json')])).code, 3);
});

S('run --resume on a corrupt, empty or foreign record: exit 2 naming the file, with a fix; the file is unchanged', async () => {
  const cases: [string, string, RegExp][] = [
    ['corrupt.json', '{"tool": "shipwright-cache", "runs": [', /is not valid JSON: /],
    ['empty.json', '', /is empty/],
    ['foreign.json', '{"tool":"other"}', /is not a shipwright-cache run record/],
  ];
  for (const [name, content, message] of cases) {
    const path = join(dir, name);
    writeFileSync(path, content);
    const r = await swc(['run', '-n', 'ci', '--build', 'app', '--resume', '--record', path]);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`error: --resume: record file ${path} ${message.source}`));
    assert.match(r.stderr, /\n {2}fix: .*drop --resume and pass --force/);
    assert.is(readFileSync(path, 'utf8'), content);
  }
});

S('run --record where nothing can be created: exit 2 naming the path, nothing written', async () => {
  const r = await swc(['run', '-n', 'ci', '--build', 'app', '--record', '/proc/nope/r.json']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /error: cannot write the record to \/proc\/nope\/r\.json: cannot create files in \/proc/);
  assert.match(r.stderr, /fix: pass a writable path with --record/);
});

S.run();
