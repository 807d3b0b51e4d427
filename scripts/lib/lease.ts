// One build at a time per cache: a coordination.k8s.io Lease per PVC, held
// (and renewed) while a run sequence uses the cache. A holder that dies stops
// renewing; once its lease expires the next run takes it over.
import { hostname } from 'node:os';
import type { V1Lease } from '@kubernetes/client-node';
import { callOptional, sleep, statusOf, translate, type Kube } from './kube.js';
import { progress } from './log.js';
import { CliError, ExitCode } from './errors.js';
import { LABEL_MANAGED, MANAGED_BY } from './patch.js';

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export const leaseName = (pvc: string) => `shipwright-cache-lock-${pvc}`.slice(0, 253);

export interface LeaseState {
  holder?: string;
  renewTime?: Date;
  durationSeconds?: number;
}

/** True when nobody holds the lease, or its holder stopped renewing it in time. */
export function leaseFree(s: LeaseState, now: Date): boolean {
  if (!s.holder) return true;
  if (!s.renewTime || !s.durationSeconds) return true;
  return now.getTime() > s.renewTime.getTime() + s.durationSeconds * 1000;
}

const stateOf = (l: V1Lease): LeaseState => ({
  holder: l.spec?.holderIdentity ?? undefined,
  renewTime: l.spec?.renewTime ? new Date(l.spec.renewTime as unknown as string) : undefined,
  durationSeconds: l.spec?.leaseDurationSeconds,
});

export interface HeldLease {
  release(): Promise<void>;
}

/**
 * Takes the cache lock, waiting (up to waitMs) while another live holder has it.
 * The lease is renewed every duration/3 until release().
 */
export async function acquireCacheLock(kube: Kube, namespace: string, pvc: string, opts: { identity?: string; durationSeconds?: number; waitMs: number }): Promise<HeldLease> {
  const name = leaseName(pvc);
  const identity = opts.identity ?? `${hostname()}/${process.pid}`;
  const duration = opts.durationSeconds ?? 60;
  const label = `Lease ${namespace}/${name}`;
  const started = Date.now();
  let lastSaid = 0;
  for (;;) {
    const now = new Date();
    const existing = await callOptional(`get ${label}`, () => kube.coordination.readNamespacedLease({ name, namespace }));
    const body: V1Lease = {
      metadata: { name, namespace, labels: { [LABEL_MANAGED]: MANAGED_BY, 'shipwright-cache.io/pvc': pvc }, ...(existing ? { resourceVersion: existing.metadata?.resourceVersion } : {}) },
      spec: { holderIdentity: identity, leaseDurationSeconds: duration, acquireTime: microTime(now) as never, renewTime: microTime(now) as never },
    };
    try {
      if (!existing) {
        await kube.coordination.createNamespacedLease({ namespace, body });
        break;
      }
      const st = stateOf(existing);
      if (st.holder === identity || leaseFree(st, now)) {
        if (st.holder && st.holder !== identity) progress('lock', `the cache lock of ${pvc} expired (holder ${st.holder} stopped renewing it at ${st.renewTime?.toISOString()}); taking it over`);
        await kube.coordination.replaceNamespacedLease({ name, namespace, body });
        break;
      }
      if (Date.now() - started >= opts.waitMs) {
        throw new CliError(`the cache ${namespace}/${pvc} is in use: its lock is held by ${st.holder} (renewed ${st.renewTime?.toISOString()})`, {
          exitCode: ExitCode.timeout,
          hint: `wait for that run to finish, raise --lock-timeout, or if it is gone for good delete the lock: kubectl -n ${namespace} delete lease ${name}`,
        });
      }
      if (Date.now() - lastSaid > 10_000) {
        lastSaid = Date.now();
        progress('lock', `waiting for the cache lock held by ${st.holder} (renewed ${st.renewTime?.toISOString()}, expires after ${st.durationSeconds}s without renewal)`);
      }
    } catch (err) {
      // Someone else created or renewed it between our read and write: read again.
      if (statusOf(err).code === 409) continue;
      throw translate(`take ${label}`, err);
    }
    if (process.exitCode === ExitCode.interrupted) throw new CliError(`interrupted while waiting for ${label}`, { exitCode: ExitCode.interrupted });
    await sleep(2000);
  }
  progress('lock', `holding the cache lock ${label} as ${identity}`);
  let stopped = false;
  // An unref'd timer: a pending renewal never keeps the process alive.
  const nap = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());
  const renew = async () => {
    while (!stopped) {
      await nap((duration * 1000) / 3);
      if (stopped) break;
      try {
        const cur = await kube.coordination.readNamespacedLease({ name, namespace });
        if (cur.spec?.holderIdentity !== identity) {
          progress('lock', `warning: lost the cache lock ${label} to ${cur.spec?.holderIdentity}`);
          return;
        }
        cur.spec!.renewTime = microTime(new Date()) as never;
        await kube.coordination.replaceNamespacedLease({ name, namespace, body: cur });
      } catch (err) {
        progress('lock', `warning: could not renew ${label}: ${(err as Error).message}`);
      }
    }
  };
  const renewing = renew();
  return {
    async release() {
      stopped = true;
      void renewing;
      try {
        const cur = await kube.coordination.readNamespacedLease({ name, namespace });
        if (cur.spec?.holderIdentity === identity) await kube.coordination.deleteNamespacedLease({ name, namespace, body: { preconditions: { resourceVersion: cur.metadata?.resourceVersion } } });
      } catch (err) {
        if (statusOf(err).code !== 404) progress('lock', `warning: could not release ${label}: ${(err as Error).message}`);
      }
    },
  };
}
