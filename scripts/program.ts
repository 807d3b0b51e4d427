// shipwright-cache: one CLI whose commands are the steps of the Tekton Tasks.
// scripts/cli.ts is the entry point; this module is the program (importable by tests).
// Every option can also come from the environment as SHIPWRIGHT_CACHE_<OPTION>
// (e.g. SHIPWRIGHT_CACHE_PVC_NAME), which is how the Tasks pass parameters.
import yargs from 'yargs';
import { commands } from './commands/index.js';
import { ExitCode, exitCodeOf, formatError, usageError } from './lib/errors.js';
import { writeStderr, writeStdout } from './lib/log.js';

/** Options that take several values; every other option keeps the last one given. */
const ARRAY_OPTIONS = new Set(['_', 'label', 'param']);

const TRUE = /^(true|1|yes|on)$/i;
const FALSE = /^(false|0|no|off)$/i;

/**
 * yargs reads any boolean value other than "true" as false, silently (so "--dry-run=yes"
 * would write). Rewrites --flag=value and SHIPWRIGHT_CACHE_FLAG=value of boolean options
 * into true/false when they say 1/0/yes/no/on/off in any case, and refuses anything else.
 */
function normalizeBooleans(argv: string[], booleans: Set<string>): string[] {
  const out = argv.map((a) => {
    const m = /^--([a-z][a-z0-9-]*)=(.*)$/.exec(a);
    if (!m || !booleans.has(m[1])) return a;
    if (TRUE.test(m[2])) return `--${m[1]}=true`;
    if (FALSE.test(m[2])) return `--${m[1]}=false`;
    throw usageError(`--${m[1]}=${m[2]} is not a boolean`, `use --${m[1]} or --no-${m[1]} (or =true / =false)`);
  });
  for (const k of Object.keys(process.env)) {
    if (!k.startsWith(ENV_PREFIX)) continue;
    const opt = k.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, '-');
    if (!booleans.has(opt)) continue;
    const v = process.env[k]!;
    if (TRUE.test(v)) process.env[k] = 'true';
    else if (FALSE.test(v)) process.env[k] = 'false';
    else throw usageError(`${k}=${v} is not a boolean`, `set it to true or false`);
  }
  return out;
}

export function buildCli(argv: string[]) {
  let cli = yargs(argv)
    .scriptName('shipwright-cache')
    .usage('$0 <command> [options]\n\nPersistent build caches for Shipwright builds.')
    .env('SHIPWRIGHT_CACHE')
    // A repeated single-valued flag takes its last value (as kubectl does); array options still collect.
    .middleware((argv) => {
      for (const [k, v] of Object.entries(argv)) if (Array.isArray(v) && !ARRAY_OPTIONS.has(k)) argv[k] = v.at(-1);
    }, true)
    .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'Output format of the result on stdout' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress lines on stderr' })
    .option('debug', { type: 'boolean', default: false, describe: 'Print stack traces of errors (also SHIPWRIGHT_CACHE_DEBUG=1)' })
    .demandCommand(1, 'Name a command; see --help.')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? Object.assign(new Error(msg), { usage: true });
    });
  for (const c of commands) cli = cli.command(c as never);
  return cli;
}

const ENV_PREFIX = 'SHIPWRIGHT_CACHE_';
const GLOBAL_OPTIONS = ['output', 'quiet', 'debug', 'help', 'version'];

/**
 * Environment variables for options the chosen command does not have are
 * ignored (one set of SHIPWRIGHT_CACHE_* variables can serve every command),
 * and an empty one means "not set" (Tekton passes empty params as "").
 */
function filterEnv(argv: string[], booleans: Set<string>): void {
  const name = argv.find((a) => !a.startsWith('-'));
  const cmd = commands.find((c) => String(c.command).split(' ')[0] === name);
  let known: Set<string> | undefined;
  if (cmd && typeof cmd.builder === 'function') {
    type WithOptions = { getOptions(): { key: Record<string, unknown>; alias: Record<string, string[]>; boolean: string[] } };
    const o = ((cmd.builder as (y: unknown) => unknown)(yargs([])) as WithOptions).getOptions();
    known = new Set([...GLOBAL_OPTIONS, ...Object.keys(o.key), ...Object.values(o.alias).flat()]);
    o.boolean.forEach((b) => booleans.add(b));
  }
  for (const k of Object.keys(process.env)) {
    if (!k.startsWith(ENV_PREFIX) || k === `${ENV_PREFIX}DEBUG`) continue;
    const opt = k.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, '-');
    const camel = opt.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (process.env[k] === '' || (known && !known.has(opt) && !known.has(camel))) delete process.env[k];
  }
}

export async function main(argv: string[]): Promise<number> {
  const booleans = new Set(['quiet', 'debug']);
  filterEnv(argv, booleans);
  const debug = argv.includes('--debug') || /^(1|true)$/i.test(process.env.SHIPWRIGHT_CACHE_DEBUG ?? '');
  try {
    argv = normalizeBooleans(argv, booleans);
    await buildCli(argv).parseAsync();
    return Number(process.exitCode ?? ExitCode.ok);
  } catch (err) {
    if (err instanceof Error && (err as { usage?: boolean }).usage) {
      writeStderr(`error: ${err.message}\n  fix: run 'shipwright-cache --help' for the commands and options\n`);
      return ExitCode.usage;
    }
    writeStderr(formatError(err) + '\n');
    if (jsonOutput(argv)) writeStdout(JSON.stringify({ error: { message: formatError(err).replace(/^error: /, ''), exitCode: exitCodeOf(err) } }, null, 2) + '\n');
    if (debug && err instanceof Error && err.stack) writeStderr(err.stack + '\n');
    return exitCodeOf(err);
  }
}


const jsonOutput = (argv: string[]) => argv.some((a, i) => a === '--output=json' || a === '-o=json' || ((a === '-o' || a === '--output') && argv[i + 1] === 'json')) || process.env.SHIPWRIGHT_CACHE_OUTPUT === 'json';

/**
 * How long the first SIGINT/SIGTERM waits for the command to wind down (cancel its BuildRun,
 * write the record, release the lock) before exiting anyway: a call stuck in the file system or
 * the network must not swallow the signal. Below Kubernetes' default 30 s grace period.
 */
export const INTERRUPT_GRACE_MS = Number(process.env.SWC_TEST_INTERRUPT_GRACE_MS) || 20_000; // tests shorten it

/** Runs the program and exits with its code; SIGINT/SIGTERM let `run` keep its record. */
export async function run(argv: string[]): Promise<never> {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(ExitCode.interrupted);
    interrupted = true;
    writeStderr(`\ninterrupted: finishing the current write, then stopping (press again to abort now; stopping anyway in ${INTERRUPT_GRACE_MS / 1000}s)\n`);
    process.exitCode = ExitCode.interrupted;
    // Unref'd: a command that ends sooner exits at once. The timer still fires while the
    // event loop waits on a stuck call (a pending fs or socket request keeps the loop alive).
    setTimeout(() => {
      writeStderr(`error: still not stopped ${INTERRUPT_GRACE_MS / 1000}s after the interrupt; exiting now\n`);
      process.exit(ExitCode.interrupted);
    }, INTERRUPT_GRACE_MS).unref();
    process.emit('shipwright-cache:interrupt' as never);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await main(argv);
  // Exit only once stdout is flushed: a pipe would otherwise lose all but its first 64 KiB.
  if (process.stdout.destroyed) process.exit(code);
  process.stdout.write('', () => process.exit(code));
  return new Promise<never>(() => undefined);
}
