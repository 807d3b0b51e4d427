// A missing namespace gets one message (naming it and `kubectl create namespace`) whichever
// command meets it, and create-build reports missing Secrets as Shipwright would.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as k8s from '@kubernetes/client-node';
import { namespaceNotFoundError, translate } from '../../scripts/lib/kube.js';
import { desiredBuild, preflightBuild } from '../../scripts/lib/build.js';
import { upstreamStrategy } from '../helpers/fixtures.js';
import { CliError, ExitCode, formatError } from '../../scripts/lib/errors.js';

const status404 = (details: object, message: string) =>
  new k8s.ApiException(404, 'Not Found', JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason: 'NotFound', details, code: 404 }), {});

test('a write into a missing namespace: exit 5, names the namespace and kubectl create namespace', () => {
  const err = translate('create PersistentVolumeClaim nonexistent-ns/p1', status404({ name: 'nonexistent-ns', kind: 'namespaces' }, 'namespaces "nonexistent-ns" not found'));
  assert.instance(err, CliError);
  assert.is((err as CliError).exitCode, ExitCode.notFound);
  assert.is(formatError(err), "error: namespace 'nonexistent-ns' does not exist (create PersistentVolumeClaim nonexistent-ns/p1)\n  fix: create it (kubectl create namespace nonexistent-ns), or pass the namespace you meant with --namespace");
  assert.equal(formatError(namespaceNotFoundError('x')), "error: namespace 'x' does not exist\n  fix: create it (kubectl create namespace x), or pass the namespace you meant with --namespace");
});

test('a plain 404 of an object is still "not found" of that object', () => {
  const err = translate('get Build a/b', status404({ name: 'b', group: 'shipwright.io', kind: 'builds' }, 'builds.shipwright.io "b" not found'));
  assert.match(formatError(err), /^error: get Build a\/b: not found/);
});

test('preflight: missing clone and push Secrets give the reasons Shipwright would report, with a fix; unknown (forbidden) ones none', () => {
  const strategy = upstreamStrategy('buildah-shipwright-managed-push');
  const build = desiredBuild({
    name: 'b', namespace: 'ns', strategy: { kind: 'ClusterBuildStrategy', name: 'buildah' }, sourceUrl: 'https://github.com/x/y', cloneSecret: 'nosuch',
    outputImage: 'reg.io/x/y', pushSecret: 'push', params: {}, env: {}, pvc: 'p', cacheVolumes: [], labels: {},
  });
  const problems = preflightBuild(build, strategy, { exists: true, name: 'p' }, [{ role: 'source', name: 'nosuch', exists: false }, { role: 'output', name: 'push', exists: false }]);
  assert.equal(problems.map((p) => p.reason), ['SpecSourceSecretRefNotFound', 'SpecOutputSecretRefNotFound']);
  assert.match(problems[0].message, /Secret ns\/nosuch \(--clone-secret\) does not exist/);
  assert.match(problems[0].fix, /kubectl create secret generic nosuch -n ns/);
  assert.match(problems[1].fix, /kubectl create secret docker-registry push -n ns/);
  assert.equal(preflightBuild(build, strategy, { exists: true, name: 'p' }, [{ role: 'source', name: 'nosuch' }, { role: 'output', name: 'push', exists: true }]), []);
});

test.run();
