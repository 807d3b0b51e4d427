// create-build: a Shipwright Build whose cache volume is the PVC.
import type { Argv, CommandModule } from 'yargs';
import { call, callOptional, connect, namespaceMissing, namespaceNotFoundError, poll, requireShipwright, statusOf, translate, SHIPWRIGHT_GROUP, SHIPWRIGHT_VERSION, type Kube } from '../lib/kube.js';
import { emit, progress, setQuiet } from '../lib/log.js';
import { withNamespace, withTimeout, type GlobalArgs, type NamespaceArgs } from '../lib/common-options.js';
import { resolveStrategyRefs, withStrategy, type StrategyArgs } from '../lib/strategy-options.js';
import { readStrategy, refLabel } from '../lib/strategies.js';
import { buildSpecDiffers, cacheVolumesOf, desiredBuild, paramValues, heldBuildMessage, isManaged, preflightBuild, profileEnvMissing, type BuildObject, type BuildRequest, type SecretCheck } from '../lib/build.js';
import { parseLabels, refuseReservedLabels, validateDuration, validateImageRef, validateLabelName, validateName, validateSourceUrl } from '../lib/validate.js';
import { LABEL_MANAGED } from '../lib/patch.js';
import { CliError, ExitCode, conflictError, usageError } from '../lib/errors.js';

export interface CreateBuildArgs extends GlobalArgs, NamespaceArgs, StrategyArgs {
  build: string;
  pvc: string;
  'source-url': string;
  'source-revision'?: string;
  'context-dir'?: string;
  'clone-secret'?: string;
  'output-image': string;
  'output-insecure': boolean;
  'push-secret'?: string;
  param?: string[];
  label?: string[];
  'build-timeout'?: string;
  wait: boolean;
  timeout: string;
}

export const createBuildCommand: CommandModule<GlobalArgs, CreateBuildArgs> = {
  command: 'create-build',
  describe: 'Create (or update) the Shipwright Build that mounts the cache PVC, after the checks Shipwright would make',
  builder: (y: Argv<GlobalArgs>) =>
    withTimeout(withStrategy(withNamespace(y)), '2m', 'the Build to be registered (and a changed one to be deleted before it is re-created)')
      .option('build', { alias: 'b', type: 'string', default: 'shipwright-cache', describe: 'Build name' })
      .option('pvc', { type: 'string', default: 'shipwright-cache', describe: 'Cache PersistentVolumeClaim' })
      .option('source-url', { type: 'string', demandOption: true, describe: 'Git repository URL' })
      .option('source-revision', { type: 'string', describe: 'Git branch, tag or commit' })
      .option('context-dir', { type: 'string', describe: 'Directory in the repository to build' })
      .option('clone-secret', { type: 'string', describe: 'Secret for cloning a private repository' })
      .option('output-image', { type: 'string', demandOption: true, describe: 'Image to push, e.g. registry.example.com/team/app' })
      .option('output-insecure', { type: 'boolean', default: false, describe: 'The output registry is plain HTTP or self-signed' })
      .option('push-secret', { type: 'string', describe: 'Secret with credentials for the output registry' })
      .option('param', { type: 'string', array: true, describe: 'Strategy parameter name=value (repeatable; repeat an array parameter once per value), e.g. dockerfile=Containerfile' })
      .option('label', { type: 'string', array: true, describe: 'Extra label key=value on the Build (repeatable)' })
      .option('build-timeout', { type: 'string', describe: 'spec.timeout of the Build (e.g. 15m)' })
      .option('wait', { type: 'boolean', default: true, describe: "Wait for Shipwright's controller to register the Build" }) as unknown as Argv<CreateBuildArgs>,
  handler: async (argv) => {
    setQuiet(argv.quiet);
    const result = await ensureBuild(connect(), argv);
    emit(argv.output, result, result.message);
  },
};

export interface CreateBuildResult {
  name: string;
  namespace: string;
  action: 'created' | 'updated' | 'unchanged' | 'recreated';
  strategy: { kind: string; name: string };
  cacheVolumes: string[];
  pvc: string;
  registered?: string;
  reason?: string;
  message: string;
}

function parseParams(values: string[] | undefined): [string, string][] {
  return (values ?? []).map((v) => {
    const i = v.indexOf('=');
    if (i <= 0) throw usageError(`--param '${v}' is not name=value`, 'e.g. --param dockerfile=Containerfile (repeat it for each value of an array parameter)');
    return [v.slice(0, i), v.slice(i + 1)];
  });
}

/**
 * Whether the Secret exists; undefined when it cannot be told. The Tasks' Role does not grant
 * get on secrets (reading one returns its data, which this tool never needs): a forbidden read
 * is a warning, and Shipwright's own check (SpecSourceSecretRefNotFound) still applies.
 */
async function secretExists(kube: Kube, namespace: string, name: string, flag: string): Promise<boolean | undefined> {
  try {
    await kube.core.readNamespacedSecret({ name, namespace });
    return true;
  } catch (err) {
    const { code } = statusOf(err);
    if (code === 404) return false;
    if (code === 403) {
      progress('create-build', `warning: cannot check that Secret ${namespace}/${name} (${flag}) exists (forbidden: get secrets); Shipwright will report it if it does not`);
      return undefined;
    }
    throw translate(`get Secret ${namespace}/${name}`, err);
  }
}

const buildsApi = (namespace: string) => ({ group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: 'builds', namespace });

export async function ensureBuild(kube: Kube, argv: Omit<CreateBuildArgs, keyof GlobalArgs>): Promise<CreateBuildResult> {
  const namespace = validateLabelName('--namespace', argv.namespace ?? kube.defaultNamespace);
  const { target } = resolveStrategyRefs(argv, namespace);
  const name = validateName('--build', argv.build);
  const pvcName = validateName('--pvc', argv.pvc, 63);
  if (!argv['source-url']?.trim()) throw usageError('--source-url is empty', 'give the Git URL of the sources');
  if (!argv['output-image']?.trim()) throw usageError('--output-image is empty', 'give the image to push');
  const sourceUrl = validateSourceUrl('--source-url', argv['source-url']);
  const outputImage = validateImageRef('--output-image', argv['output-image']);
  const cloneSecret = argv['clone-secret'] === undefined ? undefined : validateName('--clone-secret', argv['clone-secret']);
  const pushSecret = argv['push-secret'] === undefined ? undefined : validateName('--push-secret', argv['push-secret']);
  const labels = parseLabels('--label', argv.label);
  refuseReservedLabels('--label', labels, [LABEL_MANAGED]);
  if (argv['build-timeout'] !== undefined) {
    validateDuration('--build-timeout', argv['build-timeout']);
    // spec.timeout is a Go duration: a plain number of seconds needs its unit.
    if (/^[0-9]+(\.[0-9]+)?$/.test(argv['build-timeout'].trim())) argv['build-timeout'] = `${argv['build-timeout'].trim()}s`;
  }
  const timeoutMs = validateDuration('--timeout', argv.timeout);
  const label = `Build ${namespace}/${name}`;
  await requireShipwright(kube);

  const strategy = await readStrategy(kube, target);
  const cache = strategy ? cacheVolumesOf(strategy, refLabel(target)) : { volumes: [], ready: false, profile: '' };
  const pvc = await callOptional(`get PersistentVolumeClaim ${namespace}/${pvcName}`, () => kube.core.readNamespacedPersistentVolumeClaim({ name: pvcName, namespace }));
  const req: BuildRequest = {
    name, namespace, strategy: target, pvc: pvcName, cacheVolumes: cache.volumes,
    sourceUrl, revision: argv['source-revision'], contextDir: argv['context-dir'], cloneSecret,
    outputImage, outputInsecure: argv['output-insecure'], pushSecret,
    params: paramValues(parseParams(argv.param), strategy), env: strategy ? profileEnvMissing(strategy, refLabel(target)) : {},
    labels, timeout: argv['build-timeout'],
  };
  const desired = desiredBuild(req);
  const secrets: SecretCheck[] = [];
  if (cloneSecret) secrets.push({ role: 'source', name: cloneSecret, exists: await secretExists(kube, namespace, cloneSecret, '--clone-secret') });
  if (pushSecret) secrets.push({ role: 'output', name: pushSecret, exists: await secretExists(kube, namespace, pushSecret, '--push-secret') });
  const problems = preflightBuild(desired, strategy, { exists: Boolean(pvc), terminating: Boolean(pvc?.metadata?.deletionTimestamp), name: pvcName }, secrets);
  if (problems.length) {
    // Nothing found may only mean the namespace is not there: say that instead.
    if (await namespaceMissing(kube, namespace)) throw namespaceNotFoundError(namespace, `create ${label}`);
    throw new CliError(`${label} would not work: ${problems.map((p) => `${p.reason}: ${p.message}`).join('; ')}`, {
      exitCode: problems.some((p) => /NotFound/.test(p.reason)) ? ExitCode.notFound : ExitCode.usage,
      hint: problems.map((p) => (argv.mode === 'in-place' ? p.fix.replace("'shipwright-cache patch-strategy'", `'shipwright-cache patch-strategy --mode in-place --kind ${target.kind} --strategy ${target.name}'`) : p.fix)).join('; '),
    });
  }

  const getBuild = () => callOptional(`get ${label}`, () => kube.custom.getNamespacedCustomObject({ ...buildsApi(namespace), name })) as Promise<BuildObject | undefined>;
  const existing = await getBuild();

  let action: CreateBuildResult['action'];
  if (!existing) {
    await call(`create ${label}`, () => kube.custom.createNamespacedCustomObject({ ...buildsApi(namespace), body: desired }));
    action = 'created';
  } else {
    if (!isManaged(existing)) throw conflictError(`${label} already exists and was not made by shipwright-cache`, 'pass another --build name, or delete it');
    if (existing.metadata.deletionTimestamp) {
      const m = heldBuildMessage(existing);
      throw conflictError(m.message, m.hint);
    }
    const stale = existing.status?.registered === 'False';
    if (buildSpecDiffers(existing, desired) || stale) {
      // Re-created rather than updated: Shipwright's Build status has no observedGeneration, so
      // after an update the old "registered" status would read as the new one. And Shipwright does
      // not re-check a Build when its strategy changes, so one that failed registration before the
      // strategy was patched stays failed until it is re-created.
      progress('create-build', stale ? `${label} was registered False (${existing.status?.reason}) before; re-creating it so the controller checks it again` : `${label} differs from the request; re-creating it`);
      await call(`delete ${label}`, () => kube.custom.deleteNamespacedCustomObject({ ...buildsApi(namespace), name }));
      await poll(`${label} to be deleted`, Math.min(60_000, timeoutMs), async () => ((await getBuild()) ? undefined : true), { intervalMs: 250 }).catch(async (err) => {
        const held = err instanceof CliError && err.exitCode === ExitCode.timeout ? await getBuild() : undefined;
        if (!held) throw err;
        const m = heldBuildMessage(held, true);
        throw conflictError(m.message, m.hint);
      });
      await call(`create ${label}`, () => kube.custom.createNamespacedCustomObject({ ...buildsApi(namespace), body: desired }));
      action = stale ? 'recreated' : 'updated';
    } else action = 'unchanged';
  }

  const base: CreateBuildResult = {
    name, namespace, action, strategy: { kind: target.kind, name: target.name }, cacheVolumes: cache.volumes, pvc: pvcName,
    message: `${action === 'unchanged' ? `${label} already as requested; nothing changed` : `${action} ${label}`} (${refLabel(target)}, cache volume ${cache.volumes.join(', ')} -> PVC ${pvcName})`,
  };
  if (!argv.wait) return base;
  progress('create-build', `waiting up to ${argv.timeout} for Shipwright to register ${label}`);
  const status = await poll(`${label} to be registered by the Shipwright controller`, timeoutMs, async () => {
    const b = (await call(`get ${label}`, () => kube.custom.getNamespacedCustomObject({ ...buildsApi(namespace), name }))) as BuildObject;
    return b.status?.registered === 'True' || b.status?.registered === 'False' ? b.status : undefined;
  }).catch((err) => {
    if (err instanceof CliError && err.exitCode === ExitCode.timeout) {
      throw new CliError(`${label} was not registered within ${argv.timeout}: is the Shipwright build controller running?`, {
        exitCode: ExitCode.timeout,
        hint: 'kubectl -n shipwright-build get deploy,pods; or pass --no-wait',
      });
    }
    throw err;
  });
  if (status.registered !== 'True') {
    throw new CliError(`${label} is not registered: ${status.reason}: ${status.message}`, { exitCode: ExitCode.failed, hint: 'fix the strategy or the Build as the reason says, then run create-build again' });
  }
  return { ...base, registered: status.registered, reason: status.reason, message: `${base.message}; registered (${status.reason})` };
}
