// Faults a CI user meets, against the real API server (stand-in controllers as in run.test.ts):
// a cache shared by two runs, a strategy changed under us, a damaged cache, a full cache, secrets.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, deleteClusterStrategy, deleteNamespace, installStrategy, newNamespace, requireCluster } from '../helpers/cluster.js';
import { FakeController, type FakeRunPlan } from '../helpers/fake-controller.js';
import type { RunRecord } from '../../scripts/lib/record.js';
import { leaseName, microTime } from '../../scripts/lib/lease.js';

const kube = requireCluster();
const S = suite('faults (real API server, stand-in controllers)');
let ns = '';
let strategy = '';
const dir = mkdtempSync(join(tmpdir(), 'swc-faults-'));
const SW = { group: 'shipwright.io', version: 'v1beta1' };
const ok = (kind: string): FakeRunPlan => (kind === 'cold' ? { setup: 10, source: 2, build: 20, push: 2 } : { setup: 3, source: 2, build: 1, push: 1 });

S.before(async () => {
  ns = await newNamespace(kube, 'faults');
  strategy = (await installStrategy(kube, 'buildah-shipwright-managed-push')).metadata.name;
  await kube.storage.createStorageClass({ body: { metadata: { name: `${ns}-sc` }, provisioner: 'example.com/none', volumeBindingMode: 'WaitForFirstConsumer' } });
  for (const c of [['cache-pvc', '-n', ns, '--name', 'cache', '--storage-class', `${ns}-sc`], ['patch-strategy', '-n', ns, '-s', strategy], ['create-build', '-n', ns, '-s', strategy, '--pvc', 'cache', '--build', 'app', '--source-url', 'https://git.example.com/app.git', '--output-image', 'r/app', '--no-wait']]) {
    const r = await cli(c);
    assert.is(r.code, 0, r.stderr);
  }
});
S.after(async () => {
  await deleteNamespace(kube, ns);
  await deleteClusterStrategy(kube, strategy);
  await kube.storage.deleteStorageClass({ name: `${ns}-sc` }).catch(() => undefined);
});

const holdLease = async (holder: string, renewedSecondsAgo: number, duration: number) => {
  const now = new Date(Date.now() - renewedSecondsAgo * 1000);
  await kube.coordination.deleteNamespacedLease({ name: leaseName('cache'), namespace: ns }).catch(() => undefined);
  await kube.coordination.createNamespacedLease({ namespace: ns, body: { metadata: { name: leaseName('cache') }, spec: { holderIdentity: holder, leaseDurationSeconds: duration, renewTime: microTime(now) as never, acquireTime: microTime(now) as never } } });
};

S('a cache lock held by a live run: wait, say who holds it, give up at --lock-timeout', async () => {
  await holdLease('other-pipeline/run-1', 0, 600);
  const r = await cli(['run', '-n', ns, '--build', 'app', '--record', join(dir, 'locked.json'), '--lock-timeout', '3s']);
  assert.is(r.code, 7, r.stderr);
  assert.match(r.stderr, /the cache .*\/cache is in use: its lock is held by other-pipeline\/run-1/);
  assert.match(r.stderr, /kubectl -n .* delete lease shipwright-cache-lock-cache/);
  const brs = (await kube.custom.listNamespacedCustomObject({ ...SW, plural: 'buildruns', namespace: ns })) as { items: unknown[] };
  assert.is(brs.items.length, 0, 'no BuildRun was started');
});

S('a lock left by a killed run expires and is taken over; the lock is released at the end', async () => {
  // Renewed just now, 15 s lease: long enough that the run (started below, ~1-5 s) finds it live and waits.
  await holdLease('killed-run', 0, 15);
  const ctl = new FakeController(kube, ns, ok).start();
  try {
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--record', join(dir, 'stale.json'), '--timeout', '60s']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /waiting for the cache lock held by killed-run/);
    assert.match(r.stderr, /expired \(holder killed-run stopped renewing it/);
    const left = await kube.coordination.readNamespacedLease({ name: leaseName('cache'), namespace: ns }).catch(() => undefined);
    assert.is(left, undefined, 'released');
  } finally {
    ctl.stop();
  }
});

S('two runs on one cache never build at the same time', async () => {
  const ctl = new FakeController(kube, ns, ok).start();
  try {
    const [a, b] = await Promise.all([
      cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--record', join(dir, 'a.json'), '--timeout', '60s']),
      cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--record', join(dir, 'b.json'), '--timeout', '60s']),
    ]);
    assert.is(a.code, 0, a.stderr);
    assert.is(b.code, 0, b.stderr);
    assert.ok(/waiting for the cache lock held by/.test(a.stderr + b.stderr), 'one waited for the other');
    const ra = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8')) as RunRecord;
    const rb = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8')) as RunRecord;
    const names = new Set([...ra.runs, ...rb.runs].map((x) => x.buildRunName));
    // BuildRun creation times never interleave: all of one sequence before the other.
    const list = (await kube.custom.listNamespacedCustomObject({ ...SW, plural: 'buildruns', namespace: ns })) as { items: any[] };
    const order = list.items.filter((x) => names.has(x.metadata.name)).sort((x, y) => x.metadata.creationTimestamp.localeCompare(y.metadata.creationTimestamp) || Number(x.metadata.resourceVersion) - Number(y.metadata.resourceVersion)).map((x) => (ra.runs.some((r) => r.buildRunName === x.metadata.name) ? 'a' : 'b'));
    assert.ok(['aabb', 'bbaa'].includes(order.join('')), `order ${order.join('')}`);
  } finally {
    ctl.stop();
  }
});

S('a strategy edited after the patch, or no longer cache-ready, stops the run before it measures', async () => {
  const copy = `${strategy}-cached`;
  const bs = { ...SW, plural: 'buildstrategies', namespace: ns, name: copy };
  await kube.custom.patchNamespacedCustomObject({ ...bs, body: [{ op: 'replace', path: '/spec/steps/0/imagePullPolicy', value: 'IfNotPresent' }] });
  const edited = await cli(['run', '-n', ns, '--build', 'app', '--record', join(dir, 'drift1.json')]);
  assert.is(edited.code, 6, edited.stderr);
  assert.match(edited.stderr, /was changed after shipwright-cache patched it/);
  await kube.custom.patchNamespacedCustomObject({ ...bs, body: [{ op: 'replace', path: '/spec/volumes/0/overridable', value: false }] });
  const reverted = await cli(['run', '-n', ns, '--build', 'app', '--record', join(dir, 'drift2.json')]);
  assert.is(reverted.code, 6);
  assert.match(reverted.stderr, /is no longer cache-ready/);
  // patch-strategy --force re-derives it; then runs go again.
  assert.is((await cli(['patch-strategy', '-n', ns, '-s', strategy, '--force'])).code, 0);
});

S('a damaged cache is reset once and the run continues as cold; a full cache is explained', async () => {
  let corruptOnce = true;
  const ctl = new FakeController(kube, ns, (kind) => {
    if (kind === 'warm' && corruptOnce) {
      corruptOnce = false;
      return { ...ok(kind), failReason: 'Failed', failMessage: 'Error: creating build container: layer not known' };
    }
    return ok(kind);
  }).start();
  try {
    const rec = join(dir, 'corrupt.json');
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '3', '--record', rec, '--timeout', '60s']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /failed on a damaged cache \(Error: creating build container: layer not known\); emptying the cache once/);
    const record = JSON.parse(readFileSync(rec, 'utf8')) as RunRecord;
    assert.equal(record.runs.map((x) => [x.kind, x.outcome, Boolean(x.cacheReset)]), [['cold', 'Succeeded', false], ['cold', 'Succeeded', true], ['warm', 'Succeeded', false]]);
    assert.ok(ctl.pods.some((p) => p.includes('-reset-')), 'a reset pod ran');
  } finally {
    ctl.stop();
  }
  const full = new FakeController(kube, ns, (kind) => (kind === 'warm' ? { ...ok(kind), failReason: 'Failed', failMessage: 'writing blob: write /var/lib/containers/storage/overlay/x: no space left on device' } : ok(kind))).start();
  try {
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--record', join(dir, 'full.json'), '--timeout', '60s']);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /the cache volume PersistentVolumeClaim .*\/cache is full/);
    assert.match(r.stderr, /fix: grow it: shipwright-cache cache-pvc --name cache --size <larger>/);
    const record = JSON.parse(readFileSync(join(dir, 'full.json'), 'utf8')) as RunRecord;
    assert.is(record.runs[1].failure!.class, 'disk-full');
  } finally {
    full.stop();
  }
});

S('secrets never reach logs or records', async () => {
  const ctl = new FakeController(kube, ns, (kind) => (kind === 'warm' ? { ...ok(kind), failReason: 'Failed', failMessage: 'fatal: could not read from https://bot:s3cr3t-token@git.example.com/app.git' } : ok(kind))).start();
  try {
    const rec = join(dir, 'secret.json');
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--record', rec, '--timeout', '60s']);
    assert.is(r.code, 1);
    for (const text of [r.stdout, r.stderr, readFileSync(rec, 'utf8')]) {
      assert.not.match(text, /s3cr3t-token/);
    }
    assert.match(readFileSync(rec, 'utf8'), /https:\/\/\*\*\*@git.example.com/);
  } finally {
    ctl.stop();
  }
});

S.run();
