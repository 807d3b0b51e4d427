// Inputs an adversarial tester found accepted, against the real API server: a missing namespace,
// sizes, the tool's own labels, image references, secrets, credentials in the source URL, and
// strategies the patcher must refuse (a foreign build-cache volume, duplicates).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { YAML } from 'zx';
import { cli, deleteClusterStrategy, deleteNamespace, installStrategy, json, newNamespace, rand, requireCluster, serviceAccountKubeconfig } from '../helpers/cluster.js';
import { REPO_ROOT, upstreamStrategy } from '../helpers/fixtures.js';
import type { StrategyObject } from '../../scripts/lib/strategy-types.js';

const kube = requireCluster();
const S = suite('input checks (real API server)');
const SW = { group: 'shipwright.io', version: 'v1beta1' };
let ns = '';
let strategy = '';
const strategies: string[] = [];
const missing = `swc-nonexistent-${rand()}`;

S.before(async () => {
  ns = await newNamespace(kube, 'input');
  strategy = (await installStrategy(kube, 'buildah-shipwright-managed-push')).metadata.name;
  strategies.push(strategy);
  await kube.storage.createStorageClass({ body: { metadata: { name: `${ns}-sc` }, provisioner: 'example.com/none', volumeBindingMode: 'WaitForFirstConsumer' } });
  assert.is((await cli(['cache-pvc', '-n', ns, '--name', 'cache', '--storage-class', `${ns}-sc`])).code, 0);
  const p = await cli(['patch-strategy', '-n', ns, '-s', strategy]);
  assert.is(p.code, 0, p.stderr);
});
S.after(async () => {
  await deleteNamespace(kube, ns);
  for (const s of strategies) await deleteClusterStrategy(kube, s);
  await kube.storage.deleteStorageClass({ name: `${ns}-sc` }).catch(() => undefined);
});

const NS_MSG = (n: string) => new RegExp(`error: namespace '${n}' does not exist[^\\n]*\\n  fix: create it \\(kubectl create namespace ${n}\\)`);
const build = (extra: string[], namespace = ns) => ['create-build', '-n', namespace, '-s', strategy, '--pvc', 'cache', '--source-url', 'http://10.88.0.1:8080/app.git', '--output-image', '10.88.0.1:5000/ci/app', '--param', 'dockerfile=Containerfile', '--no-wait', ...extra];
const getBuild = (name: string) => kube.custom.getNamespacedCustomObject({ ...SW, plural: 'builds', namespace: ns, name }).catch(() => undefined);

S('a missing namespace: cache-pvc (also --dry-run), create-build and patch-strategy (copy) name it and kubectl create namespace (exit 5)', async () => {
  for (const args of [
    ['cache-pvc', '-n', missing, '--name', 'p1', '--storage-class', `${ns}-sc`],
    ['cache-pvc', '-n', missing, '--name', 'p1', '--storage-class', `${ns}-sc`, '--dry-run'],
    build([], missing),
    ['patch-strategy', '-n', missing, '-s', strategy],
    ['patch-strategy', '-n', missing, '-s', strategy, '--dry-run'],
  ]) {
    const r = await cli(args);
    assert.is(r.code, 5, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, NS_MSG(missing), args.join(' '));
  }
});

S('cache-pvc: --size 100Ei is too large (the maximum named), 1e3 is a quantity; --label on our own label refused (exit 2), nothing created', async () => {
  const big = await cli(['cache-pvc', '-n', ns, '--name', 'big', '--storage-class', `${ns}-sc`, '--size', '100Ei']);
  assert.is(big.code, 2, big.stderr);
  assert.match(big.stderr, /--size '100Ei' is too large: at most 8191Ti/);
  assert.not.match(big.stderr, /whole number/);
  const exp = await cli(['cache-pvc', '-n', ns, '--name', 'exp', '--storage-class', `${ns}-sc`, '--size', '1e3', '-o', 'json']);
  assert.is(exp.code, 0, exp.stderr);
  assert.is(json(exp).action, 'created');
  const pvc = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'exp', namespace: ns });
  assert.ok(['1k', '1e3'].includes(String(pvc.spec!.resources!.requests!.storage)), String(pvc.spec!.resources!.requests!.storage));
  const lbl = await cli(['cache-pvc', '-n', ns, '--name', 'lbl', '--storage-class', `${ns}-sc`, '--label', 'app.kubernetes.io/managed-by=me']);
  assert.is(lbl.code, 2, lbl.stderr);
  assert.match(lbl.stderr, /--label 'app.kubernetes.io\/managed-by=me': that label is the tool's own/);
  assert.match(lbl.stderr, /reserved: app.kubernetes.io\/managed-by, app.kubernetes.io\/component, shipwright-cache.io\/\*/);
  assert.is(await kube.core.readNamespacedPersistentVolumeClaim({ name: 'lbl', namespace: ns }).catch(() => undefined), undefined);
});

S('create-build: bad image, bad secret name, credentials in the URL: exit 2, nothing created, the secret never echoed', async () => {
  const img = await cli(build(['--build', 'img', '--output-image', 'UPPER/Case:tag']));
  assert.is(img.code, 2, img.stderr);
  assert.match(img.stderr, /--output-image 'UPPER\/Case:tag' is not a valid image reference: the repository path 'UPPER\/Case' must be lower-case/);
  const sec = await cli(build(['--build', 'sec', '--push-secret', 'BAD_']));
  assert.is(sec.code, 2, sec.stderr);
  assert.match(sec.stderr, /--push-secret 'BAD_' is not a valid Kubernetes name/);
  const url = await cli(build(['--build', 'url', '--source-url', 'https://user:s3cr3t@github.com/x/y']));
  assert.is(url.code, 2, url.stderr);
  assert.match(url.stderr, /carries credentials in the URL[\s\S]*fix: put them in a Secret and pass --clone-secret/);
  assert.not.match(url.stdout + url.stderr, /s3cr3t|user:/);
  for (const b of ['img', 'sec', 'url']) assert.is(await getBuild(b), undefined, b);
});

S('create-build: a missing --clone-secret / --push-secret is refused as Shipwright would (exit 5); existing ones pass', async () => {
  const r = await cli(build(['--build', 'nosec', '--clone-secret', 'nosuch', '--push-secret', 'nopush']));
  assert.is(r.code, 5, r.stderr);
  assert.match(r.stderr, /SpecSourceSecretRefNotFound: Secret .*\/nosuch \(--clone-secret\) does not exist/);
  assert.match(r.stderr, /SpecOutputSecretRefNotFound: Secret .*\/nopush \(--push-secret\) does not exist/);
  assert.match(r.stderr, /kubectl create secret generic nosuch/);
  assert.is(await getBuild('nosec'), undefined);
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'git-creds' }, type: 'kubernetes.io/basic-auth', stringData: { username: 'u', password: 'p' } } });
  const ok = await cli(build(['--build', 'withsec', '--clone-secret', 'git-creds', '-o', 'json']));
  assert.is(ok.code, 0, ok.stderr);
  assert.is(json(ok).action, 'created');
});

S("create-build with the Tasks' Role (no get on secrets): a warning, and the Build is created", async () => {
  const docs = YAML.parseAllDocuments(readFileSync(join(REPO_ROOT, 'tasks/rbac/shipwright-cache-rbac.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string } } | null).filter((d) => d !== null);
  const rbac = kube.config.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace: ns, body: docs.find((d) => d!.kind === 'Role') as k8s.V1Role });
  await rbac.createNamespacedRoleBinding({ namespace: ns, body: docs.find((d) => d!.kind === 'RoleBinding') as k8s.V1RoleBinding });
  const kc = await serviceAccountKubeconfig(kube, ns, 'shipwright-cache');
  const r = await cli(build(['--build', 'sa', '--clone-secret', 'git-creds']), { KUBECONFIG: kc });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: cannot check that Secret .*\/git-creds \(--clone-secret\) exists \(forbidden: get secrets\)/);
  assert.ok(await getBuild('sa'));
});

/** A ClusterBuildStrategy: the upstream buildah one, changed by `edit`. */
async function strategyWith(edit: (s: StrategyObject) => void): Promise<string> {
  const obj = upstreamStrategy('buildah-shipwright-managed-push');
  obj.metadata = { name: `swc-odd-${rand()}` };
  edit(obj);
  await kube.custom.createClusterCustomObject({ ...SW, plural: 'clusterbuildstrategies', body: obj });
  strategies.push(obj.metadata.name);
  return obj.metadata.name;
}

S("patch-strategy: the strategy's own configMap volume named build-cache is not taken over (exit 6, rename it)", async () => {
  const name = await strategyWith((s) => s.spec.volumes!.push({ name: 'build-cache', configMap: { name: 'settings' } } as never));
  for (const mode of ['copy', 'in-place']) {
    const r = await cli(['patch-strategy', '-n', ns, '-s', name, '--mode', mode]);
    assert.is(r.code, 6, r.stderr);
    assert.match(r.stderr, /already declares a volume 'build-cache' \(configMap\) that is not an emptyDir/);
    assert.match(r.stderr, /fix: rename the strategy's volume 'build-cache'/);
  }
  const live = (await kube.custom.getClusterCustomObject({ ...SW, plural: 'clusterbuildstrategies', name })) as StrategyObject;
  assert.is(live.spec.volumes!.find((v) => v.name === 'build-cache')!.overridable, undefined, 'left as it was');
});

S('patch-strategy and create-build: duplicate volumes or mount paths refused (exit 6) naming the duplicate; no copy, no Build', async () => {
  const dupVol = await strategyWith((s) => s.spec.volumes!.push({ ...s.spec.volumes![0] }));
  const dupMount = await strategyWith((s) => {
    s.spec.volumes!.push({ name: 'a', emptyDir: {} }, { name: 'b', emptyDir: {} });
    s.spec.steps[0].volumeMounts = [...(s.spec.steps[0].volumeMounts ?? []), { name: 'a', mountPath: '/work' }, { name: 'b', mountPath: '/work' }];
  });
  for (const [name, re] of [[dupVol, /declares volume '[^']+' more than once/], [dupMount, /mounts 'a' and 'b' at the same path \/work/]] as const) {
    const r = await cli(['patch-strategy', '-n', ns, '-s', name]);
    assert.is(r.code, 6, r.stderr);
    assert.match(r.stderr, re);
    assert.is(await kube.custom.getNamespacedCustomObject({ ...SW, plural: 'buildstrategies', namespace: ns, name: `${name}-cached` }).catch(() => undefined), undefined);
    const b = await cli(['create-build', '-n', ns, '-s', name, '--mode', 'in-place', '--build', `b-${name}`, '--pvc', 'cache', '--source-url', 'http://x/app.git', '--output-image', 'r/app', '--no-wait']);
    assert.is(b.code, 6, b.stderr);
    assert.match(b.stderr, re);
    assert.is(await getBuild(`b-${name}`), undefined);
  }
});

S.run();
