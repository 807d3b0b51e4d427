// cache-pvc against a real kube-apiserver and kube-controller-manager (its
// PersistentVolume controller binds claims to the PersistentVolumes made here;
// there is no dynamic provisioner and no scheduler in control-plane mode).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, deleteNamespace, json, newNamespace, rand, requireCluster } from '../helpers/cluster.js';

const kube = requireCluster();
const S = suite('cache-pvc (real API server)');
let ns = '';
const classes: string[] = [];
const wffc = `swc-wffc-${rand()}`;
const immediate = `swc-immediate-${rand()}`;
const expandable = `swc-expand-${rand()}`;

S.before(async () => {
  ns = await newNamespace(kube, 'pvc');
  const mk = async (name: string, mode: string, expand = false) => {
    await kube.storage.createStorageClass({ body: { metadata: { name }, provisioner: 'example.com/none', volumeBindingMode: mode, allowVolumeExpansion: expand } });
    classes.push(name);
  };
  await mk(wffc, 'WaitForFirstConsumer');
  await mk(immediate, 'Immediate');
  await mk(expandable, 'Immediate', true);
});
const pvs: string[] = [];
/** A PersistentVolume of `cls` that the PV controller can bind a claim to (never mounted: no kubelet here). */
async function makePv(cls: string, size: string) {
  const name = `swc-pv-${rand()}`;
  await kube.core.createPersistentVolume({ body: { metadata: { name }, spec: { storageClassName: cls, capacity: { storage: size }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/tmp/${name}` }, persistentVolumeReclaimPolicy: 'Retain' } } });
  pvs.push(name);
}

S.after(async () => {
  await deleteNamespace(kube, ns);
  for (const pv of pvs) await kube.core.deletePersistentVolume({ name: pv }).catch(() => undefined);
  for (const c of classes) await kube.storage.deleteStorageClass({ name: c }).catch(() => undefined);
});

S('no default class and none given: a clear error listing the classes', async () => {
  const defaults = (await kube.storage.listStorageClass()).items.filter((c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
  assert.is(defaults.length, 0, 'the test control plane has no default class');
  const r = await cli(['cache-pvc', '-n', ns, '--name', 'c0']);
  assert.is(r.code, 5, r.stderr);
  assert.match(r.stderr, /no default StorageClass/);
  assert.match(r.stderr, new RegExp(`${wffc} \\(example.com/none, WaitForFirstConsumer\\)`));
});

S('WaitForFirstConsumer: created with the class named explicitly, not waited for; a re-run changes nothing', async () => {
  const r = await cli(['cache-pvc', '-n', ns, '--name', 'c1', '--storage-class', wffc, '--label', 'team=ci', '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  const out = json(r);
  assert.is(out.action, 'created');
  assert.is(out.phase, 'Pending');
  assert.match(String(out.message), /stays Pending until the first build pod/);
  const pvc = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'c1', namespace: ns });
  assert.is(pvc.spec!.storageClassName, wffc);
  assert.equal(pvc.spec!.accessModes, ['ReadWriteOnce']);
  assert.is(String(pvc.spec!.resources!.requests!.storage), '3Gi');
  assert.is(pvc.metadata!.labels!.team, 'ci');
  const again = await cli(['cache-pvc', '-n', ns, '--name', 'c1', '--label', 'team=ci']);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /already as requested; nothing changed/);
  const pvc2 = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'c1', namespace: ns });
  assert.is(pvc2.metadata!.resourceVersion, pvc.metadata!.resourceVersion);
});

S('the default class is used when marked; dry-run creates nothing', async () => {
  await kube.storage.patchStorageClass({ name: wffc, body: { metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } } }, (await import('../../scripts/lib/kube.js')).mergePatch());
  try {
    const dry = await cli(['cache-pvc', '-n', ns, '--name', 'c2', '--dry-run', '-o', 'json']);
    assert.is(dry.code, 0, dry.stderr);
    assert.is(json(dry).action, 'would-create');
    assert.is(json(dry).storageClass, wffc);
    const gone = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'c2', namespace: ns }).catch(() => undefined);
    assert.is(gone, undefined);
    const r = await cli(['cache-pvc', '-n', ns, '--name', 'c2', '-o', 'json']);
    assert.is(json(r).storageClass, wffc);
  } finally {
    await kube.storage.patchStorageClass({ name: wffc, body: { metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': null } } } }, (await import('../../scripts/lib/kube.js')).mergePatch());
  }
});

S('Immediate: on timeout the error carries the claim events', async () => {
  // 10Gi: more than the PersistentVolume of the next test offers, so the PV controller cannot bind it there.
  const r = await cli(['cache-pvc', '-n', ns, '--name', 'c3', '--storage-class', immediate, '--size', '10Gi', '--timeout', '5s']);
  assert.is(r.code, 7, r.stderr);
  // The PV controller's own event for a class whose provisioner never answers.
  assert.match(r.stderr, /PersistentVolumeClaim .*\/c3 is still Pending after 5s; events: .*ExternalProvisioning: Waiting for a volume to be created .*example.com\/none/);
  assert.match(r.stderr, /fix: check the provisioner of class/);
});

S('Immediate: waits until the PersistentVolume controller binds the claim', async () => {
  await makePv(immediate, '3Gi');
  const r = await cli(['cache-pvc', '-n', ns, '--name', 'c4', '--storage-class', immediate, '--timeout', '60s', '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(json(r).phase, 'Bound');
  assert.match(String(json(r).message), /Bound$/);
});

S('an existing claim: never shrunk; grown only where the class allows it', async () => {
  assert.is((await cli(['cache-pvc', '-n', ns, '--name', 'c5', '--storage-class', wffc, '--size', '2Gi'])).code, 0);
  const shrink = await cli(['cache-pvc', '-n', ns, '--name', 'c5', '--size', '1Gi']);
  assert.is(shrink.code, 6);
  assert.match(shrink.stderr, /requests 2Gi, more than --size 1Gi; a claim never shrinks/);
  const grow = await cli(['cache-pvc', '-n', ns, '--name', 'c5', '--size', '4Gi']);
  assert.is(grow.code, 6);
  assert.match(grow.stderr, /is not Bound yet \(Pending\); Kubernetes lets only a Bound claim grow/);
  const dry = await cli(['cache-pvc', '-n', ns, '--name', 'c5', '--size', '4Gi', '--dry-run']);
  assert.is(dry.code, 6, 'dry-run tells the same');
  // Kubernetes accepts a resize of a Bound claim only.
  await makePv(expandable, '1Gi');
  const c6 = await cli(['cache-pvc', '-n', ns, '--name', 'c6', '--storage-class', expandable, '--size', '1Gi', '-o', 'json']);
  assert.is(json(c6).phase, 'Bound');
  const ok = await cli(['cache-pvc', '-n', ns, '--name', 'c6', '--size', '2Gi', '-o', 'json']);
  assert.is(ok.code, 0, ok.stderr);
  assert.is(json(ok).action, 'updated');
  assert.is(json(ok).size, '2Gi');
  const mode = await cli(['cache-pvc', '-n', ns, '--name', 'c6', '--size', '2Gi', '--access-mode', 'ReadWriteMany']);
  assert.is(mode.code, 6);
  assert.match(mode.stderr, /access modes cannot change|access modes \["ReadWriteOnce"\]/);
});

S('bad input gets usage errors that name the flag', async () => {
  const cases: [string[], RegExp][] = [
    [['--size', 'lots'], /--size 'lots' is not a storage size/],
    [['--name', 'Cache_1'], /--name 'Cache_1' is not a valid Kubernetes name/],
    [['--access-mode', 'RWO'], /--access-mode 'RWO' is not an access mode/],
    [['--timeout', 'forever'], /--timeout 'forever' is not a duration/],
    [['--label', 'a b'], /--label 'a b' is not a valid label/],
    [['--storage-class', ''], /--storage-class is empty/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(['cache-pvc', '-n', ns, ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const sc = await cli(['cache-pvc', '-n', ns, '--name', 'c9', '--storage-class', 'nope']);
  assert.is(sc.code, 5);
  assert.match(sc.stderr, /StorageClass 'nope' does not exist/);
});

S.run();
