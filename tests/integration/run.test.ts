// run -> gate -> report through the CLI, against the real API server. The
// BuildRuns and TaskRuns are real objects; their statuses come from
// FakeController, which stands in for the Shipwright and Tekton controllers.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { cli, deleteClusterStrategy, deleteNamespace, installStrategy, json, newNamespace, requireCluster } from '../helpers/cluster.js';
import { FakeController, type FakeRunPlan } from '../helpers/fake-controller.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import type { RunRecord } from '../../scripts/lib/record.js';

const kube = requireCluster();
const S = suite('run, gate, report (real API server, stand-in controllers)');
let ns = '';
let strategy = '';
const dir = mkdtempSync(join(tmpdir(), 'swc-run-'));
const SW = { group: 'shipwright.io', version: 'v1beta1' };

S.before(async () => {
  ns = await newNamespace(kube, 'run');
  strategy = (await installStrategy(kube, 'buildah-shipwright-managed-push')).metadata.name;
  await kube.storage.createStorageClass({ body: { metadata: { name: `${ns}-sc` }, provisioner: 'example.com/none', volumeBindingMode: 'WaitForFirstConsumer' } });
  for (const c of [['cache-pvc', '-n', ns, '--name', 'cache', '--storage-class', `${ns}-sc`], ['patch-strategy', '-n', ns, '-s', strategy]]) {
    const r = await cli(c);
    assert.is(r.code, 0, r.stderr);
  }
  for (const b of ['app', 'slow', 'flaky']) {
    const r = await cli(['create-build', '-n', ns, '-s', strategy, '--pvc', 'cache', '--build', b, '--source-url', 'http://x/app.git', '--output-image', 'r/app', '--no-wait']);
    assert.is(r.code, 0, r.stderr);
  }
});
S.after(async () => {
  await deleteNamespace(kube, ns);
  await deleteClusterStrategy(kube, strategy);
  await kube.storage.deleteStorageClass({ name: `${ns}-sc` }).catch(() => undefined);
});

const plan = (kind: string): FakeRunPlan => (kind === 'cold' ? { setup: 14, source: 2, build: 20, push: 2 } : kind === 'baseline' ? { setup: 4, source: 2, build: 19, push: 2 } : { setup: 3, source: 2, build: 1, push: 1 });

S('three cached runs and one baseline: a record with phases per run; gate passes; report writes its files', async () => {
  const ctl = new FakeController(kube, ns, plan).start();
  try {
    const rec = join(dir, 'app.json');
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '3', '--baseline', '1', '--record', rec, '--timeout', '60s']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /recorded 4 BuildRuns of Build .*\/app/);
    const record = JSON.parse(readFileSync(rec, 'utf8')) as RunRecord;
    assert.equal(record.runs.map((x) => x.kind), ['cold', 'warm', 'warm', 'baseline']);
    assert.equal(record.runs[0].phases, { setup: 14, source: 2, build: 20, push: 2 });
    assert.is(record.runs[0].totalSeconds, 38);
    assert.is(record.runs[1].phases.build, 1);
    assert.is(record.cache!.pvc, 'cache');
    assert.is(record.cache!.volume, 'shp-buildah-container-storage,build-cache');
    assert.is(record.strategy!.profile, 'buildah');
    assert.is(record.interrupted, undefined);
    // The baseline BuildRun overrides the cache volume with an emptyDir; the cached ones do not.
    const brs = (await kube.custom.listNamespacedCustomObject({ ...SW, plural: 'buildruns', namespace: ns, labelSelector: 'shipwright-cache.io/run-kind=baseline' })) as { items: any[] };
    assert.equal(brs.items[0].spec.volumes, [{ name: 'shp-buildah-container-storage', emptyDir: {} }, { name: 'build-cache', emptyDir: {} }]);

    const g = await cli(['gate', '--record', rec, '--min-speedup', '2']);
    assert.is(g.code, 0, g.stderr + g.stdout);
    assert.match(g.stdout, /^PASS: /);
    const fail = await cli(['gate', '--record', rec, '--min-speedup', '25']);
    assert.is(fail.code, 1);
    assert.match(fail.stdout, /^FAIL: /);
    const out = join(dir, 'report');
    const rep = await cli(['report', '--record', rec, '--out-dir', out]);
    assert.is(rep.code, 0, rep.stderr);
    for (const f of ['report.md', 'report.json', 'report.svg']) assert.ok(existsSync(join(out, f)), f);
  } finally {
    ctl.stop();
  }
});

S('a failed BuildRun stops the sequence, is recorded with its reason, and the gate names it', async () => {
  const ctl = new FakeController(kube, ns, (kind) => (kind === 'warm' ? { ...plan(kind), failReason: 'VolumeDoesNotExist' } : plan(kind))).start();
  try {
    const rec = join(dir, 'flaky.json');
    const r = await cli(['run', '-n', ns, '--build', 'flaky', '--runs', '3', '--record', rec, '--timeout', '60s']);
    assert.is(r.code, 1, r.stderr);
    const record = JSON.parse(readFileSync(rec, 'utf8')) as RunRecord;
    assert.is(record.runs.length, 2);
    assert.is(record.runs[1].outcome, 'Failed');
    assert.is(record.runs[1].reason, 'VolumeDoesNotExist');
    const g = await cli(['gate', '--record', rec]);
    assert.is(g.code, 1);
    assert.match(g.stdout, /VolumeDoesNotExist/);
  } finally {
    ctl.stop();
  }
});

S('a BuildRun that never finishes times out and is canceled', async () => {
  const ctl = new FakeController(kube, ns, () => ({ ...plan('cold'), hang: true })).start();
  try {
    const rec = join(dir, 'slow.json');
    const r = await cli(['run', '-n', ns, '--build', 'slow', '--runs', '2', '--record', rec, '--timeout', '4s']);
    assert.is(r.code, 1, r.stderr);
    const record = JSON.parse(readFileSync(rec, 'utf8')) as RunRecord;
    assert.is(record.runs[0].outcome, 'TimedOut');
    const br = (await kube.custom.getNamespacedCustomObject({ ...SW, plural: 'buildruns', namespace: ns, name: record.runs[0].buildRunName })) as any;
    assert.is(br.spec.state, 'BuildRunCanceled');
  } finally {
    ctl.stop();
  }
});

S('Ctrl-C keeps the record written so far, cancels the BuildRun in flight, and --resume continues', async () => {
  const rec = join(dir, 'int.json');
  let hang = true;
  const ctl = new FakeController(kube, ns, (kind) => (kind === 'warm' && hang ? { ...plan(kind), hang: true } : plan(kind))).start();
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', 'run', '-n', ns, '--build', 'app', '--runs', '3', '--record', rec, '--timeout', '60s'], { cwd: REPO_ROOT, env: process.env });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number>((res) => child.on('exit', (code) => res(code ?? -1)));
    for (let i = 0; i < 200 && !/#2 \(warm\) .* created/.test(err); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await exited;
    assert.is(code, 130, err);
    assert.match(err, /interrupted; 1 runs kept in/);
    assert.match(err, /--resume/);
    assert.match(err, /shipwright-cache\.io\/run-id=/);
    const record = JSON.parse(readFileSync(rec, 'utf8')) as RunRecord;
    assert.is(record.interrupted, true);
    assert.is(record.runs.length, 1);
    const canceled = (await kube.custom.listNamespacedCustomObject({ ...SW, plural: 'buildruns', namespace: ns, labelSelector: 'shipwright-cache.io/run-kind=warm' })) as { items: any[] };
    assert.ok(canceled.items.some((b) => b.spec.state === 'BuildRunCanceled'));

    hang = false;
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '3', '--record', rec, '--timeout', '60s', '--resume', '-o', 'json']);
    assert.is(r.code, 0, r.stderr);
    const resumed = json<RunRecord>(r);
    assert.equal(resumed.runs.map((x) => x.kind), ['cold', 'warm', 'warm']);
    assert.is(resumed.runs[0].buildRunName, record.runs[0].buildRunName);
    assert.is(resumed.interrupted, undefined);
  } finally {
    ctl.stop();
  }
});

S('bad input: too few runs, unknown Build', async () => {
  const few = await cli(['run', '-n', ns, '--build', 'app', '--runs', '1']);
  assert.is(few.code, 2);
  assert.match(few.stderr, /--runs 1 is too few/);
  const none = await cli(['run', '-n', ns, '--build', 'ghost']);
  assert.is(none.code, 5);
  assert.match(none.stderr, /Build .*\/ghost does not exist/);
});

S.run();

const D = suite('demo (real API server, stand-in controllers)');
D('demo chains PVC, strategy copy, Build, runs, gate and report; exit code is the verdict', async () => {
  const dns = await newNamespace(kube, 'demo');
  const dstrategy = (await installStrategy(kube, 'buildah-strategy-managed-push')).metadata.name;
  await kube.storage.createStorageClass({ body: { metadata: { name: `${dns}-sc` }, provisioner: 'example.com/none', volumeBindingMode: 'WaitForFirstConsumer' } });
  const ctl = new FakeController(kube, dns, plan).start();
  try {
    const out = join(dir, 'demo');
    const common = ['demo', '-n', dns, '-s', dstrategy, '--storage-class', `${dns}-sc`, '--source-url', 'http://x/app.git', '--output-image', 'r/app', '--no-cold', '--run-timeout', '60s', '--out-dir', out];
    const r = await cli(common);
    assert.is(r.code, 0, r.stderr);
    for (const stage of ['stage 1/6', 'stage 2/6', 'stage 3/6', 'stage 4/6', 'stage 5/6', 'stage 6/6']) assert.match(r.stderr, stage);
    assert.match(r.stdout, /PASS: /);
    for (const f of ['record.json', 'report.md', 'report.json', 'report.svg']) assert.ok(existsSync(join(out, f)), f);
    const fail = await cli([...common, '--min-speedup', '100']);
    assert.is(fail.code, 1, fail.stderr);
    assert.match(fail.stdout, /FAIL: /);
    assert.match(fail.stderr, /already as requested; nothing changed/);
  } finally {
    ctl.stop();
    await deleteNamespace(kube, dns);
    await deleteClusterStrategy(kube, dstrategy);
    await kube.storage.deleteStorageClass({ name: `${dns}-sc` }).catch(() => undefined);
  }
});
D.run();
