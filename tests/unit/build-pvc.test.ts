import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { buildSpecDiffers, cacheVolumesOf, desiredBuild, heldBuildMessage, paramValues, preflightBuild, profileEnvMissing, type BuildRequest } from '../../scripts/lib/build.js';
import { chooseStorageClass, reconcilePvc, DEFAULT_CLASS_ANNOTATION } from '../../scripts/lib/pvc.js';
import { applyChanges, planCachePatch } from '../../scripts/lib/patch.js';
import { upstreamStrategy } from '../helpers/fixtures.js';
import { CliError, ExitCode } from '../../scripts/lib/errors.js';

const req = (over: Partial<BuildRequest> = {}): BuildRequest => ({
  name: 'app', namespace: 'ci', strategy: { kind: 'BuildStrategy', name: 'buildah-shipwright-managed-push-cached', namespace: 'ci' },
  sourceUrl: 'http://10.88.0.1:8080/app.git', revision: 'main', outputImage: '10.88.0.1:5000/ci/app', outputInsecure: true,
  params: { dockerfile: 'Containerfile' }, env: {}, pvc: 'cache', cacheVolumes: ['shp-buildah-container-storage'], labels: {}, ...over,
});

test('the Build references the strategy with its kind and points the cache volume at the PVC', () => {
  const b = desiredBuild(req());
  assert.equal(b.spec.strategy, { name: 'buildah-shipwright-managed-push-cached', kind: 'BuildStrategy' });
  assert.equal(b.spec.volumes, [{ name: 'shp-buildah-container-storage', persistentVolumeClaim: { claimName: 'cache' } }]);
  assert.equal(b.spec.source, { type: 'Git', git: { url: 'http://10.88.0.1:8080/app.git', revision: 'main' } });
  assert.equal(b.spec.output, { image: '10.88.0.1:5000/ci/app', insecure: true });
  assert.equal(b.spec.paramValues, [{ name: 'dockerfile', value: 'Containerfile' }]);
  assert.is(b.spec.env, undefined);
});

const patched = () => {
  const s = upstreamStrategy('buildah-shipwright-managed-push');
  s.spec = applyChanges(s.spec, planCachePatch(s.spec, 'x').changes);
  return s;
};

test('preflight passes on a patched strategy with an existing claim', () => {
  assert.equal(preflightBuild(desiredBuild(req()), patched(), { exists: true, name: 'cache' }), []);
});

test('preflight reports what Shipwright would: VolumeNotOverridable, UndefinedVolume, missing strategy; and a missing claim', () => {
  const upstream = upstreamStrategy('buildah-shipwright-managed-push');
  const p1 = preflightBuild(desiredBuild(req()), upstream, { exists: true, name: 'cache' });
  assert.equal(p1.map((p) => p.reason), ['VolumeNotOverridable']);
  assert.is(p1[0].message, 'Volume "shp-buildah-container-storage" is not overridable in the Strategy');
  assert.match(p1[0].fix, /patch-strategy/);
  const p2 = preflightBuild(desiredBuild(req({ cacheVolumes: ['nope'] })), patched(), { exists: false, name: 'cache' });
  assert.equal(p2.map((p) => p.reason), ['UndefinedVolume', 'PersistentVolumeClaimNotFound']);
  assert.is(p2[0].message, 'Volume "nope" is not defined in the Strategy');
  assert.equal(preflightBuild(desiredBuild(req()), undefined, { exists: true, name: 'cache' }).map((p) => p.reason), ['BuildStrategyNotFound']);
  const cbs = desiredBuild(req({ strategy: { kind: 'ClusterBuildStrategy', name: 'x' } }));
  assert.equal(preflightBuild(cbs, undefined, { exists: true, name: 'c' }).map((p) => p.reason), ['ClusterBuildStrategyNotFound']);
  const p3 = preflightBuild(desiredBuild(req({ params: { dockerfle: 'x' } })), patched(), { exists: true, terminating: true, name: 'cache' });
  assert.equal(p3.map((p) => p.reason), ['UndefinedParameter', 'PersistentVolumeClaimTerminating']);
});

test('cache volumes and missing env come from the strategy', () => {
  const up = upstreamStrategy('buildah-shipwright-managed-push');
  assert.equal(cacheVolumesOf(up, 'x'), { volumes: ['shp-buildah-container-storage', 'build-cache'], ready: false, profile: 'buildah' });
  assert.equal(cacheVolumesOf(patched(), 'x').ready, true);
  assert.equal(profileEnvMissing(up, 'x'), { BUILDAH_LAYERS: 'true' });
  assert.equal(profileEnvMissing(patched(), 'x'), {});
});

test('spec comparison ignores fields the server or others added, not ours', () => {
  const a = desiredBuild(req());
  const b = structuredClone(a);
  (b.spec as Record<string, unknown>).retention = { succeededLimit: 3 };
  assert.is(buildSpecDiffers(b, a), false);
  (b.spec.output as Record<string, unknown>).image = 'other';
  assert.is(buildSpecDiffers(b, a), true);
});

const sc = (name: string, o: Partial<V1StorageClass> = {}, isDefault = false, created = '2026-01-01T00:00:00Z'): V1StorageClass => ({
  metadata: { name, creationTimestamp: created as unknown as Date, annotations: isDefault ? { [DEFAULT_CLASS_ANNOTATION]: 'true' } : {} },
  provisioner: 'rancher.io/local-path', ...o,
});

test('storage class: explicit, default, newest of several defaults, none', () => {
  const classes = [sc('standard', { volumeBindingMode: 'WaitForFirstConsumer' }, true), sc('fast', { allowVolumeExpansion: true })];
  assert.equal(chooseStorageClass(undefined, classes).name, 'standard');
  assert.is(chooseStorageClass(undefined, classes).bindingMode, 'WaitForFirstConsumer');
  assert.is(chooseStorageClass('fast', classes).bindingMode, 'Immediate');
  const two = [sc('a', {}, true, '2026-01-01T00:00:00Z'), sc('b', {}, true, '2026-02-01T00:00:00Z')];
  assert.is(chooseStorageClass(undefined, two).name, 'b');
  assert.match(chooseStorageClass(undefined, two).why, /newest of 2 default classes/);
  assert.throws(() => chooseStorageClass(undefined, [sc('fast')]), (e: unknown) => e instanceof CliError && /no default StorageClass/.test(e.message) && /fast \(rancher/.test(e.hint!));
  assert.throws(() => chooseStorageClass(undefined, []), (e: unknown) => e instanceof CliError && /no StorageClass at all/.test(e.hint!));
  assert.throws(() => chooseStorageClass('', classes), /--storage-class is empty/);
  assert.throws(() => chooseStorageClass('slow', classes), (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.notFound && /StorageClass 'slow' does not exist/.test(e.message));
});

const pvcReq = { name: 'cache', namespace: 'ci', size: '3Gi', accessMode: 'ReadWriteOnce', labels: {} as Record<string, string> };
const existing = (size: string, o: Partial<V1PersistentVolumeClaim> = {}): V1PersistentVolumeClaim => ({
  metadata: { name: 'cache', namespace: 'ci', labels: {} }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: size } } }, ...o,
});

test('claim: create with an explicit class name, never an empty one', () => {
  const cls = chooseStorageClass(undefined, [sc('standard', {}, true)]);
  const a = reconcilePvc(undefined, pvcReq, cls);
  assert.is(a.action, 'create');
  if (a.action === 'create') {
    assert.is(a.body.spec!.storageClassName, 'standard');
    assert.equal(a.body.spec!.resources!.requests, { storage: '3Gi' });
  }
});

test('claim: same -> unchanged; larger -> expand only if allowed; smaller -> error; immutable fields -> error', () => {
  assert.equal(reconcilePvc(existing('3Gi'), pvcReq, undefined), { action: 'unchanged' });
  assert.equal(reconcilePvc(existing('3072Mi'), pvcReq, undefined), { action: 'unchanged' });
  assert.throws(() => reconcilePvc(existing('1Gi'), pvcReq, undefined, sc('standard', { allowVolumeExpansion: true })), /is not Bound yet \(Pending\); Kubernetes lets only a Bound claim grow/);
  const grow = reconcilePvc(existing('1Gi', { status: { phase: 'Bound' } }), pvcReq, undefined, sc('standard', { allowVolumeExpansion: true }));
  assert.equal(grow, { action: 'update', patch: { spec: { resources: { requests: { storage: '3Gi' } } } }, what: ['storage 1Gi -> 3Gi'] });
  assert.throws(() => reconcilePvc(existing('1Gi', { status: { phase: 'Bound' } }), pvcReq, undefined, sc('standard')), /does not allow volume expansion/);
  assert.throws(() => reconcilePvc(existing('5Gi'), pvcReq, undefined), (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.conflict && /never shrinks/.test(e.message));
  assert.throws(() => reconcilePvc(existing('3Gi'), { ...pvcReq, accessMode: 'ReadWriteMany' }, undefined), /access modes cannot change|access modes/);
  assert.throws(() => reconcilePvc(existing('3Gi'), { ...pvcReq, storageClass: 'fast' }, undefined), /class cannot change/);
  assert.throws(() => reconcilePvc(existing('3Gi', { metadata: { name: 'cache', deletionTimestamp: new Date('2026-12-03T10:00:00Z'), finalizers: ['kubernetes.io/pvc-protection'] } }), pvcReq, undefined), /is being deleted.*pvc-protection/);
  assert.equal(reconcilePvc(existing('3Gi'), { ...pvcReq, labels: { team: 'a' } }, undefined), { action: 'update', patch: { metadata: { labels: { team: 'a' } } }, what: ['labels team=a'] });
});

test('array strategy parameters collect their values; string ones take the last', () => {
  const s = upstreamStrategy('buildah-shipwright-managed-push');
  const p = paramValues([['registries-insecure', 'a:5000'], ['dockerfile', 'X'], ['registries-insecure', 'b:5000'], ['dockerfile', 'Containerfile']], s);
  assert.equal(p, { 'registries-insecure': ['a:5000', 'b:5000'], dockerfile: 'Containerfile' });
  const b = desiredBuild(req({ params: p }));
  assert.equal(b.spec.paramValues, [{ name: 'registries-insecure', values: [{ value: 'a:5000' }, { value: 'b:5000' }] }, { name: 'dockerfile', value: 'Containerfile' }]);
});

test('a Build held by a foreign finalizer: names it, when, and how to release it', () => {
  const b = desiredBuild(req());
  b.metadata.deletionTimestamp = '2026-12-03T19:00:00Z';
  b.metadata.finalizers = ['argocd.argoproj.io/resources-finalizer'];
  const m = heldBuildMessage(b);
  assert.is(m.message, `Build ${b.metadata.namespace}/${b.metadata.name} is being deleted since 2026-12-03T19:00:00Z; finalizer(s) argocd.argoproj.io/resources-finalizer of another controller keep it`);
  assert.match(m.hint, /kubectl -n \S+ patch build \S+ --type=merge -p '\{"metadata":\{"finalizers":null\}\}'/);
  assert.match(heldBuildMessage(b, true).message, /must be re-created, but it is still there after it was deleted since 2026-12-03T19:00:00Z: finalizer\(s\) argocd/);
  b.metadata.finalizers = [];
  assert.match(heldBuildMessage(b).hint, /again in a moment/);
});

test.run();
