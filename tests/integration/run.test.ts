// run -> gate -> report through the CLI, against the real API server. The
// BuildRuns and TaskRuns are real objects; their statuses come from
// FakeController, which stands in for the Shipwright and Tekton controllers.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { cli, deleteClusterStrategy, deleteNamespace, installStrategy, json, newNamespace, requireCluster, serviceAccountKubeconfig } from '../helpers/cluster.js';
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
    assert.is(r.code, 7, r.stderr);
    assert.match(r.stderr, /created; waiting up to 4s\n/);
    assert.match(r.stderr, new RegExp(`error: BuildRun ${ns}/slow-cold-\\S+ \\(cold\\) did not finish within --timeout 4s and was canceled; 1 runs kept in ${rec}\n  fix: raise --timeout`));
    const record = JSON.parse(readFileSync(rec, 'utf8')) as RunRecord;
    assert.is(record.runs[0].outcome, 'TimedOut');
    assert.is(record.runs[0].message, 'no result within 4s; canceled');
    assert.is(record.interrupted, true);
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

S('--resume plans by kind: cold + 2 warm, then --runs 2 --baseline 1 runs the baseline; without --resume the record is kept (exit 6); --force starts anew', async () => {
  const ctl = new FakeController(kube, ns, plan).start();
  try {
    const rec = join(dir, 'kinds.json');
    const first = await cli(['run', '-n', ns, '--build', 'app', '--runs', '3', '--record', rec, '--timeout', '60s']);
    assert.is(first.code, 0, first.stderr);
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--baseline', '1', '--record', rec, '--timeout', '60s', '--resume', '-o', 'json']);
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stderr, /nothing to do/);
    assert.equal(json<RunRecord>(r).runs.map((x) => x.kind), ['cold', 'warm', 'warm', 'baseline']);
    const again = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--baseline', '1', '--record', rec, '--resume']);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stderr, /nothing to do/);

    const before = readFileSync(rec, 'utf8');
    const over = await cli(['run', '-n', ns, '--build', 'flaky', '--runs', '2', '--record', rec, '--timeout', '60s']);
    assert.is(over.code, 6, over.stderr);
    assert.match(over.stderr, new RegExp(`error: record file ${rec} already holds 4 runs of Build ${ns}/app\n  fix: pass --resume to continue it, --force to start it anew`));
    assert.is(readFileSync(rec, 'utf8'), before);
    const forced = await cli(['run', '-n', ns, '--build', 'flaky', '--runs', '2', '--record', rec, '--timeout', '60s', '--force', '-o', 'json']);
    assert.is(forced.code, 0, forced.stderr);
    const fresh = JSON.parse(readFileSync(rec, 'utf8')) as RunRecord;
    assert.is(fresh.build, 'flaky');
    assert.equal(fresh.runs.map((x) => x.kind), ['cold', 'warm']);
  } finally {
    ctl.stop();
  }
});

const lease = () => kube.coordination.readNamespacedLease({ name: 'shipwright-cache-lock-cache', namespace: ns }).then(() => true, () => false);
const resetPods = async () => (await kube.core.listNamespacedPod({ namespace: ns, labelSelector: 'shipwright-cache.io/reset' })).items.map((p) => p.metadata!.name);

S('stderr a closed pipe (| head -1): the run goes on and cleans up: record complete, cache lock released, reset pod deleted', async () => {
  const ctl = new FakeController(kube, ns, plan).start();
  try {
    const rec = join(dir, 'epipe.json');
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', 'run', '-n', ns, '--build', 'app', '--runs', '2', '--cold', '--record', rec, '--timeout', '60s'], { cwd: REPO_ROOT, env: process.env });
    child.stderr.destroy();
    child.stdout.resume();
    const code = await new Promise<number>((res) => child.on('exit', (c) => res(c ?? -1)));
    assert.is(code, 0);
    const record = JSON.parse(readFileSync(rec, 'utf8')) as RunRecord;
    assert.equal(record.runs.map((x) => [x.kind, x.outcome]), [['cold', 'Succeeded'], ['warm', 'Succeeded']]);
    assert.not.ok(await lease(), 'the cache lock was released');
    assert.equal(await resetPods(), []);
  } finally {
    ctl.stop();
  }
});

S('--cold refused by RBAC on pods: exit 4, no record file left, the cache lock released', async () => {
  const rbac = kube.config.makeApiClient(k8s.RbacAuthorizationV1Api);
  const role = `${ns}-nopods`;
  const rules: k8s.V1PolicyRule[] = [
    { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get'] },
    { apiGroups: [''], resources: ['events'], verbs: ['list'] },
    { apiGroups: ['shipwright.io'], resources: ['builds', 'buildruns', 'buildstrategies'], verbs: ['get', 'create', 'patch'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update', 'delete'] },
  ];
  await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'nopods' }, rules } });
  await rbac.createNamespacedRoleBinding({ namespace: ns, body: { metadata: { name: 'nopods' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'nopods' }, subjects: [{ kind: 'ServiceAccount', name: 'nopods', namespace: ns }] } });
  await rbac.createClusterRole({ body: { metadata: { name: role }, rules: [{ apiGroups: ['shipwright.io'], resources: ['clusterbuildstrategies'], verbs: ['get', 'list'] }, { apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get'] }, { apiGroups: [''], resources: ['nodes'], verbs: ['list'] }] } });
  await rbac.createClusterRoleBinding({ body: { metadata: { name: role }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'ServiceAccount', name: 'nopods', namespace: ns }] } });
  const ctl = new FakeController(kube, ns, plan).start();
  try {
    const kc = await serviceAccountKubeconfig(kube, ns, 'nopods');
    const rec = join(dir, 'nopods', 'r.json');
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--cold', '--record', rec, '--timeout', '60s'], { KUBECONFIG: kc });
    assert.is(r.code, 4, r.stderr);
    assert.match(r.stderr, /forbidden: .*pods/);
    assert.not.ok(existsSync(rec), 'no record file');
    assert.not.ok(existsSync(join(dir, 'nopods')), 'no record directory');
    assert.not.ok(await lease(), 'the cache lock was released');
  } finally {
    ctl.stop();
    await rbac.deleteClusterRoleBinding({ name: role }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: role }).catch(() => undefined);
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
