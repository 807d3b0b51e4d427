// The Pipeline on a real cluster (the offline one here, kind in GitHub Actions): real Tekton,
// real Shipwright, real buildah builds of images/sample-app, real PVC cache.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { env, kubectl, rand, results, startPipelineRun, startTaskRun, succeeded, taskRunLogs, waitDone, NS } from '../helpers/e2e.js';

const S = suite('e2e: the Pipeline on a real cluster');
const MIN = () => process.env.E2E_MIN_SPEEDUP ?? '1.5';

S('the Pipeline succeeds; warm builds hit the cache; the speedup clears the threshold; the image is in the registry', async () => {
  const name = `e2e-pass-${rand()}`;
  await startPipelineRun(name, { 'pvc-name': `cache-${name}`, 'build-name': name, runs: '3', cold: 'true', baseline: '1', 'min-speedup': MIN() });
  const pr = await waitDone('pipelinerun', name, 40 * 60_000);
  const res = results(pr);
  assert.is(succeeded(pr).status, 'True', `${succeeded(pr).message} ${JSON.stringify(res)}`);
  assert.is(res.passed, 'true');
  assert.ok(Number(res.speedup) >= Number(MIN()), `speedup ${res.speedup}`);
  assert.ok(Number(res['cold-seconds']) > Number(res['warm-seconds']));
  // The measure Task's own results include the compact JSON summary.
  const trs = JSON.parse(await kubectl(['get', '-n', NS(), 'taskrun', '-l', `tekton.dev/pipelineRun=${name},tekton.dev/pipelineTask=measure`, '-o', 'json'])).items;
  const summary = JSON.parse(results(trs[0]).summary);
  assert.is(summary.passed, true);
  // Warm BuildRuns reused layers: their build logs say so.
  const brs = JSON.parse(await kubectl(['get', '-n', NS(), 'buildrun', '-l', `build.shipwright.io/name=${name}`, '-o', 'json'])).items;
  assert.is(brs.length, 4, '3 cached + 1 baseline');
  for (const br of brs) assert.is(succeeded(br).status, 'True', br.metadata.name);
  const digest = brs.map((b: any) => b.status?.output?.digest).find(Boolean);
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  // The image is in the registry under that digest.
  const repo = env('OUTPUT_IMAGE').replace(/^[^/]+\//, '');
  const reg = env('E2E_REGISTRY_URL');
  const r = await fetch(`${reg}/v2/${repo}/manifests/${digest}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json' } });
  assert.is(r.status, 200, `${reg}/v2/${repo}/manifests/${digest}`);
});

S('a strategy volume that is not overridable: the build Task fails and says VolumeNotOverridable', async () => {
  const tr = await startTaskRun('shipwright-cache-build', {
    'source-url': env('SOURCE_URL'), 'output-image': env('OUTPUT_IMAGE'), 'output-insecure': 'true',
    'build-name': `e2e-nov-${rand()}`, 'pvc-name': 'whatever', strategy: env('STRATEGY'), 'strategy-mode': 'in-place', wait: 'false',
  });
  const o = await waitDone('taskrun', tr, 5 * 60_000);
  assert.is(succeeded(o).status, 'False');
  const logs = await taskRunLogs(o);
  assert.match(logs, /VolumeNotOverridable: Volume "shp-buildah-container-storage" is not overridable in the Strategy/);
  assert.match(logs, /fix: run 'shipwright-cache patch-strategy --mode in-place --kind ClusterBuildStrategy --strategy /);
});

S('a missing PVC: the build Task fails before creating anything', async () => {
  const build = `e2e-nopvc-${rand()}`;
  const tr = await startTaskRun('shipwright-cache-build', {
    'source-url': env('SOURCE_URL'), 'output-image': env('OUTPUT_IMAGE'), 'build-name': build, 'pvc-name': `missing-${rand()}`, strategy: env('STRATEGY'), wait: 'false',
  });
  const o = await waitDone('taskrun', tr, 5 * 60_000);
  assert.is(succeeded(o).status, 'False');
  assert.match(await taskRunLogs(o), /PersistentVolumeClaimNotFound: .* does not exist; the build pod would stay Pending/);
  const got = await kubectl(['get', '-n', NS(), 'build', build, '--ignore-not-found', '-o', 'name']);
  assert.is(got.trim(), '', 'no Build created');
});

S('a ServiceAccount lacking a permission: the Task fails and names the verb and resource', async () => {
  const sa = `e2e-norbac-${rand()}`;
  await kubectl(['create', 'serviceaccount', '-n', NS(), sa]);
  // The Role without the cluster-wide read of StorageClasses.
  await kubectl(['create', 'rolebinding', '-n', NS(), sa, '--role=shipwright-cache', `--serviceaccount=${NS()}:${sa}`]);
  const tr = await startTaskRun('shipwright-cache-pvc', { 'pvc-name': `cache-${sa}` }, sa);
  const o = await waitDone('taskrun', tr, 5 * 60_000);
  assert.is(succeeded(o).status, 'False');
  assert.match(await taskRunLogs(o), /forbidden: .*cannot list resource "storageclasses"/);
});

S('a cache that is never used: the gate fails with that reason', async () => {
  // A strategy whose buildah step turns layer reuse off: the patch respects it (and says so),
  // so warm builds keep nothing but the base image.
  const strat = JSON.parse(await kubectl(['get', 'clusterbuildstrategy', env('STRATEGY'), '-o', 'json']));
  const name = `nolayers-${rand()}`;
  const copy = { apiVersion: strat.apiVersion, kind: 'BuildStrategy', metadata: { name, namespace: NS() }, spec: strat.spec };
  for (const st of copy.spec.steps) if (/buildah/.test(st.image)) st.env = [...(st.env ?? []), { name: 'BUILDAH_LAYERS', value: 'false' }];
  await kubectl(['create', '-f', '-'], JSON.stringify(copy));
  const pr = `e2e-unused-${rand()}`;
  await startPipelineRun(pr, { 'pvc-name': `cache-${pr}`, 'build-name': pr, strategy: name, 'strategy-kind': 'BuildStrategy', runs: '2', cold: 'true', baseline: '0', 'min-speedup': MIN(), 'require-cache-hits': 'true' });
  const o = await waitDone('pipelinerun', pr, 30 * 60_000);
  assert.is(succeeded(o).status, 'False');
  // The measure TaskRun's own results (a failed Pipeline may not surface them).
  const trs = JSON.parse(await kubectl(['get', '-n', NS(), 'taskrun', '-l', `tekton.dev/pipelineRun=${pr},tekton.dev/pipelineTask=measure`, '-o', 'json'])).items;
  const res = { ...results(o), ...results(trs[0]) };
  assert.is(res.passed, 'false');
  assert.match(res.reason, /cache never used|0 cache hits/);
});

S.run();
