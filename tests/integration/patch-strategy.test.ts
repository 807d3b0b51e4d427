// patch-strategy / unpatch-strategy against a real kube-apiserver with the upstream Shipwright CRDs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, deleteClusterStrategy, deleteNamespace, getBuildStrategy, getClusterStrategy, installStrategy, json, newNamespace, requireCluster } from '../helpers/cluster.js';
import { upstreamStrategy } from '../helpers/fixtures.js';
import { ANNOTATION_PATCH, specHash } from '../../scripts/lib/patch.js';
import { patchInPlace } from '../../scripts/lib/strategies.js';
import type { Kube } from '../../scripts/lib/kube.js';

const kube = requireCluster();
const S = suite('patch-strategy (real API server)');
let ns = '';
const made: string[] = [];
S.before(async () => {
  ns = await newNamespace(kube, 'patch');
});
S.after(async () => {
  await deleteNamespace(kube, ns);
  for (const n of made) await deleteClusterStrategy(kube, n);
});

const install = async (upstream: string) => {
  const s = await installStrategy(kube, upstream);
  made.push(s.metadata.name);
  return s;
};

S('copy mode derives <name>-cached in the namespace; the source is untouched; a re-run changes nothing', async () => {
  const src = await install('buildah-shipwright-managed-push');
  const r1 = await cli(['patch-strategy', '-n', ns, '--strategy', src.metadata.name, '--storage-driver', 'overlay', '-o', 'json']);
  assert.is(r1.code, 0, r1.stderr);
  const out = json(r1);
  assert.is(out.action, 'created');
  assert.equal(out.cacheVolumes, ['shp-buildah-container-storage', 'build-cache']);
  const copy = await getBuildStrategy(kube, ns, `${src.metadata.name}-cached`);
  assert.ok(copy);
  assert.is(copy!.spec.volumes!.find((v) => v.name === 'shp-buildah-container-storage')!.overridable, true);
  assert.ok(copy!.spec.steps[0].env!.some((e) => e.name === 'BUILDAH_LAYERS' && e.value === 'true'));
  assert.is(copy!.spec.parameters!.find((p) => p.name === 'storage-driver')!.default, 'overlay');
  const after = await getClusterStrategy(kube, src.metadata.name);
  assert.is(after.metadata.resourceVersion, src.metadata.resourceVersion, 'source not written');

  const r2 = await cli(['patch-strategy', '-n', ns, '--strategy', src.metadata.name, '--storage-driver', 'overlay']);
  assert.is(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /already an up-to-date cache-ready copy.*nothing changed/);
  const copy2 = await getBuildStrategy(kube, ns, `${src.metadata.name}-cached`);
  assert.is(copy2!.metadata.resourceVersion, copy!.metadata.resourceVersion, 'second run wrote nothing');

  const un = await cli(['unpatch-strategy', '-n', ns, '--strategy', src.metadata.name]);
  assert.is(un.code, 0, un.stderr);
  assert.match(un.stdout, /deleted BuildStrategy/);
  assert.is(await getBuildStrategy(kube, ns, `${src.metadata.name}-cached`), undefined);
  const un2 = await cli(['unpatch-strategy', '-n', ns, '--strategy', src.metadata.name]);
  assert.is(un2.code, 0);
  assert.match(un2.stdout, /does not exist; nothing to undo/);
});

S('copy mode: an edited copy is not overwritten without --force; a changed source is re-derived', async () => {
  const src = await install('buildah-strategy-managed-push');
  assert.is((await cli(['patch-strategy', '-n', ns, '-s', src.metadata.name])).code, 0);
  const name = `${src.metadata.name}-cached`;
  // Someone edits the copy.
  await kube.custom.patchNamespacedCustomObject({ group: 'shipwright.io', version: 'v1beta1', plural: 'buildstrategies', namespace: ns, name, body: [{ op: 'replace', path: '/spec/steps/0/imagePullPolicy', value: 'IfNotPresent' }] });
  // The source changes too.
  await kube.custom.patchClusterCustomObject({ group: 'shipwright.io', version: 'v1beta1', plural: 'clusterbuildstrategies', name: src.metadata.name, body: [{ op: 'replace', path: '/spec/steps/0/resources/limits/memory', value: '3Gi' }] });
  const r = await cli(['patch-strategy', '-n', ns, '-s', src.metadata.name]);
  assert.is(r.code, 6, r.stderr);
  assert.match(r.stderr, /was edited since shipwright-cache wrote it/);
  assert.match(r.stderr, /--force/);
  const f = await cli(['patch-strategy', '-n', ns, '-s', src.metadata.name, '--force', '-o', 'json']);
  assert.is(f.code, 0, f.stderr);
  assert.is(json(f).action, 'updated');
  const copy = await getBuildStrategy(kube, ns, name);
  assert.is((copy!.spec.steps[0].resources as { limits: { memory: string } }).limits.memory, '3Gi');
  assert.is(copy!.spec.steps[0].imagePullPolicy, 'Always');
});

S('copy mode refuses to take over a BuildStrategy it did not make', async () => {
  const src = await install('buildah-shipwright-managed-push');
  const foreign = upstreamStrategy('buildah-shipwright-managed-push');
  foreign.kind = 'BuildStrategy';
  foreign.metadata = { name: `${src.metadata.name}-cached`, namespace: ns };
  await kube.custom.createNamespacedCustomObject({ group: 'shipwright.io', version: 'v1beta1', plural: 'buildstrategies', namespace: ns, body: foreign });
  const r = await cli(['patch-strategy', '-n', ns, '-s', src.metadata.name]);
  assert.is(r.code, 6);
  assert.match(r.stderr, /already exists and was not made by shipwright-cache/);
  const u = await cli(['unpatch-strategy', '-n', ns, '-s', src.metadata.name]);
  assert.is(u.code, 6);
  assert.match(u.stderr, /not made by shipwright-cache; not deleting it/);
});

S('in-place: dry-run changes nothing and prints a diff; patch then unpatch restores the exact spec', async () => {
  const src = await install('buildah-shipwright-managed-push');
  const before = await getClusterStrategy(kube, src.metadata.name);
  const dry = await cli(['patch-strategy', '--mode', 'in-place', '-s', src.metadata.name, '--dry-run']);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /\+ +overridable: true/);
  assert.match(dry.stdout, /\+ +- name: BUILDAH_LAYERS/);
  assert.is((await getClusterStrategy(kube, src.metadata.name)).metadata.resourceVersion, before.metadata.resourceVersion);

  const p = await cli(['patch-strategy', '--mode', 'in-place', '-s', src.metadata.name, '--storage-driver', 'overlay']);
  assert.is(p.code, 0, p.stderr);
  const patched = await getClusterStrategy(kube, src.metadata.name);
  assert.ok(patched.metadata.annotations?.[ANNOTATION_PATCH]);
  assert.is(patched.spec.volumes![0].overridable, true);
  const again = await cli(['patch-strategy', '--mode', 'in-place', '-s', src.metadata.name, '--storage-driver', 'overlay']);
  assert.is(again.code, 0);
  assert.match(again.stdout, /already cache-ready/);
  assert.is((await getClusterStrategy(kube, src.metadata.name)).metadata.resourceVersion, patched.metadata.resourceVersion);

  const u = await cli(['unpatch-strategy', '--mode', 'in-place', '-s', src.metadata.name]);
  assert.is(u.code, 0, u.stderr);
  const restored = await getClusterStrategy(kube, src.metadata.name);
  assert.equal(restored.spec, before.spec);
  assert.is(specHash(restored.spec), specHash(before.spec));
  assert.is(restored.metadata.annotations?.[ANNOTATION_PATCH], undefined);
});

S('in-place: unpatch refuses when someone changed what the patch added; --force only drops the record', async () => {
  const src = await install('buildah-strategy-managed-push');
  assert.is((await cli(['patch-strategy', '--mode', 'in-place', '-s', src.metadata.name])).code, 0);
  const p = await getClusterStrategy(kube, src.metadata.name);
  const envIdx = p.spec.steps[0].env!.findIndex((e) => e.name === 'BUILDAH_LAYERS');
  await kube.custom.patchClusterCustomObject({ group: 'shipwright.io', version: 'v1beta1', plural: 'clusterbuildstrategies', name: src.metadata.name, body: [{ op: 'replace', path: `/spec/steps/0/env/${envIdx}/value`, value: 'false' }] });
  const u = await cli(['unpatch-strategy', '--mode', 'in-place', '-s', src.metadata.name]);
  assert.is(u.code, 6, u.stderr);
  assert.match(u.stderr, /no longer has the env entry the patch added/);
  const f = await cli(['unpatch-strategy', '--mode', 'in-place', '-s', src.metadata.name, '--force']);
  assert.is(f.code, 0, f.stderr);
  const after = await getClusterStrategy(kube, src.metadata.name);
  assert.is(after.metadata.annotations?.[ANNOTATION_PATCH], undefined);
  assert.ok(after.spec.steps[0].env!.some((e) => e.name === 'BUILDAH_LAYERS' && e.value === 'false'), 'spec left alone');
});

S('in-place: a concurrent writer between read and write is retried, not overwritten', async () => {
  const src = await install('buildah-shipwright-managed-push');
  let interfered = 0;
  // Another writer changes the strategy right before our first write: the API server rejects our
  // guarded JSON Patch, and the command re-reads and tries again.
  const custom = new Proxy(kube.custom, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop !== 'patchClusterCustomObject') return typeof v === 'function' ? v.bind(target) : v;
      return async (...args: Parameters<typeof target.patchClusterCustomObject>) => {
        if (interfered++ === 0) {
          await target.patchClusterCustomObject({ group: 'shipwright.io', version: 'v1beta1', plural: 'clusterbuildstrategies', name: src.metadata.name, body: [{ op: 'add', path: '/metadata/labels', value: { team: 'other' } }] });
        }
        return target.patchClusterCustomObject(...args);
      };
    },
  });
  const k: Kube = { ...kube, custom };
  const out = await patchInPlace(k, { kind: 'ClusterBuildStrategy', name: src.metadata.name }, { dryRun: false });
  assert.is(out.action, 'patched');
  assert.is(interfered, 2, 'first write rejected, second went through');
  const after = await getClusterStrategy(kube, src.metadata.name);
  assert.is(after.metadata.labels?.team, 'other', "the other writer's change is kept");
  assert.is(after.spec.volumes![0].overridable, true);
});

S('bad input: unknown strategy, wrong kind, refused tool, bad names; each a clear error and exit code', async () => {
  const missing = await cli(['patch-strategy', '-n', ns, '-s', 'no-such-strategy']);
  assert.is(missing.code, 5);
  assert.match(missing.stderr, /ClusterBuildStrategy no-such-strategy does not exist/);
  assert.match(missing.stderr, /--kind BuildStrategy/);
  const kind = await cli(['patch-strategy', '-n', ns, '-s', 'x', '--kind', 'Strategy']);
  assert.is(kind.code, 2);
  assert.match(kind.stderr, /--kind 'Strategy' is not a strategy kind/);
  const kaniko = await install('kaniko');
  const refused = await cli(['patch-strategy', '-n', ns, '-s', kaniko.metadata.name]);
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /uses kaniko: kaniko keeps its layer cache in a registry/);
  assert.match(refused.stderr, /supported tools: .*buildah/);
  const bad = await cli(['patch-strategy', '-n', 'Bad_NS', '-s', 'x']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--namespace 'Bad_NS' is not a valid name/);
  const noarg = await cli(['patch-strategy', '-n', ns]);
  assert.is(noarg.code, 2);
  assert.match(noarg.stderr, /Missing required argument: strategy/);
});

S('namespaced source strategy (BuildStrategy) is supported', async () => {
  const src = await installStrategy(kube, 'buildpacks-v3', { kind: 'BuildStrategy', namespace: ns, name: 'bp' });
  const r = await cli(['patch-strategy', '-n', ns, '-s', src.metadata.name, '--kind', 'BuildStrategy', '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(json(r).cacheVolumes, ['build-cache']);
  const copy = await getBuildStrategy(kube, ns, 'bp-cached');
  assert.ok(copy!.spec.steps[0].volumeMounts!.some((m) => m.mountPath === '/tmp/.shp/cache' && m.name === 'build-cache'));
});

S('in-place: patching again with another --storage-driver re-bases on the original; unpatch still restores it exactly', async () => {
  const src = await install('buildah-shipwright-managed-push');
  const before = await getClusterStrategy(kube, src.metadata.name);
  assert.is((await cli(['patch-strategy', '--mode', 'in-place', '-s', src.metadata.name, '--storage-driver', 'overlay'])).code, 0);
  const r = await cli(['patch-strategy', '--mode', 'in-place', '-s', src.metadata.name, '--storage-driver', 'vfs']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /re-patched .* in place with the new options/);
  const now = await getClusterStrategy(kube, src.metadata.name);
  assert.is(now.spec.parameters!.find((p) => p.name === 'storage-driver')!.default, 'vfs');
  assert.is(now.spec.volumes![0].overridable, true);
  const u = await cli(['unpatch-strategy', '--mode', 'in-place', '-s', src.metadata.name]);
  assert.is(u.code, 0, u.stderr);
  assert.equal((await getClusterStrategy(kube, src.metadata.name)).spec, before.spec);
});

S('copy mode: unpatch refuses to delete a copy that a Build still uses', async () => {
  const src = await install('buildah-strategy-managed-push');
  assert.is((await cli(['patch-strategy', '-n', ns, '-s', src.metadata.name])).code, 0);
  await kube.custom.createNamespacedCustomObject({ group: 'shipwright.io', version: 'v1beta1', plural: 'builds', namespace: ns, body: { apiVersion: 'shipwright.io/v1beta1', kind: 'Build', metadata: { name: `uses-${src.metadata.name}` }, spec: { source: { type: 'Git', git: { url: 'http://x' } }, strategy: { name: `${src.metadata.name}-cached`, kind: 'BuildStrategy' }, output: { image: 'r/x' } } } });
  const u = await cli(['unpatch-strategy', '-n', ns, '-s', src.metadata.name]);
  assert.is(u.code, 6, u.stderr);
  assert.match(u.stderr, /is still used by Build\(s\) uses-/);
  assert.ok(await getBuildStrategy(kube, ns, `${src.metadata.name}-cached`));
  const f = await cli(['unpatch-strategy', '-n', ns, '-s', src.metadata.name, '--force']);
  assert.is(f.code, 0, f.stderr);
});

S.run();
