// A cache claim Bound to a volume pinned to one node (spec.nodeAffinity), against
// the real API server and PV controller: the Node objects are created here (no
// kubelet; their Ready condition is written as a kubelet would), then cordoned
// and removed. run must stop before any BuildRun and say which volume, which node.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, deleteClusterStrategy, deleteNamespace, installStrategy, newNamespace, rand, requireCluster } from '../helpers/cluster.js';
import { FakeController, type FakeRunPlan } from '../helpers/fake-controller.js';
import { mergePatch } from '../../scripts/lib/kube.js';

const kube = requireCluster();
const S = suite('run: a cache volume pinned to a node (real API server and PV controller)');
let ns = '';
let strategy = '';
const id = rand();
const nodeName = `swc-node-${id}`;
const pvName = `swc-pinned-${id}`;
const cls = `swc-local-${id}`;
const dir = mkdtempSync(join(tmpdir(), 'swc-volnode-'));
const SW = { group: 'shipwright.io', version: 'v1beta1' };
const ok = (kind: string): FakeRunPlan => (kind === 'cold' ? { setup: 5, source: 1, build: 20, push: 1 } : { setup: 3, source: 1, build: 2, push: 1 });
const buildRuns = async () => ((await kube.custom.listNamespacedCustomObject({ ...SW, plural: 'buildruns', namespace: ns })) as { items: unknown[] }).items.length;

async function createReadyNode(): Promise<void> {
  await kube.core.createNode({ body: { metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName, 'shipwright-cache.io/test': 'true' } } } });
  const now = new Date().toISOString();
  await kube.core.patchNodeStatus({ name: nodeName, body: [{ op: 'add', path: '/status/conditions', value: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }] }] });
}

S.before(async () => {
  ns = await newNamespace(kube, 'volnode');
  strategy = (await installStrategy(kube, 'buildah-shipwright-managed-push')).metadata.name;
  await kube.storage.createStorageClass({ body: { metadata: { name: cls }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'Immediate' } });
  await createReadyNode();
  // A local-style volume: usable only on that node; pre-bound to the claim cache-pvc creates.
  await kube.core.createPersistentVolume({
    body: {
      metadata: { name: pvName },
      spec: {
        storageClassName: cls, capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: `/tmp/${pvName}` },
        claimRef: { namespace: ns, name: 'cache' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] }] } },
      },
    },
  });
  for (const c of [
    ['cache-pvc', '-n', ns, '--name', 'cache', '--storage-class', cls, '--size', '1Gi', '--timeout', '90s'],
    ['patch-strategy', '-n', ns, '-s', strategy],
    ['create-build', '-n', ns, '-s', strategy, '--pvc', 'cache', '--build', 'app', '--source-url', 'http://x/app.git', '--output-image', 'r/app', '--no-wait'],
  ]) {
    const r = await cli(c);
    assert.is(r.code, 0, `${c[0]}: ${r.stderr}`);
  }
  const claim = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'cache', namespace: ns });
  assert.equal([claim.status?.phase, claim.spec?.volumeName], ['Bound', pvName]);
});
S.after(async () => {
  await deleteNamespace(kube, ns);
  await deleteClusterStrategy(kube, strategy);
  await kube.core.deleteNode({ name: nodeName }).catch(() => undefined);
  await kube.core.deletePersistentVolume({ name: pvName }).catch(() => undefined);
  await kube.storage.deleteStorageClass({ name: cls }).catch(() => undefined);
});

S('its node is Ready: the runs go on', async () => {
  const ctl = new FakeController(kube, ns, ok).start();
  try {
    const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--record', join(dir, 'ready.json'), '--timeout', '60s']);
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stderr, /volume node affinity/);
  } finally {
    ctl.stop();
  }
});

S('its node is cordoned: stop before any BuildRun, naming the volume, the node and the fixes', async () => {
  await kube.core.patchNode({ name: nodeName, body: { spec: { unschedulable: true } } }, mergePatch());
  const before = await buildRuns();
  const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--record', join(dir, 'cordoned.json'), '--timeout', '60s']);
  assert.is(r.code, 6, r.stderr);
  assert.match(r.stderr, new RegExp(`error: PersistentVolumeClaim ${ns}/cache is Bound to PersistentVolume ${pvName}, which only node ${nodeName} can use \\(kubernetes.io/hostname In \\(${nodeName}\\)\\), and none is Ready and schedulable: node ${nodeName} is cordoned`));
  assert.match(r.stderr, new RegExp(`fix: uncordon it \\(kubectl uncordon ${nodeName}\\); or give up this cache .*kubectl delete pvc -n ${ns} cache`));
  assert.is(await buildRuns(), before, 'no BuildRun was created');
});

S('its node is gone: says so, with the events of the claim', async () => {
  await kube.core.deleteNode({ name: nodeName });
  // An event on the claim, as the PV controller records them (the message carries them).
  const now = new Date();
  await kube.core.createNamespacedEvent({ namespace: ns, body: { metadata: { name: `cache.${id}` }, involvedObject: { kind: 'PersistentVolumeClaim', name: 'cache', namespace: ns, apiVersion: 'v1' }, reason: 'ExternalProvisioning', message: "Waiting for a volume to be created either by the external provisioner 'kubernetes.io/no-provisioner' or manually by the system administrator", type: 'Normal', source: { component: 'persistentvolume-controller' }, firstTimestamp: now, lastTimestamp: now, count: 1 } });
  const r = await cli(['run', '-n', ns, '--build', 'app', '--runs', '2', '--record', join(dir, 'gone.json'), '--timeout', '60s']);
  assert.is(r.code, 6, r.stderr);
  assert.match(r.stderr, new RegExp(`node ${nodeName} does not exist \\(removed from the cluster\\?\\); build pods would stay Pending \\(volume node affinity conflict\\); events: ExternalProvisioning: Waiting for a volume`));
  assert.match(r.stderr, new RegExp(`fix: bring node ${nodeName} back; or give up this cache and provision a new volume: kubectl delete pvc -n ${ns} cache \\(the PersistentVolume follows its reclaim policy, Retain\\), then shipwright-cache cache-pvc --name cache`));
});

S.run();
