// demo: the whole job against the current cluster: cache PVC, strategy patch,
// Build, measured BuildRuns, gate and report, with the stage and elapsed time
// shown throughout. Exit code: the gate's (0 pass, 1 fail), or the error's.
import type { Argv, CommandModule } from 'yargs';
import { join, resolve } from 'node:path';
import { connect, requireShipwright } from '../lib/kube.js';
import { emit, progress, setQuiet } from '../lib/log.js';
import { withNamespace, type GlobalArgs, type NamespaceArgs } from '../lib/common-options.js';
import { resolveStrategyRefs, withStrategy, type StrategyArgs } from '../lib/strategy-options.js';
import { patchAsCopy, patchInPlace, refLabel } from '../lib/strategies.js';
import { validateAccessMode, validateDuration, validateLabelName, validateName, validateSize } from '../lib/validate.js';
import { evaluateGate } from '../lib/gate.js';
import { renderTable, verdictLine } from '../lib/report.js';
import { CliError, ExitCode, conflictError, usageError } from '../lib/errors.js';
import { readFile } from 'node:fs/promises';
import { unwritableReason } from '../lib/fsutil.js';
import { MAX_RUNS, recordFileContent } from '../lib/run-plan.js';
import { ensureCachePvc } from './cache-pvc.js';
import { ensureBuild } from './create-build.js';
import { runSequence } from './run.js';
import { gateOptionsFrom, withGateOptions, type GateArgs } from './gate.js';
import { writeReports } from './report.js';
import { DEFAULT_RESET_IMAGE } from '../lib/cache-reset.js';

export interface DemoArgs extends GlobalArgs, NamespaceArgs, StrategyArgs, Omit<GateArgs, 'record'> {
  pvc: string;
  size: string;
  'access-mode': string;
  'storage-class'?: string;
  'storage-driver'?: string;
  build: string;
  'source-url': string;
  'source-revision'?: string;
  'context-dir'?: string;
  'output-image': string;
  'output-insecure': boolean;
  param?: string[];
  runs: number;
  cold: boolean;
  baseline: number;
  'reset-image': string;
  'run-timeout': string;
  'out-dir': string;
  record?: string;
}

/**
 * Checks demo's flags that need no cluster, naming them as demo calls them
 * (--pvc, --run-timeout), before the first API call. The later stages check
 * the same values again under their own commands' names; they pass by then.
 */
export function validateDemoFlags(argv: Pick<DemoArgs, 'pvc' | 'size' | 'access-mode' | 'build' | 'source-url' | 'output-image' | 'param' | 'runs' | 'baseline' | 'reset-image' | 'run-timeout' | 'out-dir' | 'storage-driver'>) {
  const pvc = validateName('--pvc', argv.pvc, 63);
  const size = validateSize('--size', argv.size);
  const accessMode = validateAccessMode('--access-mode', argv['access-mode']);
  validateName('--build', argv.build);
  if (!argv['source-url']?.trim()) throw usageError('--source-url is empty', 'give the Git URL of the sources');
  if (!argv['output-image']?.trim()) throw usageError('--output-image is empty', 'give the image to push');
  for (const v of argv.param ?? []) {
    if (v.indexOf('=') <= 0) throw usageError(`--param '${v}' is not name=value`, 'e.g. --param dockerfile=Containerfile (repeat it for each value of an array parameter)');
  }
  const runs = argv.runs as unknown;
  if (typeof runs !== 'number' || !Number.isInteger(runs) || runs < 2 || runs > MAX_RUNS) {
    throw usageError(`--runs ${String(runs)} is not a whole number from 2 to ${MAX_RUNS}`, 'e.g. --runs 3: one cold run and two warm runs');
  }
  const baseline = argv.baseline as unknown;
  if (typeof baseline !== 'number' || !Number.isInteger(baseline) || baseline < 0 || baseline > MAX_RUNS) {
    throw usageError(`--baseline ${String(baseline)} is not a whole number from 0 to ${MAX_RUNS}`, 'e.g. --baseline 2 for two uncached runs to compare with, or 0 for none');
  }
  if (!argv['reset-image']?.trim()) throw usageError('--reset-image is empty', 'give an image with sh and find, or leave the default');
  validateDuration('--run-timeout', argv['run-timeout']);
  if (!argv['out-dir']?.trim()) throw usageError('--out-dir is empty', 'give a directory for the record and the report files');
  return { pvc, size, accessMode };
}

export const demoCommand: CommandModule<GlobalArgs, DemoArgs> = {
  command: 'demo',
  describe: 'Everything in one go on the current cluster: cache PVC, strategy patch, Build, measured runs, gate, report',
  builder: (y: Argv<GlobalArgs>) =>
    withGateOptions(withStrategy(withNamespace(y)), { recordRequired: false })
      .option('pvc', { type: 'string', default: 'shipwright-cache', describe: 'Cache PersistentVolumeClaim' })
      .option('size', { type: 'string', default: '3Gi', describe: 'Cache size' })
      .option('access-mode', { type: 'string', default: 'ReadWriteOnce', describe: 'Cache access mode' })
      .option('storage-class', { type: 'string', describe: "Cache StorageClass (default: the cluster's default)" })
      .option('storage-driver', { type: 'string', describe: 'Storage driver default for the patched strategy (buildah: overlay or vfs)' })
      .option('build', { alias: 'b', type: 'string', default: 'shipwright-cache', describe: 'Build name' })
      .option('source-url', { type: 'string', demandOption: true, describe: 'Git repository URL' })
      .option('source-revision', { type: 'string', describe: 'Git revision' })
      .option('context-dir', { type: 'string', describe: 'Directory in the repository' })
      .option('output-image', { type: 'string', demandOption: true, describe: 'Image to push' })
      .option('output-insecure', { type: 'boolean', default: false, describe: 'Output registry is plain HTTP' })
      .option('param', { type: 'string', array: true, describe: 'Strategy parameter name=value (repeatable)' })
      .option('runs', { type: 'number', default: 3, describe: 'Cached runs: one cold, the rest warm' })
      .option('cold', { type: 'boolean', default: true, describe: 'Empty the cache before the first run' })
      .option('baseline', { type: 'number', default: 0, describe: 'Uncached runs for an A/B comparison' })
      .option('reset-image', { type: 'string', default: DEFAULT_RESET_IMAGE, describe: 'Image with sh and find for --cold' })
      .option('run-timeout', { type: 'string', default: '30m', describe: 'Timeout of each BuildRun' })
      .option('out-dir', { type: 'string', default: 'shipwright-cache-report', describe: 'Directory for the record and the report files' }) as unknown as Argv<DemoArgs>,
  handler: async (argv) => {
    setQuiet(argv.quiet);
    // Every flag is checked here, under demo's own names, before anything is created:
    // a typo must not leave a PVC, a strategy copy and a Build behind.
    const gateOpts = gateOptionsFrom({ ...argv, record: '' });
    const flags = validateDemoFlags(argv);
    if ((gateOpts.minWarmRuns ?? 1) > argv.runs - 1) {
      throw usageError(`--min-warm-runs ${gateOpts.minWarmRuns} is more than the ${argv.runs - 1} warm run(s) --runs ${argv.runs} makes`, `pass --runs ${(gateOpts.minWarmRuns ?? 1) + 1} or more, or a smaller --min-warm-runs`);
    }
    const recordPath = argv.record ?? join(argv['out-dir'], 'record.json');
    if (['report.md', 'report.json', 'report.svg'].some((f) => resolve(argv['out-dir'], f) === resolve(recordPath))) {
      throw usageError(`--record ${recordPath} would be overwritten by the report`, 'name the record something else than report.md/json/svg, or pass another --out-dir');
    }
    for (const [flag, path] of [['--record', recordPath], ['--out-dir', join(argv['out-dir'], 'report.md')]] as const) {
      const why = await unwritableReason(path);
      if (why) throw usageError(`${flag}: cannot write ${path}: ${why}`, `pass a writable ${flag === '--record' ? 'record path' : 'directory'}`);
    }
    const kube = connect();
    const namespace = validateLabelName('--namespace', argv.namespace ?? kube.defaultNamespace);
    await refuseForeignRecord(recordPath, namespace, argv.build);
    const { source, target } = resolveStrategyRefs(argv, namespace);
    const stage = (n: number, what: string) => progress(`stage ${n}/6`, what);
    await requireShipwright(kube);
    // The strategy must exist and be patchable (a known cache profile, no conflicting copy):
    // plan the patch read-only (dry run) before the first write.
    const opts = { storageDriver: argv['storage-driver'], dryRun: false, force: false };
    const plan = argv.mode === 'in-place' ? await patchInPlace(kube, source, { ...opts, dryRun: true }) : await patchAsCopy(kube, source, target, { ...opts, dryRun: true });
    progress('demo', `strategy ${refLabel(source)}: profile ${plan.profile ?? 'unknown'}${plan.why ? ` (${plan.why})` : ''}`);

    stage(1, `cache PVC ${namespace}/${argv.pvc}`);
    const pvc = await ensureCachePvc(kube, { namespace, name: flags.pvc, size: flags.size, 'access-mode': flags.accessMode, 'storage-class': argv['storage-class'], timeout: '2m', 'dry-run': false });
    progress('stage 1/6', pvc.message);

    stage(2, `strategy: ${argv.mode === 'copy' ? `derive ${refLabel(target)} from` : 'patch in place'} ${refLabel(source)}`);
    const patched = argv.mode === 'in-place' ? await patchInPlace(kube, source, opts) : await patchAsCopy(kube, source, target, opts);
    progress('stage 2/6', `${patched.message} (${patched.why})`);

    stage(3, `Build ${namespace}/${argv.build}`);
    const build = await ensureBuild(kube, {
      namespace, strategy: argv.strategy, kind: argv.kind, 'source-namespace': argv['source-namespace'], mode: argv.mode, name: argv.name,
      build: argv.build, pvc: argv.pvc, 'source-url': argv['source-url'], 'source-revision': argv['source-revision'], 'context-dir': argv['context-dir'],
      'output-image': argv['output-image'], 'output-insecure': argv['output-insecure'], param: argv.param, wait: true, timeout: '2m',
    });
    progress('stage 3/6', build.message);

    const record = recordPath;
    stage(4, `${argv.runs} cached run(s)${argv.baseline ? ` + ${argv.baseline} uncached` : ''}, one at a time; record ${record}`);
    const rec = await runSequence(kube, { namespace, build: argv.build, runs: argv.runs, cold: argv.cold, baseline: argv.baseline, record, resume: false, 'reset-image': argv['reset-image'], timeout: argv['run-timeout'], 'lock-timeout': '30m' }).catch((err: unknown) => {
      // run's messages name run's flags; demo's are --run-timeout, and demo starts over instead of resuming.
      if (!(err instanceof CliError)) throw err;
      const demoFlags = (t: string) => t.replace(/--timeout\b/g, '--run-timeout').replace(/; then continue with --resume/, '; then run the demo again');
      throw new CliError(demoFlags(err.message), { exitCode: err.exitCode, hint: err.hint === undefined ? undefined : demoFlags(err.hint), cause: err });
    });

    stage(5, `gate: ${gateOpts.metric} time, min speedup ${gateOpts.minSpeedup}`);
    const gate = evaluateGate(rec, gateOpts);
    stage(6, `report into ${argv['out-dir']}`);
    const { report, files } = await writeReports(rec, gate, argv['out-dir'], record);
    emit(argv.output, { ...report, files }, `${renderTable(rec, gate)}\n\n${verdictLine(gate)}\nReport files:\n${Object.values(files).map((f) => `  ${f}`).join('\n')}`);
    process.exitCode = gate.passed ? ExitCode.ok : ExitCode.failed;
  },
};

/**
 * demo owns its record (it is re-measured on every demo run), but not one of another Build: a
 * record there of another namespace/Build, or a file that is no record, is refused (exit 6).
 */
async function refuseForeignRecord(path: string, namespace: string, build: string): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return;
  const held = recordFileContent(text);
  if (held.kind === 'empty') return;
  if (held.kind === 'record' && (held.runs === 0 || (held.namespace === namespace && held.build === build))) return;
  const owner = held.kind === 'record' ? `${held.runs} run(s) of Build ${held.namespace}/${held.build}` : undefined;
  throw conflictError(
    owner ? `--record ${path} already holds ${owner}; demo (Build ${namespace}/${build}) would overwrite it` : `--record ${path} exists and is not a run record; demo would overwrite it`,
    'pass another --record or --out-dir (demo only re-measures into a record of its own Build)',
  );
}
