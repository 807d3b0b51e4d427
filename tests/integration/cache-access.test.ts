// A non-root builder (the upstream ko strategy, 1000:1000) on a cache volume it
// cannot write, against the real API server: the probe pod, the error, and
// --fix-permissions. No kubelet runs here, so FakeController writes the pod
// statuses the kubelet would (a container's exit code and termination message).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { cli, deleteClusterStrategy, deleteNamespace, installStrategy, newNamespace, requireCluster } from '../helpers/cluster.js';
import { FakeController, type FakePodResult, type FakeRunPlan } from '../helpers/fake-controller.js';

const kube = requireCluster();
const S = suite('run: write access of a non-root builder (real API server, stand-in kubelet)');
let ns = '';
let strategy = '';
const dir = mkdtempSync(join(tmpdir(), 'swc-access-'));
const SW = { group: 'shipwright.io', version: 'v1beta1' };
const ok = (kind: string): FakeRunPlan => (kind === 'cold' ? { setup: 5, source: 1, build: 20, push: 1 } : { setup: 3, source: 1, build: 2, push: 1 });
const DENIED = 'touch: /gocache/.shipwright-cache-write-probe-x: Permission denied';

/** The kubelet's view of the volume: root-owned until a chown pod ran. */
function volume(): { chowned: boolean; seen: { name: string; what: string; securityContext: unknown; mount: unknown }[]; result: (p: V1Pod) => FakePodResult } {
  const v = {
    chowned: false,
    seen: [] as { name: string; what: string; securityContext: unknown; mount: unknown }[],
    result: (p: V1Pod): FakePodResult => {
      const what = p.metadata?.labels?.['shipwright-cache.io/access-check'] ?? 'other';
      const c = p.spec!.containers[0];
      const plain = (x: unknown) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));
      v.seen.push({ name: p.metadata!.name!, what, securityContext: plain(c.securityContext), mount: plain(c.volumeMounts?.[0]) });
      if (what === 'chown') v.chowned = true;
      if (what === 'probe' && !v.chowned) return { c0: { exitCode: 13, message: `${DENIED}\n` } };
      return {};
    },
  };
  return v;
}

const buildRuns = async () => ((await kube.custom.listNamespacedCustomObject({ ...SW, plural: 'buildruns', namespace: ns })) as { items: unknown[] }).items.length;
const podsLeft = async () => (await kube.core.listNamespacedPod({ namespace: ns, labelSelector: 'shipwright-cache.io/access-check' })).items.map((p) => p.metadata!.name);

S.before(async () => {
  ns = await newNamespace(kube, 'access');
  strategy = (await installStrategy(kube, 'ko')).metadata.name;
  await kube.storage.createStorageClass({ body: { metadata: { name: `${ns}-sc` }, provisioner: 'example.com/none', volumeBindingMode: 'WaitForFirstConsumer' } });
  for (const c of [
    ['cache-pvc', '-n', ns, '--name', 'go-cache', '--storage-class', `${ns}-sc`],
    ['patch-strategy', '-n', ns, '-s', strategy],
    ['create-build', '-n', ns, '-s', strategy, '--pvc', 'go-cache', '--build', 'app', '--source-url', 'http://x/app.git', '--output-image', 'r/app', '--no-wait'],
  ]) {
    const r = await cli(c);
    assert.is(r.code, 0, `${c[0]}: ${r.stderr}`);
  }
});
S.after(async () => {
  await deleteNamespace(kube, ns);
  await deleteClusterStrategy(kube, strategy);
  await kube.storage.deleteStorageClass({ name: `${ns}-sc` }).catch(() => undefined);
});

S('a volume the build user cannot write: the run stops before any BuildRun, naming claim, path, user and fix', async () => {
  const vol = volume();
  const ctl = new FakeController(kube, ns, ok);
  ctl.podResult = vol.result;
  ctl.start();
  try {
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--record', join(dir, 'denied.json'), '--timeout', '60s']);
    assert.is(r.code, 6, r.stderr);
    assert.match(r.stderr, new RegExp(`error: the cache volume PersistentVolumeClaim ${ns}/go-cache is not writable by the build: step 'build' of .* runs as uid 1000, gid 1000 and mounts it at /gocache \\(the volume root\\); writing a file there failed: ${DENIED}`));
    assert.match(r.stderr, /fix: run again with --fix-permissions: .* changes the owner of the volume root to 1000:1000 once/);
    assert.is(await buildRuns(), 0, 'no BuildRun was created');
    assert.not.ok(existsSync(join(dir, 'denied.json')), 'no record file was left');
    // The probe ran as the build user, on the same mount.
    assert.equal(vol.seen.map((s) => [s.what, s.securityContext, s.mount]), [['probe', { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, allowPrivilegeEscalation: false }, { name: 'cache', mountPath: '/gocache' }]]);
    assert.equal(await podsLeft(), [], 'the probe pod was deleted');
  } finally {
    ctl.stop();
  }
});

S('--fix-permissions: a root pod changes the owner once, the probe passes, the runs go on; a second run changes nothing', async () => {
  const vol = volume();
  const ctl = new FakeController(kube, ns, ok);
  ctl.podResult = vol.result;
  ctl.start();
  try {
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--fix-permissions', '--record', join(dir, 'fixed.json'), '--timeout', '60s']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /--fix-permissions: changing the owner of \/gocache \(the volume root\) to 1000:1000/);
    assert.match(r.stderr, /the build user can write the cache now/);
    assert.equal(vol.seen.map((s) => s.what), ['probe', 'chown', 'probe']);
    assert.equal(vol.seen[1].securityContext, { runAsUser: 0, runAsGroup: 0 });
    assert.is(await buildRuns(), 2);
    const again = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--fix-permissions', '--record', join(dir, 'fixed2.json'), '--timeout', '60s']);
    assert.is(again.code, 0, again.stderr);
    assert.equal(vol.seen.map((s) => s.what), ['probe', 'chown', 'probe', 'probe'], 'writable now: no second chown');
    assert.match(again.stderr, /the build user can write the cache\n/);
    assert.equal(await podsLeft(), []);
  } finally {
    ctl.stop();
  }
});

S('a volume root cannot chown (root_squash): after --fix-permissions the run still stops, saying why', async () => {
  const ctl = new FakeController(kube, ns, ok);
  ctl.podResult = (p): FakePodResult => (p.metadata?.labels?.['shipwright-cache.io/access-check'] === 'probe' ? { c0: { exitCode: 13, message: DENIED } } : {});
  ctl.start();
  try {
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--fix-permissions', '--record', join(dir, 'squash.json'), '--timeout', '60s']);
    assert.is(r.code, 6, r.stderr);
    assert.match(r.stderr, /still, after --fix-permissions changed the owner/);
    assert.match(r.stderr, /fix: give 1000:1000 write access on the storage side/);
  } finally {
    ctl.stop();
  }
});

S.run();
