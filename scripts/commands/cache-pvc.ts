// cache-pvc: ensure the PersistentVolumeClaim that holds the build cache.
import type { Argv, CommandModule } from 'yargs';
import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { call, callOptional, connect, isNotFound, mergePatch, namespaceMissing, namespaceNotFoundError, poll, type Kube } from '../lib/kube.js';
import { emit, progress, setQuiet } from '../lib/log.js';
import { withDryRun, withNamespace, withTimeout, type GlobalArgs, type NamespaceArgs } from '../lib/common-options.js';
import { PVC_OWN_LABELS, chooseStorageClass, reconcilePvc, type ClassChoice } from '../lib/pvc.js';
import { parseLabels, refuseReservedLabels, validateAccessMode, validateDuration, validateLabelName, validateName, validateSize } from '../lib/validate.js';
import { CliError, ExitCode } from '../lib/errors.js';

export interface CachePvcArgs extends GlobalArgs, NamespaceArgs {
  name: string;
  size: string;
  'access-mode': string;
  'storage-class'?: string;
  label?: string[];
  timeout: string;
  'dry-run': boolean;
}

export interface CachePvcResult {
  name: string;
  namespace: string;
  action: 'created' | 'unchanged' | 'updated' | 'would-create' | 'would-update';
  storageClass: string;
  bindingMode?: string;
  phase: string;
  size: string;
  accessModes: string[];
  message: string;
}

export const cachePvcCommand: CommandModule<GlobalArgs, CachePvcArgs> = {
  command: 'cache-pvc',
  describe: 'Ensure the PersistentVolumeClaim that keeps the build cache',
  builder: (y: Argv<GlobalArgs>) =>
    withDryRun(withTimeout(withNamespace(y), '2m', 'an Immediate-binding claim to be Bound'))
      .option('name', { type: 'string', default: 'shipwright-cache', describe: 'Claim name' })
      .option('size', { type: 'string', default: '3Gi', describe: 'Requested storage (a Kubernetes quantity)' })
      .option('access-mode', { type: 'string', default: 'ReadWriteOnce', describe: 'ReadWriteOnce, ReadWriteOncePod, ReadWriteMany or ReadOnlyMany' })
      .option('storage-class', { type: 'string', describe: "StorageClass (default: the cluster's default class)" })
      .option('label', { type: 'string', array: true, describe: 'Extra label key=value (repeatable)' }) as unknown as Argv<CachePvcArgs>,
  handler: async (argv) => {
    setQuiet(argv.quiet);
    const result = await ensureCachePvc(connect(), argv);
    emit(argv.output, result, result.message);
  },
};

/** The I/O: read classes and the claim, reconcile, wait when the class binds immediately. */
export async function ensureCachePvc(kube: Kube, argv: Omit<CachePvcArgs, keyof GlobalArgs>): Promise<CachePvcResult> {
  const namespace = validateLabelName('--namespace', argv.namespace ?? kube.defaultNamespace);
  const req = {
    name: validateName('--name', argv.name, 63),
    namespace,
    size: validateSize('--size', argv.size),
    accessMode: validateAccessMode('--access-mode', argv['access-mode']),
    storageClass: argv['storage-class'],
    labels: parseLabels('--label', argv.label),
  };
  refuseReservedLabels('--label', req.labels, PVC_OWN_LABELS);
  const timeoutMs = validateDuration('--timeout', argv.timeout);
  const label = `PersistentVolumeClaim ${namespace}/${req.name}`;

  const existing = await callOptional(`get ${label}`, () => kube.core.readNamespacedPersistentVolumeClaim({ name: req.name, namespace }));
  const classes = await listClasses(kube);
  let cls: ClassChoice | undefined;
  let existingClass: V1StorageClass | undefined;
  if (existing) {
    existingClass = classes.find((c) => c.metadata?.name === existing.spec?.storageClassName);
    if (existingClass) cls = chooseStorageClass(existingClass.metadata!.name, classes);
  } else {
    cls = chooseStorageClass(req.storageClass, classes);
    progress('cache-pvc', `storage class '${cls.name}' (${cls.why}; binding ${cls.bindingMode}, provisioner ${cls.provisioner})`);
  }
  const plan = reconcilePvc(existing, req, cls, existingClass);

  let pvc: V1PersistentVolumeClaim;
  let action: CachePvcResult['action'];
  let message: string;
  if (plan.action === 'create') {
    // A real create in a missing namespace is refused by the API server (translated in kube.ts); a dry run only reads.
    if (argv['dry-run'] && (await namespaceMissing(kube, namespace))) throw namespaceNotFoundError(namespace, `create ${label}`);
    if (argv['dry-run']) return summary(plan.body, 'would-create', cls, `would create ${label} (${req.size}, ${req.accessMode}, class ${cls!.name})`);
    pvc = await call(`create ${label}`, () => kube.core.createNamespacedPersistentVolumeClaim({ namespace, body: plan.body }));
    action = 'created';
    message = `created ${label} (${req.size}, ${req.accessMode}, class ${cls!.name})`;
  } else if (plan.action === 'update') {
    if (argv['dry-run']) return summary(existing!, 'would-update', cls, `would update ${label}: ${plan.what.join('; ')}`);
    pvc = await call(`patch ${label}`, () =>
      kube.core.patchNamespacedPersistentVolumeClaim({ name: req.name, namespace, body: plan.patch }, mergePatch()),
    );
    action = 'updated';
    message = `updated ${label}: ${plan.what.join('; ')}`;
  } else {
    pvc = existing!;
    action = 'unchanged';
    message = `${label} already as requested; nothing changed`;
  }

  const bindingMode = cls?.bindingMode;
  if (pvc.status?.phase !== 'Bound' && bindingMode === 'WaitForFirstConsumer') {
    message += `; it stays Pending until the first build pod uses it (class '${cls!.name}' binds WaitForFirstConsumer)`;
  } else if (pvc.status?.phase !== 'Bound' && !argv['dry-run']) {
    progress('cache-pvc', `waiting up to ${argv.timeout} for ${label} to be Bound (class binds ${bindingMode ?? 'Immediate'})`);
    try {
      pvc = await poll(`${label} to be Bound`, timeoutMs, async () => {
        const p = await call(`get ${label}`, () => kube.core.readNamespacedPersistentVolumeClaim({ name: req.name, namespace }));
        return p.status?.phase === 'Bound' ? p : undefined;
      }, { onWait: (ms) => progress('cache-pvc', `still Pending after ${Math.round(ms / 1000)}s`) });
    } catch (err) {
      if (err instanceof CliError && err.exitCode === ExitCode.timeout) {
        const events = await pvcEvents(kube, namespace, req.name);
        throw new CliError(`${label} is still Pending after ${argv.timeout}${events ? `; events: ${events}` : '; no events (is a provisioner running for this class?)'}`, {
          exitCode: ExitCode.timeout,
          hint: `check the provisioner of class '${pvc.spec?.storageClassName}' (kubectl describe pvc -n ${namespace} ${req.name})`,
        });
      }
      throw err;
    }
    message += '; Bound';
  }
  return summary(pvc, action, cls, message);
}

function summary(pvc: V1PersistentVolumeClaim, action: CachePvcResult['action'], cls: ClassChoice | undefined, message: string): CachePvcResult {
  return {
    name: pvc.metadata!.name!,
    namespace: pvc.metadata!.namespace!,
    action,
    storageClass: pvc.spec?.storageClassName ?? '',
    bindingMode: cls?.bindingMode,
    phase: pvc.status?.phase ?? 'Pending',
    size: String(pvc.spec?.resources?.requests?.storage ?? ''),
    accessModes: pvc.spec?.accessModes ?? [],
    message,
  };
}

async function listClasses(kube: Kube): Promise<V1StorageClass[]> {
  const list = await call('list StorageClasses', () => kube.storage.listStorageClass());
  return list.items;
}

/** The claim's events, oldest first, as one line. */
export async function pvcEvents(kube: Kube, namespace: string, name: string): Promise<string> {
  try {
    const ev = await kube.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${name}` });
    return ev.items
      .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')))
      .map((e) => `${e.reason}: ${e.message}`)
      .join(' | ');
  } catch (err) {
    if (isNotFound(err)) return '';
    return `(events unreadable: ${(err as Error).message})`;
  }
}

