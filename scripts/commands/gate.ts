// `gate`: reads a run record, decides whether the cache made the warm runs
// fast enough, prints one verdict line (or the JSON result), writes the Tekton
// results, and exits 0 on pass, 1 on fail, 2 on bad input.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ExitCode, usageError } from '../lib/errors.js';
import {
  DEFAULT_MIN_SPEEDUP,
  DEFAULT_MIN_WARM_RUNS,
  GATE_METRICS,
  evaluateGate,
  parseMinSpeedup,
  parseMinWarmRuns,
  type GateMetric,
  type GateOptions,
} from '../lib/gate.js';
import type { GlobalArgs } from '../lib/common-options.js';
import { emit, progress, setQuiet } from '../lib/log.js';
import { checkRecordConsistency } from '../lib/record-check.js';
import { ensureDir } from '../lib/fsutil.js';
import { readRecord } from '../lib/record-io.js';
import { verdictLine } from '../lib/report.js';
import { tektonResults, type TektonResults } from '../lib/tekton-results.js';

/** The options `gate` and `report` share. */
export interface GateArgs extends GlobalArgs {
  record: string;
  'min-speedup': string;
  metric: GateMetric;
  'min-warm-runs': string;
  'require-cache-hits': boolean;
}

/** Adds the record and gate options to a command (also used by `report`). */
export function withGateOptions<T>(y: Argv<T>, { recordRequired = true } = {}) {
  return y
    .option('record', {
      type: 'string',
      demandOption: recordRequired,
      describe: recordRequired ? 'Run record JSON written by `run`' : 'Where to write the run record (default: <out-dir>/record.json)',
    })
    .option('min-speedup', {
      type: 'string',
      default: String(DEFAULT_MIN_SPEEDUP),
      describe: 'Pass when cold / median(warm) is at least this (a number > 0; equal passes)',
    })
    .option('metric', {
      choices: GATE_METRICS,
      default: 'build' as GateMetric,
      describe: 'Compare the build step time, or the total BuildRun time',
    })
    .option('min-warm-runs', { type: 'string', default: String(DEFAULT_MIN_WARM_RUNS), describe: 'Fewest Succeeded warm runs needed' })
    .option('require-cache-hits', { type: 'boolean', default: false, describe: 'Also fail when the warm build logs show no cache hit' });
}

/** Validated gate options from the parsed flags; throws a usage error (exit 2) naming a bad flag. */
export function gateOptionsFrom(argv: GateArgs): GateOptions {
  return {
    minSpeedup: parseMinSpeedup(argv['min-speedup']),
    metric: argv.metric,
    minWarmRuns: parseMinWarmRuns(argv['min-warm-runs']),
    requireCacheHits: argv['require-cache-hits'],
  };
}

/** Writes one file per result (name = result name, content = value, no newline), as Tekton reads them. */
async function writeTektonResults(dir: string, results: TektonResults): Promise<void> {
  try {
    await ensureDir(dir, '--results-dir');
    for (const [name, value] of Object.entries(results)) await writeFile(join(dir, name), value, 'utf8');
  } catch (err) {
    throw usageError(`cannot write Tekton results to ${dir}: ${(err as Error).message}`, 'pass a writable directory with --results-dir (in a Task: /tekton/results)');
  }
}

interface GateCommandArgs extends GateArgs {
  'results-dir'?: string;
}

export const gateCommand: CommandModule<GlobalArgs, GateCommandArgs> = {
  command: 'gate',
  describe: 'Pass or fail on the cold vs warm speedup of a run record (exit 0 pass, 1 fail, 2 bad input)',
  builder: (y: Argv<GlobalArgs>) =>
    withGateOptions(y).option('results-dir', {
      type: 'string',
      describe: 'Write the Tekton results (passed, speedup, cold-seconds, warm-seconds, metric, reason, summary) into this directory',
    }) as unknown as Argv<GateCommandArgs>,
  handler: async (argv) => {
    setQuiet(argv.quiet);
    const opts = gateOptionsFrom(argv);
    const record = checkRecordConsistency(await readRecord(argv.record), `record file ${argv.record}`);
    progress('gate', `${argv.record}: ${record.runs.length} run(s) of ${record.namespace}/${record.build}`);
    const gate = evaluateGate(record, opts);
    const resultsDir = argv['results-dir'];
    if (resultsDir) {
      await writeTektonResults(resultsDir, tektonResults(gate));
      progress('gate', `wrote the Tekton results to ${resultsDir}`);
    }
    emit(argv.output, gate, verdictLine(gate));
    process.exitCode = gate.passed ? ExitCode.ok : ExitCode.failed;
  },
};
