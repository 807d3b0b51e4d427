// Emptying the cache volume before a cold run: a short-lived pod that mounts
// the claim and deletes its contents (the claim itself, and its binding, stay).
import type { V1Pod } from '@kubernetes/client-node';
import { call, poll, statusOf, type Kube } from './kube.js';
import { progress } from './log.js';
import { CliError, ExitCode } from './errors.js';
import { LABEL_MANAGED, MANAGED_BY } from './patch.js';

export const DEFAULT_RESET_IMAGE = 'docker.io/library/busybox:1.37.0';

export function resetPod(namespace: string, pvc: string, image: string, suffix: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${pvc}-reset-${suffix}`.slice(0, 63).replace(/-+$/, ''), namespace, labels: { [LABEL_MANAGED]: MANAGED_BY, 'shipwright-cache.io/reset': pvc } },
    spec: {
      restartPolicy: 'Never',
      securityContext: { runAsUser: 0, runAsGroup: 0 },
      containers: [
        {
          name: 'reset',
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'find /cache -mindepth 1 -maxdepth 1 -exec rm -rf {} + && echo "cache emptied" && df -h /cache | tail -1'],
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
  const body = resetPod(namespace, pvc, image, suffix);
  const name = body.metadata!.name!;
  progress('reset', `emptying PersistentVolumeClaim ${namespace}/${pvc} with pod ${name} (${image})`);
  await call(`create Pod ${namespace}/${name}`, () => kube.core.createNamespacedPod({ namespace, body }));
  try {
    const pod = await poll(`pod ${namespace}/${name} to empty the cache`, timeoutMs, async () => {
      const p = await call(`get Pod ${namespace}/${name}`, () => kube.core.readNamespacedPod({ name, namespace }));
      return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
    }, { onWait: () => progress('reset', `waiting for pod ${name}`) });
    if (pod.status?.phase !== 'Succeeded') {
      const log = await kube.core.readNamespacedPodLog({ name, namespace }).catch(() => '');
      throw new CliError(`emptying the cache failed: pod ${namespace}/${name} ended ${pod.status?.phase}${log ? `: ${log.trim().slice(-300)}` : ''}`, { exitCode: ExitCode.failed, hint: 'check the claim is writable by root, or empty it by hand' });
    }
  } finally {
    await kube.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch((err) => {
      if (statusOf(err).code !== 404) progress('reset', `could not delete pod ${name}: ${(err as Error).message}`);
    });
  }
}
