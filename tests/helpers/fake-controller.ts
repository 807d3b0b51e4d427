// A stand-in for the Shipwright and Tekton controllers, for integration tests
// on the control-plane-only cluster (no controllers, no kubelet there). It
// writes through the real API server exactly the objects and statuses those
// controllers write: a TaskRun with step times, and the BuildRun's status.
// Real controllers run in the end-to-end tests on the full cluster.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../../scripts/lib/kube.js';

const SW = { group: 'shipwright.io', version: 'v1beta1', plural: 'buildruns' };
const TK = { group: 'tekton.dev', version: 'v1', plural: 'taskruns' };

export interface FakeRunPlan {
  /** Seconds of each phase for a BuildRun of this kind. */
  setup: number;
  source: number;
  build: number;
  push: number;
  /** Finish as failed with this reason. */
  failReason?: string;
  /** The failure message (default: "build failed: <reason>"). */
  failMessage?: string;
  /** Never finish (for timeout and interrupt tests). */
  hang?: boolean;
}

/** How a pod on the cache ends, as the kubelet would report it: the exit code and termination message of each container. */
export type FakePodResult = Record<string, { exitCode: number; message?: string }>;

/** The pod status the kubelet writes when the containers have ended. */
export function endedPodStatus(pod: V1Pod, result: FakePodResult = {}): { phase: string; containerStatuses: V1ContainerStatus[] } {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const containerStatuses = (pod.spec?.containers ?? []).map((c) => {
    const r = result[c.name] ?? { exitCode: 0 };
    return {
      name: c.name, image: c.image!, imageID: '', ready: false, restartCount: 0, started: false,
      state: { terminated: { exitCode: r.exitCode, reason: r.exitCode === 0 ? 'Completed' : 'Error', ...(r.message ? { message: r.message } : {}), startedAt: now as never, finishedAt: now as never } },
    };
  });
  return { phase: containerStatuses.some((c) => c.state.terminated.exitCode !== 0) ? 'Failed' : 'Succeeded', containerStatuses };
}

export class FakeController {
  /** How each pod on the cache ends (default: every container exits 0). */
  podResult: (pod: V1Pod) => FakePodResult = () => ({});

  private timer?: NodeJS.Timeout;
  private seen = new Set<string>();
  readonly handled: string[] = [];
  readonly errors: string[] = [];
  readonly pods: string[] = [];

  constructor(
    private kube: Kube,
    private namespace: string,
    private plan: (kind: string, index: number) => FakeRunPlan,
  ) {}

  start(): this {
    const tick = async () => {
      try {
        await this.reconcile();
      } catch (err) {
        this.errors.push(String((err as Error)?.message ?? err));
      } finally {
        if (this.timer) this.timer = setTimeout(tick, 300);
      }
    };
    this.timer = setTimeout(tick, 300);
    return this;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async reconcile(): Promise<void> {
    // Stand-in for the kubelet: the cache reset / df pods run to completion.
    const pods = await this.kube.core.listNamespacedPod({ namespace: this.namespace, labelSelector: 'app.kubernetes.io/managed-by=shipwright-cache' });
    for (const pod of pods.items) {
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      this.pods.push(pod.metadata!.name!);
      const st = endedPodStatus(pod, this.podResult(pod));
      await this.kube.core.patchNamespacedPodStatus({ name: pod.metadata!.name!, namespace: this.namespace, body: [{ op: 'add', path: '/status/phase', value: st.phase }, { op: 'add', path: '/status/containerStatuses', value: st.containerStatuses }] });
    }
    // Build registration, as Shipwright's Build reconciler reports it (the checks themselves are create-build's).
    const builds = (await this.kube.custom.listNamespacedCustomObject({ ...SW, plural: 'builds', namespace: this.namespace })) as { items: any[] };
    for (const b of builds.items) {
      if (b.status?.registered) continue;
      await this.kube.custom.patchNamespacedCustomObjectStatus({ ...SW, plural: 'builds', namespace: this.namespace, name: b.metadata.name, body: [{ op: 'add', path: '/status', value: { registered: 'True', reason: 'Succeeded', message: 'all validations succeeded' } }] });
    }
    const list = (await this.kube.custom.listNamespacedCustomObject({ ...SW, namespace: this.namespace })) as { items: any[] };
    for (const br of list.items) {
      const name = br.metadata.name as string;
      // Handled already (by this or an earlier stand-in), or canceled.
      if (this.seen.has(name) || br.status?.conditions || br.spec?.state) continue;
      const kind = br.metadata.labels?.['shipwright-cache.io/run-kind'] ?? 'warm';
      const index = Number(br.metadata.labels?.['shipwright-cache.io/run-index'] ?? 0);
      const p = this.plan(kind, index);
      this.seen.add(name);
      this.handled.push(name);
      const t0 = Date.now() - 1000 * (p.setup + p.source + p.build + p.push) - 1000;
      const at = (s: number) => new Date(t0 + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      if (p.hang) {
        await this.setStatus(name, { conditions: [{ type: 'Succeeded', status: 'Unknown', reason: 'Running', message: 'Not all Steps in the Task have finished executing', lastTransitionTime: at(0) }], startTime: at(0) });
        continue;
      }
      const trName = `${name}-tr`;
      const s1 = p.setup;
      const s2 = s1 + p.source;
      const s3 = s2 + p.build;
      const s4 = s3 + p.push;
      await this.kube.custom.createNamespacedCustomObject({
        ...TK, namespace: this.namespace,
        body: { apiVersion: 'tekton.dev/v1', kind: 'TaskRun', metadata: { name: trName, labels: { 'buildrun.shipwright.io/name': name } }, spec: { taskSpec: { steps: [{ name: 'build', image: 'x' }] } } },
      });
      const step = (n: string, a: number, b: number) => ({ name: n, container: `step-${n}`, terminated: { startedAt: at(a), finishedAt: at(b), exitCode: 0, reason: 'Completed' } });
      await this.kube.custom.patchNamespacedCustomObjectStatus({
        ...TK, namespace: this.namespace, name: trName,
        body: [{ op: 'add', path: '/status', value: { startTime: at(0), completionTime: at(s4), podName: `${trName}-pod`, steps: [step('source-default', s1, s2), step('build', s2, s3), step('image-processing', s3, s4)] } }],
      });
      const ok = !p.failReason;
      await this.setStatus(name, {
        conditions: [{ type: 'Succeeded', status: ok ? 'True' : 'False', reason: ok ? 'Succeeded' : p.failReason, message: ok ? 'All Steps have completed executing' : (p.failMessage ?? `build failed: ${p.failReason}`), lastTransitionTime: at(s4) }],
        startTime: at(0),
        completionTime: at(s4),
        taskRunName: trName,
        executor: { kind: 'TaskRun', name: trName },
        ...(ok ? {} : { failureDetails: { reason: p.failReason, message: p.failMessage ?? `build failed: ${p.failReason}` } }),
      });
    }
  }

  private async setStatus(name: string, status: unknown): Promise<void> {
    await this.kube.custom.patchNamespacedCustomObjectStatus({ ...SW, namespace: this.namespace, name, body: [{ op: 'add', path: '/status', value: status }] });
  }
}
