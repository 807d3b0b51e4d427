// run: successive BuildRuns of one Build, measured, into a JSON record.
import type { Argv, CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { callOptional, connect, requireShipwright, SHIPWRIGHT_GROUP, SHIPWRIGHT_VERSION, type Kube } from '../lib/kube.js';
import { emit, progress, setQuiet } from '../lib/log.js';
import { withNamespace, withTimeout, type GlobalArgs, type NamespaceArgs } from '../lib/common-options.js';
import { validateDuration, validateLabelName, validateName } from '../lib/validate.js';
import { CliError, ExitCode, conflictError, notFoundError, usageError } from '../lib/errors.js';
import { readStrategy, refLabel, type StrategyRef } from '../lib/strategies.js';
import { hostname } from 'node:os';
import { acquireCacheLock } from '../lib/lease.js';
import { cacheVolumesOf } from '../lib/build.js';
import { parsePatchRecord, specHash } from '../lib/patch.js';
import { diskFullMessage } from '../lib/failures.js';
import { cacheDf } from '../lib/cache-reset.js';
import type { StrategyObject } from '../lib/strategy-types.js';
import { detectProfile } from '../lib/profiles.js';
import { validateRecord, writeRecord } from '../lib/record-io.js';
import { readFile } from 'node:fs/promises';
import { RECORD_SCHEMA_VERSION, type RunKind, type RunRecord } from '../lib/record.js';
import { cancelBuildRun, newRunId, runOnce, LABEL_RUN_ID } from '../lib/buildruns.js';
import { DEFAULT_RESET_IMAGE, resetCache } from '../lib/cache-reset.js';
import { checkCacheAccess } from '../lib/cache-access.js';
import { checkVolumeNodes } from '../lib/node-affinity.js';
import { pvcEvents } from './cache-pvc.js';
import type { BuildObject } from '../lib/build.js';
import type { StrategyKind } from '../lib/strategy-types.js';

export interface RunArgs extends GlobalArgs, NamespaceArgs {
  build: string;
  runs: number;
  cold: boolean;
  baseline: number;
  record: string;
  resume: boolean;
  'reset-image': string;
  timeout: string;
  'lock-timeout': string;
  'fix-permissions'?: boolean;
}

export const runCommand: CommandModule<GlobalArgs, RunArgs> = {
  command: 'run',
  describe: 'Run BuildRuns of a Build one after another (cold, then warm), measure each, and write a JSON record',
  builder: (y: Argv<GlobalArgs>) =>
    withTimeout(withNamespace(y), '30m', 'each BuildRun')
      .option('build', { alias: 'b', type: 'string', default: 'shipwright-cache', describe: 'Build name' })
      .option('runs', { type: 'number', default: 3, describe: 'Cached runs: the first is cold, the rest warm (at least 2)' })
      .option('cold', { type: 'boolean', default: false, describe: 'Empty the cache volume before the first run, so it is truly cold' })
      .option('baseline', { type: 'number', default: 0, describe: "Also run N uncached BuildRuns (cache volume left to the strategy's emptyDir) for an A/B comparison" })
      .option('record', { type: 'string', default: 'shipwright-cache-record.json', describe: 'Where to write the JSON record' })
      .option('resume', { type: 'boolean', default: false, describe: 'Continue an interrupted record instead of starting over' })
      .option('reset-image', { type: 'string', default: DEFAULT_RESET_IMAGE, describe: 'Image with sh, find and df: empties the cache (--cold, corruption) and reads its free space' })
      .option('fix-permissions', { type: 'boolean', default: false, describe: "When the build steps run as a non-root user that cannot write the cache volume, make that user the owner of its cache directory (once, from a root pod with --reset-image)" })
      .option('lock-timeout', { type: 'string', default: '30m', describe: 'How long to wait for another run that holds the cache lock' }) as unknown as Argv<RunArgs>,
  handler: async (argv) => {
    setQuiet(argv.quiet);
    const record = await runSequence(connect(), argv);
    const failed = record.runs.filter((r) => r.outcome !== 'Succeeded');
    const text = [
      `recorded ${record.runs.length} BuildRuns of Build ${record.namespace}/${record.build} in ${argv.record}`,
      ...record.runs.map((r) => `  #${r.index + 1} ${r.kind.padEnd(8)} ${r.buildRunName}: ${r.outcome}, total ${r.totalSeconds?.toFixed(1) ?? '?'}s, build ${r.phases.build?.toFixed(1) ?? '?'}s${r.cacheHits !== null ? `, cache hits ${r.cacheHits}` : ''}`),
      `next: shipwright-cache gate --record ${argv.record}`,
    ].join('\n');
    emit(argv.output, record, text);
    if (failed.length) process.exitCode = ExitCode.failed;
  },
};

/**
 * Stops when the strategy is no longer cache-ready, was edited after the
 * patch (its recorded hash), or changed since `expected`. Returns its hash.
 */
function checkStrategy(strategy: StrategyObject, label: string, expected: string | undefined): string {
  const hash = specHash(strategy.spec);
  const rec = parsePatchRecord(strategy.metadata.annotations, label);
  const { ready } = cacheVolumesOf(strategy, label);
  const fix = "re-run 'shipwright-cache patch-strategy' (copy mode re-derives its copy with --force; in place: unpatch-strategy --mode in-place, then patch again), then start a new record";
  if (!ready) throw conflictError(`${label} is no longer cache-ready (was it re-applied by an operator, or edited?); warm runs would not use the cache`, fix);
  if (rec && rec.specAfter !== hash) throw conflictError(`${label} was changed after shipwright-cache patched it (spec ${rec.specAfter} -> ${hash}); runs would not measure the patched strategy`, fix);
  if (expected !== undefined && expected !== hash) throw conflictError(`${label} changed during the runs (spec ${expected} -> ${hash}); the runs before and after are not comparable`, fix);
  return hash;
}

const buildApi = (namespace: string) => ({ group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: 'builds', namespace });

export async function runSequence(kube: Kube, argv: Omit<RunArgs, keyof GlobalArgs>): Promise<RunRecord> {
  const namespace = validateLabelName('--namespace', argv.namespace ?? kube.defaultNamespace);
  const buildName = validateName('--build', argv.build);
  if (!Number.isInteger(argv.runs) || argv.runs > 1000) throw usageError(`--runs must be a whole number from 2 to 1000, not ${argv.runs}`, 'e.g. --runs 3: one cold run and two warm runs');
  if (argv.runs < 2) throw usageError(`--runs ${argv.runs} is too few`, 'use at least 2: one cold run and one warm run');
  if (!Number.isInteger(argv.baseline) || argv.baseline < 0 || argv.baseline > 1000) throw usageError(`--baseline ${argv.baseline} is not a count`, 'use a whole number from 0 to 1000');
  const timeoutMs = validateDuration('--timeout', argv.timeout);
  await requireShipwright(kube);

  const label = `Build ${namespace}/${buildName}`;
  const build = (await callOptional(`get ${label}`, () => kube.custom.getNamespacedCustomObject({ ...buildApi(namespace), name: buildName }))) as BuildObject | undefined;
  if (!build) throw notFoundError(`${label} does not exist`, "create it with 'shipwright-cache create-build'");
  if (build.status?.registered === 'False') {
    throw new CliError(`${label} is not registered: ${build.status.reason}: ${build.status.message}`, { exitCode: ExitCode.failed, hint: "fix it and run 'shipwright-cache create-build' again" });
  }
  const pvcVolumes = (build.spec.volumes ?? []).filter((v) => (v as { persistentVolumeClaim?: unknown }).persistentVolumeClaim);
  if (pvcVolumes.length === 0) {
    throw usageError(`${label} mounts no PersistentVolumeClaim; nothing would be cached`, "create it with 'shipwright-cache create-build'");
  }
  const pvc = (pvcVolumes[0].persistentVolumeClaim as { claimName: string }).claimName;
  const sref = build.spec.strategy as { name: string; kind?: StrategyKind };
  const strategyRef: StrategyRef = { kind: sref.kind ?? 'ClusterBuildStrategy', name: sref.name, namespace: sref.kind === 'BuildStrategy' ? namespace : undefined };
  const strategy = await readStrategy(kube, strategyRef);
  if (!strategy) throw notFoundError(`${refLabel(strategyRef)}, the strategy of ${label}, does not exist`, "create it with 'shipwright-cache patch-strategy'");
  const profile = detectProfile(strategy.spec)?.profile;
  const startHash = checkStrategy(strategy, refLabel(strategyRef), undefined);
  const claim = await callOptional(`get PersistentVolumeClaim ${namespace}/${pvc}`, () => kube.core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace }));
  // A claim Bound to a volume that no Ready, schedulable node can use: every build pod would stay Pending.
  await checkVolumeNodes(kube, namespace, claim, () => pvcEvents(kube, namespace, pvc));

  let record: RunRecord;
  const runId = newRunId();
  if (argv.resume && existsSync(argv.record)) {
    // A record interrupted before its first run finished has no runs yet: it still resumes.
    record = validateRecord(JSON.parse(await readFile(argv.record, 'utf8').catch(() => '{}')), `record file ${argv.record}`);
    if (record.build !== buildName || record.namespace !== namespace) throw usageError(`--resume: ${argv.record} records Build ${record.namespace}/${record.build}, not ${namespace}/${buildName}`, 'pass the matching --record, or drop --resume');
    progress('run', `resuming ${argv.record}: ${record.runs.length} runs already recorded`);
  } else {
    record = {
      schemaVersion: RECORD_SCHEMA_VERSION,
      tool: 'shipwright-cache',
      createdAt: new Date().toISOString(),
      namespace,
      build: buildName,
      strategy: { name: strategyRef.name, kind: strategyRef.kind, profile: profile?.id, specHash: startHash },
      cache: { pvc, volume: pvcVolumes.map((v) => v.name).join(','), storageClass: claim?.spec?.storageClassName, accessModes: claim?.spec?.accessModes, size: String(claim?.spec?.resources?.requests?.storage ?? '') },
      runs: [],
    };
  }
  // Fail now, not after the first BuildRun, when the record cannot be written.
  await writeRecord(argv.record, record).catch((err) => {
    throw usageError(`cannot write the record to ${argv.record}: ${(err as Error).message}`, 'pass a writable path with --record');
  });
  const plan: RunKind[] = ['cold', ...Array<RunKind>(argv.runs - 1).fill('warm'), ...Array<RunKind>(argv.baseline).fill('baseline')];
  if (record.runs.length >= plan.length) {
    progress('run', `${argv.record} already holds all ${plan.length} runs; nothing to do`);
    return record;
  }
  // A resumed sequence whose cold run did not complete starts clean.
  if (record.runs.length > 0 && record.runs[0].outcome !== 'Succeeded') record.runs = [];

  if (record.strategy?.specHash && record.strategy.specHash !== startHash) {
    throw conflictError(`${refLabel(strategyRef)} changed since the recorded runs began (spec ${record.strategy.specHash} -> ${startHash}); resumed runs would not be comparable`, 'start a new record (drop --resume)');
  }

  const lockWaitMs = validateDuration('--lock-timeout', argv['lock-timeout']);
  const lock = await acquireCacheLock(kube, namespace, pvc, { identity: `${hostname()}/${runId}`, waitMs: lockWaitMs });
  const abort = new AbortController();
  let current: string | undefined;
  const onInterrupt = () => abort.abort();
  process.on('shipwright-cache:interrupt' as never, onInterrupt);
  try {
    let resetNext = false;
    if (record.runs.length === 0) {
      if (argv.cold) {
        await resetCache(kube, namespace, pvc, argv['reset-image'], runId);
        resetNext = true;
      } else if (claim?.status?.phase === 'Bound') {
        progress('run', `warning: PersistentVolumeClaim ${namespace}/${pvc} is already bound and may hold a warm cache; the first run may not be cold (pass --cold)`);
      }
      // A non-root builder on a volume it cannot write would fail (or silently not cache) in its first build.
      const access = await checkCacheAccess(kube, namespace, pvc, strategy.spec, pvcVolumes.map((v) => v.name), {
        image: argv['reset-image'], suffix: runId, fix: argv['fix-permissions'] ?? false, strategyLabel: refLabel(strategyRef),
      });
      if (access === 'writable' || access === 'fixed') progress('access', access === 'fixed' ? 'the build user can write the cache now' : 'the build user can write the cache');
    }
    let resetForCorruption = false;
    for (let i = record.runs.length; i < plan.length; i++) {
      // A strategy changed under us (an operator re-applied it, someone edited it) would make
      // "warm" runs uncached: stop rather than measure them.
      const now = await readStrategy(kube, strategyRef);
      if (!now) throw notFoundError(`${refLabel(strategyRef)} was deleted during the runs`, "re-create it with 'shipwright-cache patch-strategy' and start again");
      checkStrategy(now, refLabel(strategyRef), startHash);
      const kind: RunKind = resetNext && plan[i] !== 'baseline' ? 'cold' : plan[i];
      const entry = await runOnce(kube, {
        namespace, build: buildName, runId, index: i, kind, timeoutMs, profile, signal: abort.signal,
        emptyDirVolumes: kind === 'baseline' ? pvcVolumes.map((v) => v.name) : undefined,
        onCreated: (n) => (current = n),
      });
      if (resetNext && kind !== 'baseline') {
        entry.cacheReset = true;
        resetNext = false;
      }
      current = undefined;
      if (entry.outcome !== 'Succeeded' && entry.failure?.class === 'cache-corrupt' && !resetForCorruption) {
        // A build killed mid-way can leave the store corrupted or locked: reset once, run again as cold.
        progress('run', `${entry.buildRunName} failed on a damaged cache (${entry.failure.evidence}); emptying the cache once and running again as cold`);
        await resetCache(kube, namespace, pvc, argv['reset-image'], `${runId}-r`);
        resetForCorruption = true;
        resetNext = true;
        i--;
        continue;
      }
      record.runs.push(entry);
      record.updatedAt = new Date().toISOString();
      await writeRecord(argv.record, record);
      if (entry.outcome !== 'Succeeded' && entry.failure?.class === 'disk-full') {
        const df = await cacheDf(kube, namespace, pvc, argv['reset-image'], runId).catch(() => undefined);
        const m = diskFullMessage(pvc, namespace, String(claim?.status?.capacity?.storage ?? claim?.spec?.resources?.requests?.storage ?? '?'), df);
        throw new CliError(`${entry.buildRunName}: ${m.message}: ${entry.failure.evidence}`, { exitCode: ExitCode.failed, hint: m.hint });
      }
      if (entry.outcome !== 'Succeeded' && kind !== 'baseline') {
        progress('run', `stopping: ${entry.buildRunName} ${entry.outcome} (${entry.reason}: ${entry.message ?? ''})`);
        break;
      }
    }
  } catch (err) {
    if (err instanceof CliError && err.exitCode === ExitCode.interrupted) {
      if (current) await cancelBuildRun(kube, namespace, current);
      record.interrupted = true;
      record.updatedAt = new Date().toISOString();
      await writeRecord(argv.record, record);
      throw new CliError(`interrupted; ${record.runs.length} runs kept in ${argv.record}`, {
        exitCode: ExitCode.interrupted,
        hint: `continue with --resume; the BuildRuns it made carry the label ${LABEL_RUN_ID}=${runId} (kubectl delete buildrun -l ${LABEL_RUN_ID}=${runId})`,
      });
    }
    throw err;
  } finally {
    process.off('shipwright-cache:interrupt' as never, onInterrupt);
    await lock.release();
  }
  record.interrupted = undefined;
  await writeRecord(argv.record, record);
  return record;
}
