// API faults the test cluster cannot produce on demand, as recorded responses
// served over HTTP to the real client (tests/helpers/fake-apiserver.ts): the
// retry of transient errors (bounded, honouring Retry-After), and the message
// and exit code each fault ends in, through call() and through the CLI.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeApiServer, type Reply } from '../helpers/fake-apiserver.js';
import { RECORDED } from '../fixtures/api-responses.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { call, callOptional, connect, poll, retryDelayMs, retryPolicy, summarizeBody, type Kube } from '../../scripts/lib/kube.js';
import { CliError, ExitCode } from '../../scripts/lib/errors.js';
import { setQuiet } from '../../scripts/lib/log.js';
import { checkVolumeNodes } from '../../scripts/lib/node-affinity.js';
import { checkCacheAccess } from '../../scripts/lib/cache-access.js';

const S = suite('API faults: recorded responses through the real client');
const api = new FakeApiServer();
let kube: Kube;
const waits: number[] = [];
const realSleep = retryPolicy.sleep;
const PVC = /^\/api\/v1\/namespaces\/ci\/persistentvolumeclaims\/cache$/;
const PVCS = /^\/api\/v1\/namespaces\/ci\/persistentvolumeclaims$/;
const ok = (body: unknown = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'cache', namespace: 'ci' }, spec: {} }): Reply => ({ status: 200, body });
const getPvc = () => callOptional('get PersistentVolumeClaim ci/cache', () => kube.core.readNamespacedPersistentVolumeClaim({ name: 'cache', namespace: 'ci' }));
const createPvc = () => call('create PersistentVolumeClaim ci/cache', () => kube.core.createNamespacedPersistentVolumeClaim({ namespace: 'ci', body: { metadata: { name: 'cache' }, spec: {} } }));

async function failure(p: Promise<unknown>): Promise<CliError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, CliError, String(err));
    return err as CliError;
  }
  throw new Error('expected a failure');
}

S.before(async () => {
  await api.start();
  process.env.KUBECONFIG = api.kubeconfig();
  kube = connect();
  retryPolicy.sleep = async (ms: number) => void waits.push(ms);
  setQuiet(true);
});
S.after(async () => {
  retryPolicy.sleep = realSleep;
  await api.stop();
});
S.before.each(() => {
  api.reset();
  waits.length = 0;
});

S('429 (plain text from the max-in-flight filter) with Retry-After: 1: retried after 1 s each time, then the object', async () => {
  api.on({ method: 'GET', path: PVC, replies: [RECORDED.throttledPlain, RECORDED.throttledPlain, ok()] });
  const pvc = await getPvc();
  assert.is(pvc?.metadata?.name, 'cache');
  assert.equal(waits, [1000, 1000]);
  assert.is(api.hits('GET', PVC), 3);
});

S('429 that never ends: bounded (5 attempts, Retry-After from the header/details), then exit 3 with the server message', async () => {
  api.on({ method: 'GET', path: PVC, replies: [RECORDED.throttledStatus] });
  const e = await failure(getPvc());
  assert.is(api.hits('GET', PVC), retryPolicy.attempts);
  assert.equal(waits, [2000, 2000, 2000, 2000]);
  assert.is(e.exitCode, ExitCode.unreachable);
  assert.is(e.message, 'get PersistentVolumeClaim ci/cache: the API server is overloaded (429 Too Many Requests: The apiserver is shutting down, please try again later.) after 5 attempts');
  assert.match(e.hint!, /API Priority and Fairness/);
});

S('429 on a create is retried too (the filter rejected it before any handler ran)', async () => {
  api.on({ method: 'POST', path: PVCS, replies: [RECORDED.throttledPlain, { status: 201, body: ok().body }] });
  await createPvc();
  assert.is(api.hits('POST', PVCS), 2);
});

S('Retry-After is capped; without one the wait doubles from 0.5 s', async () => {
  api.on({ method: 'GET', path: PVC, replies: [{ ...RECORDED.throttledPlain, headers: { 'Retry-After': '120' } }, ok()] });
  await getPvc();
  assert.equal(waits, [retryPolicy.maxWaitMs]);
  const bare = Object.assign(new Error('x'), {});
  assert.is(retryDelayMs(bare, 1), 500);
  assert.is(retryDelayMs(bare, 3), 2000);
});

S('503 on a read: retried, and when it lasts, exit 3 naming the reason', async () => {
  api.on({ method: 'GET', path: PVC, replies: [RECORDED.unavailable, ok()] });
  assert.ok(await getPvc());
  assert.equal(waits, [500]);
  api.reset();
  api.on({ method: 'GET', path: PVC, replies: [RECORDED.unavailable] });
  const e = await failure(getPvc());
  assert.is(e.exitCode, ExitCode.unreachable);
  assert.is(e.message, 'get PersistentVolumeClaim ci/cache: the API server is unavailable (503 ServiceUnavailable: the server is currently unable to handle the request) after 5 attempts');
});

S('503 and 504 on a create are not retried (it may have been done): exit 3 at once', async () => {
  for (const r of [RECORDED.unavailable, RECORDED.timeout]) {
    api.reset();
    api.on({ method: 'POST', path: PVCS, replies: [r] });
    const e = await failure(createPvc());
    assert.is(api.hits('POST', PVCS), 1);
    assert.is(e.exitCode, ExitCode.unreachable);
    assert.match(e.message, /^create PersistentVolumeClaim ci\/cache: the API server is unavailable \((503 ServiceUnavailable|504 Timeout): /);
    assert.not.match(e.message, /attempts/);
  }
});

S('500 on a create (an admission webhook down): not retried, exit 1, the hint names the webhook', async () => {
  api.on({ method: 'POST', path: PVCS, replies: [RECORDED.webhookDown] });
  const e = await failure(createPvc());
  assert.is(api.hits('POST', PVCS), 1);
  assert.is(e.exitCode, ExitCode.failed);
  assert.match(e.message, /^create PersistentVolumeClaim ci\/cache: the API server failed \(500 InternalError: Internal error occurred: failed calling webhook "webhook.pipeline.tekton.dev"/);
  assert.match(e.hint!, /^the admission webhook webhook.pipeline.tekton.dev does not answer: check its pods/);
  api.reset();
  api.on({ method: 'POST', path: PVCS, replies: [RECORDED.etcdTimeout] });
  const etcd = await failure(createPvc());
  assert.match(etcd.message, /failed \(500 InternalError: Internal error occurred: etcdserver: request timed out\)/);
  assert.match(etcd.hint!, /run it again/);
});

S('410 Gone (expired) during a poll: read afresh; when it persists, exit 1 with the reason', async () => {
  api.on({ method: 'GET', path: PVC, replies: [RECORDED.expired, ok()] });
  const got = await poll('the claim', 5000, () => getPvc(), { intervalMs: 10 });
  assert.ok(got);
  api.reset();
  api.on({ method: 'GET', path: PVC, replies: [RECORDED.expired] });
  const e = await failure(getPvc());
  assert.is(e.exitCode, ExitCode.failed);
  assert.is(e.message, 'get PersistentVolumeClaim ci/cache: expired (410 Gone: too old resource version: 1234 (5678)) after 5 attempts');
});

S('401 mid-poll (the token expired during a long run): exit 3 at once, not retried', async () => {
  api.on({ method: 'GET', path: PVC, replies: [ok({ metadata: { name: 'cache' }, status: { phase: 'Pending' } }), ok({ metadata: { name: 'cache' }, status: { phase: 'Pending' } }), RECORDED.unauthorized] });
  const e = await failure(poll('the claim to be Bound', 5000, async () => ((await getPvc())?.status?.phase === 'Bound' ? true : undefined), { intervalMs: 10 }));
  assert.is(api.hits('GET', PVC), 3);
  assert.is(e.exitCode, ExitCode.unreachable);
  assert.is(e.message, 'get PersistentVolumeClaim ci/cache: the API server rejected the credentials (401 Unauthorized)');
  assert.match(e.hint!, /token can expire during a long run/);
});

S('a body that is not JSON: an HTML 502 from a proxy is summarized (exit 3); a 200 login page is not taken for an object', async () => {
  api.on({ method: 'GET', path: PVC, replies: [RECORDED.proxyHtml] });
  const e = await failure(getPvc());
  assert.is(e.exitCode, ExitCode.unreachable);
  assert.is(e.message, 'get PersistentVolumeClaim ci/cache: the API server is unavailable (502: 502 Bad Gateway 502 Bad Gateway nginx/1.27.3)');
  api.reset();
  api.on({ method: 'GET', path: PVC, replies: [RECORDED.loginPage200] });
  const page = await failure(getPvc());
  assert.is(page.exitCode, ExitCode.unreachable);
  assert.match(page.message, /^get PersistentVolumeClaim ci\/cache: the API server answered with a body that is not JSON/);
  assert.is(summarizeBody('<p>a</p>\n\n<b>b</b>'), 'a b');
});

const forbidden = (verb: string, resource: string): Reply => ({ status: 403, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${resource} is forbidden: User "system:serviceaccount:ci:shipwright-cache" cannot ${verb} resource "${resource}" in API group "" at the cluster scope`, reason: 'Forbidden', details: { kind: resource }, code: 403 } });
const boundClaim = { metadata: { name: 'cache', namespace: 'ci' }, spec: { volumeName: 'pv-1' }, status: { phase: 'Bound' } };

S('without the cluster-read ClusterRole, the volume-node check warns and goes on (403 on get persistentvolumes, on list nodes)', async () => {
  api.on({ method: 'GET', path: /^\/api\/v1\/persistentvolumes\/pv-1$/, replies: [forbidden('get', 'persistentvolumes')] });
  await checkVolumeNodes(kube, 'ci', boundClaim, async () => '');
  assert.is(api.hits('GET', /^\/api\/v1\/nodes/), 0);
  api.reset();
  const pinned = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv-1' }, spec: { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['gone'] }] }] } } } };
  api.on({ method: 'GET', path: /^\/api\/v1\/persistentvolumes\/pv-1$/, replies: [{ status: 200, body: pinned }] });
  api.on({ method: 'GET', path: /^\/api\/v1\/nodes/, replies: [forbidden('list', 'nodes')] });
  await checkVolumeNodes(kube, 'ci', boundClaim, async () => '');
  assert.is(api.hits('GET', /^\/api\/v1\/nodes/), 1);
  api.reset();
  api.on({ method: 'GET', path: /^\/api\/v1\/persistentvolumes\/pv-1$/, replies: [{ status: 200, body: pinned }] });
  api.on({ method: 'GET', path: /^\/api\/v1\/nodes/, replies: [{ status: 200, body: { apiVersion: 'v1', kind: 'NodeList', metadata: {}, items: [] } }] });
  const e = await failure(checkVolumeNodes(kube, 'ci', boundClaim, async () => 'ProvisioningSucceeded: done'));
  assert.is(e.exitCode, ExitCode.conflict);
  assert.match(e.message, /node gone does not exist .*; events: ProvisioningSucceeded: done$/);
});

S('without the optional pods Role, the write check of a non-root builder warns and goes on', async () => {
  api.on({ method: 'POST', path: /^\/api\/v1\/namespaces\/ci\/pods$/, replies: [forbidden('create', 'pods')] });
  const spec = { securityContext: { runAsUser: 1000, runAsGroup: 1000 }, steps: [{ name: 'build', volumeMounts: [{ name: 'gocache', mountPath: '/gocache' }] }] };
  const r = await checkCacheAccess(kube, 'ci', 'cache', spec, ['gocache'], { image: 'busybox', suffix: 'x', fix: false, strategyLabel: 'BuildStrategy ci/ko-cached' });
  assert.is(r, 'unchecked');
});

// ---- the same faults through the CLI, as a user meets them (exit code and the error/fix lines)

function cliRun(args: string[], kubeconfig: string): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SHIPWRIGHT_CACHE_')) env[k] = v;
    env.KUBECONFIG = kubeconfig;
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cli.ts', ...args], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const CLASSES = /^\/apis\/storage.k8s.io\/v1\/storageclasses/;
const storageClasses = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClassList', metadata: {}, items: [{ metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer' }] };

S('cache-pvc through the CLI: a throttled read is retried (and says so); a webhook 500 on create exits 1 with error and fix', async () => {
  api.on({ method: 'GET', path: PVC, replies: [RECORDED.throttledPlain, { status: 404, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'persistentvolumeclaims "cache" not found', reason: 'NotFound', details: { name: 'cache', kind: 'persistentvolumeclaims' }, code: 404 } }] });
  api.on({ method: 'GET', path: CLASSES, replies: [{ status: 200, body: storageClasses }] });
  api.on({ method: 'POST', path: PVCS, replies: [RECORDED.webhookDown] });
  const r = await cliRun(['cache-pvc', '--name', 'cache'], api.kubeconfig());
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /api: get PersistentVolumeClaim ci\/cache: 429 \(Too many requests, please try again later.\); retrying in 1.0s \(attempt 2\/5\)/);
  assert.match(r.stderr, /error: create PersistentVolumeClaim ci\/cache: the API server failed \(500 InternalError: Internal error occurred: failed calling webhook "webhook.pipeline.tekton.dev"/);
  assert.match(r.stderr, /fix: the admission webhook webhook.pipeline.tekton.dev does not answer/);
  assert.is(api.hits('POST', PVCS), 1);
});

S('run through the CLI: the token expires after the first calls: exit 3, the error names the call; no record is left half-made', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swc-401-'));
  api.on({ method: 'GET', path: /^\/apis\/shipwright.io\/v1beta1\/clusterbuildstrategies/, replies: [{ status: 200, body: { apiVersion: 'shipwright.io/v1beta1', kind: 'ClusterBuildStrategyList', metadata: {}, items: [] } }] });
  api.on({ method: 'GET', path: /^\/apis\/shipwright.io\/v1beta1\/namespaces\/ci\/builds\/app$/, replies: [RECORDED.unauthorized] });
  const r = await cliRun(['run', '--build', 'app', '--record', join(dir, 'r.json')], api.kubeconfig());
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /error: get Build ci\/app: the API server rejected the credentials \(401 Unauthorized\)\n {2}fix: refresh the kubeconfig credentials/);
  assert.not.ok(existsSync(join(dir, 'r.json')));
});

S('Shipwright not installed (404 on its API): exit 5, the fix points at the install docs that exist', async () => {
  api.on({ method: 'GET', path: /^\/apis\/shipwright.io\/v1beta1\/clusterbuildstrategies/, replies: [{ status: 404, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', code: 404 } }] });
  const r = await cliRun(['create-build', '--build', 'app', '--strategy', 'buildah', '--source-url', 'https://example.com/a.git', '--output-image', 'r/a'], api.kubeconfig());
  assert.is(r.code, 5, r.stderr);
  assert.match(r.stderr, /error: Shipwright Build is not installed/);
  assert.match(r.stderr, /fix: install Tekton Pipelines and Shipwright Build v0.20.x: https:\/\/shipwright.io\/docs\/getting-started\/installation\//);
  assert.not.match(r.stderr, /Installing Tekton and Shipwright/);
  assert.ok(existsSync(join(REPO_ROOT, 'e2e', 'install', 'README.md')));
});

S.run();
