// run: successive BuildRuns of one Build, measured, into a JSON record.
import type { Argv, CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { callOptional, connect, requireShipwright, SHIPWRIGHT_GROUP, SHIPWRIGHT_VERSION, type Kube } from '../lib/kube.js';
import { emit, formatDuration, progress, setQuiet } from '../lib/log.js';
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
import { readRecord, writeRecord } from '../lib/record-io.js';
import { unwritableReason } from '../lib/fsutil.js';
import { MAX_RUNS, checkOverwrite, remainingRuns } from '../lib/run-plan.js';
import { readFile } from 'node:fs/promises';
import { RECORD_SCHEMA_VERSION, type RunEntry, type RunKind, type RunRecord } from '../lib/record.js';
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
  force: boolean;
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
      .option('force', { type: 'boolean', default: false, describe: 'Start a new record even where --record already holds runs (they are lost)' })
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

/** How runSequence treats the record file. `force` (run's --force flag) is false or true when given; a caller that leaves it out owns the path (demo's out-dir) and overwrites it. */
export type RunSequenceArgs = Omit<RunArgs, keyof GlobalArgs | 'force'> & { force?: boolean };

/**
 * The record to continue (--resume) or undefined for a new one. Everything here
 * only reads: a bad flag or file leaves the record file as it was.
 */
async function previousRecord(argv: RunSequenceArgs, namespace: string, buildName: string): Promise<RunRecord | undefined> {
  if (argv.resume) {
    if (!existsSync(argv.record)) {
      progress('run', `--resume: ${argv.record} does not exist yet; starting a new record`);
      return undefined;
    }
    let record: RunRecord;
    try {
      // A record interrupted before its first run finished has no runs yet: it still resumes.
      record = await readRecord(argv.record, { allowNoRuns: true });
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      throw usageError(`--resume: ${err.message}`, `${err.hint ? `${err.hint}, ` : ''}or start the record anew: drop --resume and pass --force (or another --record path)`);
    }
    if (record.build !== buildName || record.namespace !== namespace) throw usageError(`--resume: ${argv.record} records Build ${record.namespace}/${record.build}, not ${namespace}/${buildName}`, 'pass the matching --record, or drop --resume');
    return record;
  }
  if (argv.force === false) {
    // A record that holds runs (maybe of another Build) is not overwritten by accident.
    const text = await readFile(argv.record, 'utf8').catch(() => undefined);
    if (text !== undefined) checkOverwrite(argv.record, text);
  }
  return undefined;
}

export async function runSequence(kube: Kube, argv: RunSequenceArgs): Promise<RunRecord> {
  // Every flag and the record file are checked before anything is written.
  const namespace = validateLabelName('--namespace', argv.namespace ?? kube.defaultNamespace);
  const buildName = validateName('--build', argv.build);
  if (!Number.isInteger(argv.runs) || argv.runs > MAX_RUNS) throw usageError(`--runs must be a whole number from 2 to ${MAX_RUNS}, not ${argv.runs}`, 'e.g. --runs 3: one cold run and two warm runs');
  if (argv.runs < 2) throw usageError(`--runs ${argv.runs} is too few`, 'use at least 2: one cold run and one warm run');
  if (!Number.isInteger(argv.baseline) || argv.baseline < 0 || argv.baseline > MAX_RUNS) throw usageError(`--baseline ${argv.baseline} is not a count`, `use a whole number from 0 to ${MAX_RUNS}`);
  const timeoutMs = validateDuration('--timeout', argv.timeout);
  const lockWaitMs = validateDuration('--lock-timeout', argv['lock-timeout']);
  if (!argv.record) throw usageError('--record is empty', 'pass the path of the JSON record to write, e.g. --record record.json');
  if (argv.resume && argv.force) throw usageError('--resume and --force contradict each other', 'pass --resume to continue the record, or --force to start it anew');
  const previous = await previousRecord(argv, namespace, buildName);
  const unwritable = await unwritableReason(argv.record);
  if (unwritable) throw usageError(`cannot write the record to ${argv.record}: ${unwritable}`, 'pass a writable path with --record');
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

  const runId = newRunId();
  const record: RunRecord = previous ?? {
    schemaVersion: RECORD_SCHEMA_VERSION,
    tool: 'shipwright-cache',
    createdAt: new Date().toISOString(),
    namespace,
    build: buildName,
    strategy: { name: strategyRef.name, kind: strategyRef.kind, profile: profile?.id, specHash: startHash },
    cache: { pvc, volume: pvcVolumes.map((v) => v.name).join(','), storageClass: claim?.spec?.storageClassName, accessModes: claim?.spec?.accessModes, size: String(claim?.spec?.resources?.requests?.storage ?? '') },
    runs: [],
  };
  if (previous) progress('run', `resuming ${argv.record}: ${record.runs.length} runs already recorded`);
  // A resumed sequence whose cold run did not complete starts clean.
  if (record.runs.length > 0 && record.runs[0].outcome !== 'Succeeded') record.runs = [];
  const todo = remainingRuns(record.runs, argv.runs, argv.baseline);
  if (todo.length === 0) {
    progress('run', `${argv.record} already holds the ${argv.runs} cached and ${argv.baseline} baseline runs asked for; nothing to do`);
    return record;
  }
  if (previous?.strategy?.specHash && previous.strategy.specHash !== startHash) {
    throw conflictError(`${refLabel(strategyRef)} changed since the recorded runs began (spec ${previous.strategy.specHash} -> ${startHash}); resumed runs would not be comparable`, 'start a new record (drop --resume)');
  }

  const lock = await acquireCacheLock(kube, namespace, pvc, { identity: `${hostname()}/${runId}`, waitMs: lockWaitMs });
  const abort = new AbortController();
  let current: string | undefined;
  // The record file is first written just before the first BuildRun: a check that fails
  // before it (a refused reset pod, an unwritable cache) leaves no record behind.
  let written = Boolean(previous);
  const save = async () => {
    await writeRecord(argv.record, record);
    written = true;
  };
  let timedOut: RunEntry | undefined;
  const onInterrupt = () => abort.abort();
  process.on('shipwright-cache:interrupt' as never, onInterrupt);
  try {
    let resetNext = false;
    if (todo[0] === 'cold') {
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
    if (!previous) {
      await save().catch((err) => {
        throw usageError(`cannot write the record to ${argv.record}: ${(err as Error).message}`, 'pass a writable path with --record');
      });
    }
    let resetForCorruption = false;
    for (let j = 0; j < todo.length; j++) {
      const i = record.runs.length;
      // A strategy changed under us (an operator re-applied it, someone edited it) would make
      // "warm" runs uncached: stop rather than measure them.
      const now = await readStrategy(kube, strategyRef);
      if (!now) throw notFoundError(`${refLabel(strategyRef)} was deleted during the runs`, "re-create it with 'shipwright-cache patch-strategy' and start again");
      checkStrategy(now, refLabel(strategyRef), startHash);
      const kind: RunKind = resetNext && todo[j] !== 'baseline' ? 'cold' : todo[j];
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
        j--;
        continue;
      }
      record.runs.push(entry);
      record.updatedAt = new Date().toISOString();
      await save();
      if (entry.outcome !== 'Succeeded' && entry.failure?.class === 'disk-full') {
        const df = await cacheDf(kube, namespace, pvc, argv['reset-image'], runId).catch(() => undefined);
        const m = diskFullMessage(pvc, namespace, String(claim?.status?.capacity?.storage ?? claim?.spec?.resources?.requests?.storage ?? '?'), df);
        throw new CliError(`${entry.buildRunName}: ${m.message}: ${entry.failure.evidence}`, { exitCode: ExitCode.failed, hint: m.hint });
      }
      if (entry.outcome === 'TimedOut') timedOut ??= entry;
      if (entry.outcome !== 'Succeeded' && kind !== 'baseline') {
        progress('run', `stopping: ${entry.buildRunName} ${entry.outcome} (${entry.reason}: ${entry.message ?? ''})`);
        break;
      }
    }
  } catch (err) {
    if (err instanceof CliError && err.exitCode === ExitCode.interrupted) {
      if (current) await cancelBuildRun(kube, namespace, current);
      if (!written) {
        throw new CliError(`interrupted before the first BuildRun; ${argv.record} was not written`, { exitCode: ExitCode.interrupted, hint: 'run it again' });
      }
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
  const stopped = timedOut && timedOut.kind !== 'baseline';
  record.interrupted = stopped ? true : undefined;
  await save();
  if (timedOut) {
    throw new CliError(`BuildRun ${namespace}/${timedOut.buildRunName} (${timedOut.kind}) did not finish within --timeout ${formatDuration(timeoutMs)} and was canceled; ${record.runs.length} runs kept in ${argv.record}`, {
      exitCode: ExitCode.timeout,
      hint: `raise --timeout if the build is just slow, or see why it did not finish: kubectl -n ${namespace} describe buildrun ${timedOut.buildRunName}${stopped ? '; then continue with --resume' : ''}`,
    });
  }
  return record;
}
