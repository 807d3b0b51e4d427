// Emptying the cache volume before a cold run: a short-lived pod that mounts
// the claim and deletes its contents (the claim itself, and its binding, stay).
import type { V1Pod } from '@kubernetes/client-node';
import type { Kube } from './kube.js';
import { progress } from './log.js';
import { runPodToEnd } from './cache-access.js';
import { CliError, ExitCode } from './errors.js';
import { LABEL_MANAGED, MANAGED_BY } from './patch.js';
import { parseDf } from './failures.js';

export const DEFAULT_RESET_IMAGE = 'docker.io/library/busybox:1.37.0';

// Top-level directories stay (emptied): they are the sub-paths strategies mount, and their owner
// (a non-root builder's, see cache-access.ts) must survive a reset. Everything else goes.
const EMPTY_SCRIPT = 'find /cache -mindepth 2 -maxdepth 2 -exec rm -rf {} + && find /cache -mindepth 1 -maxdepth 1 ! -type d -exec rm -rf {} + && echo "cache emptied" && df -k /cache | tail -1';

export function resetPod(namespace: string, pvc: string, image: string, suffix: string, script = EMPTY_SCRIPT, what = 'reset'): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${pvc}-${what}-${suffix}`.slice(0, 63).replace(/-+$/, ''), namespace, labels: { [LABEL_MANAGED]: MANAGED_BY, [`shipwright-cache.io/${what}`]: pvc } },
    spec: {
      restartPolicy: 'Never',
      securityContext: { runAsUser: 0, runAsGroup: 0 },
      containers: [
        {
          name: what,
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', script],
          volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
          resources: { requests: { cpu: '10m', memory: '16Mi' } },
        },
      ],
      volumes: [{ name: 'cache', persistentVolumeClaim: { claimName: pvc } }],
    },
  };
}

/** Empties the claim; waits for the pod, then deletes it. */
export async function resetCache(kube: Kube, namespace: string, pvc: string, image: string, suffix: string, timeoutMs = 300_000): Promise<void> {
  progress('reset', `emptying PersistentVolumeClaim ${namespace}/${pvc} (${image})`);
  await runCachePod(kube, resetPod(namespace, pvc, image, suffix), timeoutMs);
}

/** Size and free space of the cache volume, from `df -k` in a short pod. */
export async function cacheDf(kube: Kube, namespace: string, pvc: string, image: string, suffix: string): Promise<ReturnType<typeof parseDf>> {
  const log = await runCachePod(kube, resetPod(namespace, pvc, image, suffix, 'df -k /cache', 'df'), 120_000);
  return parseDf(log);
}

/** Runs a pod on the cache volume to completion; returns its log; deletes it. */
async function runCachePod(kube: Kube, body: V1Pod, timeoutMs: number): Promise<string> {
  const { pod, log } = await runPodToEnd(kube, body, timeoutMs);
  if (pod.status?.phase !== 'Succeeded') {
    throw new CliError(`pod ${body.metadata!.namespace}/${body.metadata!.name} on the cache volume ended ${pod.status?.phase}${log ? `: ${log.trim().slice(-300)}` : ''}`, { exitCode: ExitCode.failed, hint: 'check the claim is writable by root, or empty it by hand' });
  }
  return log;
}
