// create-build against a real kube-apiserver. No Shipwright controller runs in
// control-plane mode: registration is waited for only where a test writes the
// Build status as the controller would, and says so.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, deleteClusterStrategy, deleteNamespace, installStrategy, json, newNamespace, requireCluster, serviceAccountKubeconfig } from '../helpers/cluster.js';
import type { BuildObject } from '../../scripts/lib/build.js';

const kube = requireCluster();
const S = suite('create-build (real API server)');
let ns = '';
let strategy = '';
const SW = { group: 'shipwright.io', version: 'v1beta1' };

S.before(async () => {
  ns = await newNamespace(kube, 'build');
  strategy = (await installStrategy(kube, 'buildah-shipwright-managed-push')).metadata.name;
  await kube.storage.createStorageClass({ body: { metadata: { name: `${ns}-sc` }, provisioner: 'example.com/none', volumeBindingMode: 'WaitForFirstConsumer' } });
  assert.is((await cli(['cache-pvc', '-n', ns, '--name', 'cache', '--storage-class', `${ns}-sc`])).code, 0);
});
S.after(async () => {
  await deleteNamespace(kube, ns);
  await deleteClusterStrategy(kube, strategy);
  await kube.storage.deleteStorageClass({ name: `${ns}-sc` }).catch(() => undefined);
});

const args = (extra: string[] = []) => ['create-build', '-n', ns, '-s', strategy, '--pvc', 'cache', '--source-url', 'http://10.88.0.1:8080/app.git', '--source-revision', 'main', '--output-image', '10.88.0.1:5000/ci/app', '--output-insecure', '--param', 'dockerfile=Containerfile', '--no-wait', ...extra];
const getBuild = async (name: string) => (await kube.custom.getNamespacedCustomObject({ ...SW, plural: 'builds', namespace: ns, name }).catch(() => undefined)) as BuildObject | undefined;

S('before the strategy is patched: refused with the reason Shipwright would give, nothing created', async () => {
  // The ClusterBuildStrategy is referenced in place (in-place mode names the source itself).
  const r = await cli(args(['--mode', 'in-place', '--build', 'early']));
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /VolumeNotOverridable: Volume "shp-buildah-container-storage" is not overridable in the Strategy/);
  assert.match(r.stderr, /fix: run 'shipwright-cache patch-strategy --mode in-place --kind ClusterBuildStrategy --strategy buildah-shipwright-managed-push-/);
  assert.is(await getBuild('early'), undefined);
  const noCopy = await cli(args(['--build', 'early']));
  assert.is(noCopy.code, 5, noCopy.stderr);
  assert.match(noCopy.stderr, /BuildStrategyNotFound: BuildStrategy .*-cached does not exist/);
});

S('after patch-strategy: the Build references the copy with its kind and mounts the PVC; a re-run changes nothing', async () => {
  assert.is((await cli(['patch-strategy', '-n', ns, '-s', strategy])).code, 0);
  const r = await cli(args(['-o', 'json']));
  assert.is(r.code, 0, r.stderr);
  assert.is(json(r).action, 'created');
  const b = (await getBuild('shipwright-cache'))!;
  assert.equal(b.spec.strategy, { name: `${strategy}-cached`, kind: 'BuildStrategy' });
  // container storage and buildah's RUN --mount=type=cache dirs (sub-path buildah-cache): both on the one PVC
  assert.equal(b.spec.volumes, [
    { name: 'shp-buildah-container-storage', persistentVolumeClaim: { claimName: 'cache' } },
    { name: 'build-cache', persistentVolumeClaim: { claimName: 'cache' } },
  ]);
  assert.equal(b.spec.paramValues, [{ name: 'dockerfile', value: 'Containerfile' }]);
  assert.equal(b.spec.output, { image: '10.88.0.1:5000/ci/app', insecure: true });
  const again = await cli(args());
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /already as requested; nothing changed/);
  assert.is((await getBuild('shipwright-cache'))!.metadata.resourceVersion, b.metadata.resourceVersion);
  const changed = await cli(args(['--source-revision', 'v2', '-o', 'json']));
  assert.is(json(changed).action, 'updated');
  assert.is(((await getBuild('shipwright-cache'))!.spec.source as { git: { revision: string } }).git.revision, 'v2');
});

S('a Build registered False before the patch is re-created so the controller checks it again', async () => {
  // Stand-in for the Shipwright controller: the status it wrote when the strategy was not patched yet.
  await cli(args(['--build', 'stale']));
  await kube.custom.patchNamespacedCustomObjectStatus(
    { ...SW, plural: 'builds', namespace: ns, name: 'stale', body: [{ op: 'add', path: '/status', value: { registered: 'False', reason: 'VolumeNotOverridable', message: 'Volume "shp-buildah-container-storage" is not overridable in the Strategy' } }] },
  );
  const before = (await getBuild('stale'))!;
  const r = await cli(args(['--build', 'stale', '-o', 'json']));
  assert.is(r.code, 0, r.stderr);
  assert.is(json(r).action, 'recreated');
  const after = (await getBuild('stale'))!;
  assert.is.not(after.metadata.resourceVersion, before.metadata.resourceVersion);
  assert.is(after.status, undefined, 'fresh object, waiting for the controller');
});

S('waits for registration and surfaces its reason (status written as the controller would)', async () => {
  const r0 = cli(['create-build', '-n', ns, '-s', strategy, '--pvc', 'cache', '--source-url', 'http://x/app.git', '--output-image', 'r/app', '--build', 'reg', '--timeout', '30s']);
  let b: BuildObject | undefined;
  for (let i = 0; i < 100 && !b; i++) {
    b = await getBuild('reg');
    if (!b) await new Promise((r) => setTimeout(r, 200));
  }
  await kube.custom.patchNamespacedCustomObjectStatus({ ...SW, plural: 'builds', namespace: ns, name: 'reg', body: [{ op: 'add', path: '/status', value: { registered: 'True', reason: 'Succeeded', message: 'all validations succeeded' } }] });
  const r = await r0;
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /registered \(Succeeded\)/);
  const none = await cli(['create-build', '-n', ns, '-s', strategy, '--pvc', 'cache', '--source-url', 'http://x/app.git', '--output-image', 'r/app', '--build', 'noctl', '--timeout', '3s']);
  assert.is(none.code, 7);
  assert.match(none.stderr, /was not registered within 3s: is the Shipwright build controller running\?/);
});

S('missing PVC, unknown parameter, a foreign Build: clear errors, nothing half-created', async () => {
  const pvc = await cli(args(['--pvc', 'nope', '--build', 'b1']));
  assert.is(pvc.code, 5);
  assert.match(pvc.stderr, /PersistentVolumeClaimNotFound: .*nope does not exist; the build pod would stay Pending/);
  assert.match(pvc.stderr, /cache-pvc --name nope/);
  const param = await cli(args(['--param', 'dockerfle=x', '--build', 'b2']));
  assert.is(param.code, 2);
  assert.match(param.stderr, /UndefinedParameter: parameter "dockerfle" is not defined/);
  assert.is(await getBuild('b1'), undefined);
  assert.is(await getBuild('b2'), undefined);
  await kube.custom.createNamespacedCustomObject({ ...SW, plural: 'builds', namespace: ns, body: { apiVersion: 'shipwright.io/v1beta1', kind: 'Build', metadata: { name: 'theirs' }, spec: { source: { type: 'Git', git: { url: 'http://x' } }, strategy: { name: 'x', kind: 'ClusterBuildStrategy' }, output: { image: 'r/x' } } } });
  const foreign = await cli(args(['--build', 'theirs']));
  assert.is(foreign.code, 6);
  assert.match(foreign.stderr, /Build .*\/theirs already exists and was not made by shipwright-cache/);
});

S('our Build held by a foreign finalizer: a change that needs a re-create stops naming the finalizer; while it is being deleted, nothing is done', async () => {
  assert.is((await cli(args(['--build', 'held']))).code, 0);
  await kube.custom.patchNamespacedCustomObject({ ...SW, plural: 'builds', namespace: ns, name: 'held', body: [{ op: 'add', path: '/metadata/finalizers', value: ['example.com/backup-hold'] }] });
  const changed = await cli(args(['--build', 'held', '--source-revision', 'other', '--timeout', '3s']));
  assert.is(changed.code, 6, changed.stderr);
  assert.match(changed.stderr, new RegExp(`error: Build ${ns}/held must be re-created, but it is still there after it was deleted since \\S+: finalizer\\(s\\) example.com/backup-hold of another controller keep it`));
  assert.match(changed.stderr, /fix: wait for that controller to finish, .*kubectl -n \S+ patch build held --type=merge -p '\{"metadata":\{"finalizers":null\}\}'/);
  const again = await cli(args(['--build', 'held']));
  assert.is(again.code, 6, again.stderr);
  assert.match(again.stderr, new RegExp(`error: Build ${ns}/held is being deleted since \\S+; finalizer\\(s\\) example.com/backup-hold`));
  // The controller lets go: the Build goes, and create-build creates it again.
  await kube.custom.patchNamespacedCustomObject({ ...SW, plural: 'builds', namespace: ns, name: 'held', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
  const after = await cli(args(['--build', 'held']));
  assert.is(after.code, 0, after.stderr);
  assert.ok(await getBuild('held'));
});

S('RBAC: a service account without permissions gets a forbidden error naming verb and resource', async () => {
  const kc = await serviceAccountKubeconfig(kube, ns, 'nobody');
  const r = await cli(args(['--build', 'rbac']), { KUBECONFIG: kc });
  assert.is(r.code, 4, r.stderr);
  assert.match(r.stderr, /forbidden: .*cannot (get|list) resource "(buildstrategies|persistentvolumeclaims|builds)"/);
});

S('Shipwright not installed / cluster unreachable', async () => {
  const down = await cli(args(), { KUBECONFIG: '/nonexistent/kubeconfig' });
  assert.ok(down.code === 3, `exit ${down.code}: ${down.stderr}`);
});

S.run();
