// How users reference the Tasks by copy-paste: the git resolver (the local git server offline,
// this repository on kind) and the bundles resolver (a bundle pushed to the cluster's registry).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { env, kubectl, NS, rand, succeeded, waitDone } from '../helpers/e2e.js';

const S = suite('e2e: Task references');

S('git resolver: a TaskRun of shipwright-cache-pvc resolved from a git repository of this project', async () => {
  const url = process.env.E2E_TASKS_GIT_URL;
  if (!url) throw new Error('E2E_TASKS_GIT_URL is not set: run with hack/e2e.sh');
  const name = `e2e-gitref-${rand()}`;
  const body = {
    apiVersion: 'tekton.dev/v1',
    kind: 'TaskRun',
    metadata: { name, namespace: NS() },
    spec: {
      taskRef: {
        resolver: 'git',
        params: [
          { name: 'url', value: url },
          { name: 'revision', value: env('E2E_TASKS_GIT_REVISION') },
          { name: 'pathInRepo', value: 'tasks/shipwright-cache-pvc/shipwright-cache-pvc.yaml' },
        ],
      },
      serviceAccountName: 'shipwright-cache',
      params: [
        { name: 'pvc-name', value: `cache-${name}` },
        { name: 'runner-image', value: env('RUNNER_IMAGE') },
      ],
      podTemplate: { securityContext: { fsGroup: 65532 } },
    },
  };
  await kubectl(['create', '-f', '-'], JSON.stringify(body));
  const tr = await waitDone('taskrun', name, 5 * 60_000);
  assert.is(succeeded(tr).status, 'True', JSON.stringify(succeeded(tr)));
  const pvc = JSON.parse(await kubectl(['get', '-n', NS(), 'pvc', `cache-${name}`, '-o', 'json']));
  assert.is(pvc.metadata.labels['app.kubernetes.io/managed-by'], 'shipwright-cache');
});

S('bundles resolver: the Tasks and the Pipeline as a Tekton Bundle in the registry', async () => {
  const name = `e2e-bundleref-${rand()}`;
  const body = {
    apiVersion: 'tekton.dev/v1',
    kind: 'TaskRun',
    metadata: { name, namespace: NS() },
    spec: {
      taskRef: { resolver: 'bundles', params: [{ name: 'bundle', value: env('E2E_BUNDLE') }, { name: 'name', value: 'shipwright-cache-pvc' }, { name: 'kind', value: 'task' }] },
      serviceAccountName: 'shipwright-cache',
      params: [{ name: 'pvc-name', value: `cache-${name}` }, { name: 'runner-image', value: env('RUNNER_IMAGE') }],
      podTemplate: { securityContext: { fsGroup: 65532 } },
    },
  };
  await kubectl(['create', '-f', '-'], JSON.stringify(body));
  const tr = await waitDone('taskrun', name, 5 * 60_000);
  assert.is(succeeded(tr).status, 'True', JSON.stringify(succeeded(tr)));
});

S.run();
