// Helpers for the end-to-end suite: it runs on a cluster with Tekton and Shipwright
// installed and the Tasks applied (hack/e2e.sh does that set-up and exports the variables).
import { randomBytes } from 'node:crypto';
import { $ } from 'zx';

export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the end-to-end suite with hack/e2e.sh`);
  return v;
}

export const NS = () => env('E2E_NAMESPACE');
const KUBECTL = () => process.env.KUBECTL || 'kubectl';
export const rand = () => randomBytes(3).toString('hex');

export async function kubectl(args: string[], input?: string): Promise<string> {
  const p = await $({ input, quiet: true, nothrow: true })`${KUBECTL()} ${args}`;
  if (p.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${p.stderr}`);
  return p.stdout;
}

export const getJson = async <T = any>(kind: string, name: string): Promise<T> => JSON.parse(await kubectl(['get', '-n', NS(), kind, name, '-o', 'json']));

/** Waits until the Succeeded condition of a TaskRun/PipelineRun is True or False; returns the object. */
export async function waitDone(kind: 'taskrun' | 'pipelinerun', name: string, timeoutMs: number): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const o = await getJson(kind, name);
    const c = (o.status?.conditions ?? []).find((x: any) => x.type === 'Succeeded');
    if (c && c.status !== 'Unknown') return o;
    if (Date.now() > end) throw new Error(`${kind} ${name} not done after ${timeoutMs / 1000}s: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 5000));
  }
}

export const succeeded = (o: any) => (o.status?.conditions ?? []).find((x: any) => x.type === 'Succeeded');

/** The logs of every step of a TaskRun's pod. */
export async function taskRunLogs(tr: any): Promise<string> {
  const pod = tr.status?.podName;
  if (!pod) return '';
  const p = await $({ quiet: true, nothrow: true })`${KUBECTL()} logs -n ${NS()} ${pod} --all-containers`;
  return p.stdout + p.stderr;
}

/** Creates a TaskRun of one of our Tasks with the given params and ServiceAccount; returns its name. */
export async function startTaskRun(task: string, params: Record<string, string>, sa = 'shipwright-cache'): Promise<string> {
  const name = `${task.replace('shipwright-cache-', 'e2e-')}-${rand()}`;
  const body = {
    apiVersion: 'tekton.dev/v1',
    kind: 'TaskRun',
    metadata: { name, namespace: NS() },
    spec: {
      taskRef: { name: task },
      serviceAccountName: sa,
      params: Object.entries({ ...params, 'runner-image': env('RUNNER_IMAGE') }).map(([n, value]) => ({ name: n, value })),
      podTemplate: { securityContext: { fsGroup: 65532 } },
    },
  };
  await kubectl(['create', '-f', '-'], JSON.stringify(body));
  return name;
}

export function pipelineParams(extra: Record<string, string | string[]>): { name: string; value: string | string[] }[] {
  const base: Record<string, string | string[]> = {
    'source-url': env('SOURCE_URL'),
    'source-revision': process.env.SOURCE_REVISION ?? '',
    'context-dir': process.env.CONTEXT_DIR ?? '',
    'output-image': env('OUTPUT_IMAGE'),
    'output-insecure': 'true',
    'build-params': env('BUILD_PARAMS').split(/\s+/).filter(Boolean),
    strategy: env('STRATEGY'),
    'storage-driver': 'overlay',
    'runner-image': env('RUNNER_IMAGE'),
    'reset-image': env('RESET_IMAGE'),
  };
  return Object.entries({ ...base, ...extra }).map(([name, value]) => ({ name, value }));
}

export async function startPipelineRun(name: string, params: Record<string, string | string[]>): Promise<void> {
  const body = {
    apiVersion: 'tekton.dev/v1',
    kind: 'PipelineRun',
    metadata: { name, namespace: NS() },
    spec: {
      pipelineRef: { name: 'shipwright-cache-pipeline' },
      taskRunTemplate: { serviceAccountName: 'shipwright-cache', podTemplate: { securityContext: { fsGroup: 65532 } } },
      timeouts: { pipeline: '2h' },
      params: pipelineParams(params),
      workspaces: [{ name: 'reports', volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } } } }],
    },
  };
  await kubectl(['create', '-f', '-'], JSON.stringify(body));
}

export const results = (o: any): Record<string, string> => Object.fromEntries((o.status?.results ?? []).map((r: any) => [r.name, r.value]));
