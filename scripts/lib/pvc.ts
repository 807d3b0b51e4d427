// The cache PersistentVolumeClaim: choosing the storage class and deciding
// what to do with an existing claim, as pure functions; cache-pvc does the I/O.
import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { CliError, ExitCode, conflictError, notFoundError, usageError } from './errors.js';
import { parseQuantity } from './validate.js';

/** Labels desiredPvc sets itself (--label cannot override them). */
export const PVC_OWN_LABELS = ['app.kubernetes.io/managed-by', 'app.kubernetes.io/component'] as const;

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

export interface PvcRequest {
  name: string;
  namespace: string;
  size: string;
  accessMode: string;
  /** Explicit class; undefined = the cluster's default class. */
  storageClass?: string;
  labels: Record<string, string>;
}

export interface ClassChoice {
  name: string;
  bindingMode: 'Immediate' | 'WaitForFirstConsumer';
  provisioner: string;
  allowVolumeExpansion: boolean;
  why: string;
}

const describeClasses = (classes: V1StorageClass[]) =>
  classes.length ? classes.map((c) => `${c.metadata?.name} (${c.provisioner}, ${c.volumeBindingMode ?? 'Immediate'})`).join(', ') : '(none)';

/** Picks the storage class: the one asked for, or the cluster's default. Never an empty name. */
export function chooseStorageClass(requested: string | undefined, classes: V1StorageClass[]): ClassChoice {
  const toChoice = (c: V1StorageClass, why: string): ClassChoice => ({
    name: c.metadata!.name!,
    bindingMode: (c.volumeBindingMode as ClassChoice['bindingMode']) ?? 'Immediate',
    provisioner: c.provisioner,
    allowVolumeExpansion: c.allowVolumeExpansion === true,
    why,
  });
  if (requested !== undefined) {
    if (requested.trim() === '') throw usageError('--storage-class is empty', `name a class, or leave the flag out to use the default class; classes: ${describeClasses(classes)}`);
    const c = classes.find((x) => x.metadata?.name === requested);
    if (!c) throw notFoundError(`StorageClass '${requested}' does not exist`, `use one of: ${describeClasses(classes)}`);
    return toChoice(c, 'given with --storage-class');
  }
  const defaults = classes.filter((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  if (defaults.length === 0) {
    throw new CliError(`the cluster has no default StorageClass, and --storage-class was not given`, {
      exitCode: ExitCode.notFound,
      hint: classes.length
        ? `pass --storage-class with one of: ${describeClasses(classes)}`
        : 'the cluster has no StorageClass at all: install a dynamic provisioner (e.g. local-path-provisioner) or create a PersistentVolume and pass its class',
    });
  }
  // Kubernetes uses the newest default when several are marked; do the same, and say so.
  const newest = [...defaults].sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')))[0];
  return toChoice(newest, defaults.length > 1 ? `newest of ${defaults.length} default classes (${defaults.map((d) => d.metadata?.name).join(', ')})` : 'the cluster default');
}

export function desiredPvc(req: PvcRequest, cls: ClassChoice): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: req.name,
      namespace: req.namespace,
      labels: { ...req.labels, 'app.kubernetes.io/managed-by': 'shipwright-cache', 'app.kubernetes.io/component': 'build-cache' },
    },
    spec: {
      accessModes: [req.accessMode],
      storageClassName: cls.name,
      resources: { requests: { storage: req.size } },
    },
  };
}

export type PvcAction =
  | { action: 'create'; body: V1PersistentVolumeClaim }
  | { action: 'unchanged' }
  | { action: 'update'; patch: Record<string, unknown>; what: string[] };

/** Decides what to do given the existing claim (if any). Throws on differences that cannot be reconciled safely. */
export function reconcilePvc(existing: V1PersistentVolumeClaim | undefined, req: PvcRequest, cls: ClassChoice | undefined, existingClass?: V1StorageClass): PvcAction {
  const label = `PersistentVolumeClaim ${req.namespace}/${req.name}`;
  if (!existing) {
    if (!cls) throw new Error('storage class required to create a claim');
    return { action: 'create', body: desiredPvc(req, cls) };
  }
  if (existing.metadata?.deletionTimestamp) {
    throw conflictError(
      `${label} is being deleted (since ${String(existing.metadata.deletionTimestamp)}); finalizers ${JSON.stringify(existing.metadata.finalizers ?? [])} keep it while a pod still uses it`,
      'wait until the pods using it finish (kubectl get pods -o wide) and it is gone, then run cache-pvc again; or use another --name',
    );
  }
  const spec = existing.spec ?? {};
  const haveClass = spec.storageClassName ?? '';
  if (req.storageClass !== undefined && haveClass !== req.storageClass) {
    throw conflictError(`${label} exists with storage class '${haveClass}', not '${req.storageClass}'; a claim's class cannot change`, 'drop --storage-class to keep the existing claim, or use another --name');
  }
  if (!(spec.accessModes ?? []).includes(req.accessMode)) {
    throw conflictError(`${label} exists with access modes ${JSON.stringify(spec.accessModes)}, not ${req.accessMode}; access modes cannot change`, `pass --access-mode ${spec.accessModes?.[0]} or use another --name`);
  }
  const have = String(spec.resources?.requests?.storage ?? '0');
  const haveBytes = parseQuantity(have) ?? 0;
  const wantBytes = parseQuantity(req.size) ?? 0;
  const patch: Record<string, unknown> = {};
  const what: string[] = [];
  if (wantBytes < haveBytes) {
    throw conflictError(`${label} requests ${have}, more than --size ${req.size}; a claim never shrinks`, `pass --size ${have} (or larger), or delete the claim to start over (its cache is lost)`);
  }
  if (wantBytes > haveBytes) {
    if (existing.status?.phase !== 'Bound') {
      throw conflictError(
        `${label} requests ${have} and is not Bound yet (${existing.status?.phase ?? 'Pending'}); Kubernetes lets only a Bound claim grow`,
        `it holds no cache yet: delete it (kubectl delete pvc -n ${req.namespace} ${req.name}) and run cache-pvc --size ${req.size} again, or keep --size ${have}`,
      );
    }
    if (existingClass?.allowVolumeExpansion !== true) {
      throw conflictError(
        `${label} requests ${have} and --size ${req.size} is larger, but its StorageClass '${haveClass}' does not allow volume expansion`,
        `keep --size ${have}, or set allowVolumeExpansion: true on the class, or delete the claim and create it larger (its cache is lost)`,
      );
    }
    patch.spec = { resources: { requests: { storage: req.size } } };
    what.push(`storage ${have} -> ${req.size}`);
  }
  const missingLabels = Object.fromEntries(Object.entries(req.labels).filter(([k, v]) => existing.metadata?.labels?.[k] !== v));
  if (Object.keys(missingLabels).length) {
    patch.metadata = { labels: missingLabels };
    what.push(`labels ${Object.entries(missingLabels).map(([k, v]) => `${k}=${v}`).join(',')}`);
  }
  return what.length ? { action: 'update', patch, what } : { action: 'unchanged' };
}
