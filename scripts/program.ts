// shipwright-cache: one CLI whose commands are the steps of the Tekton Tasks.
// scripts/cli.ts is the entry point; this module is the program (importable by tests).
// Every option can also come from the environment as SHIPWRIGHT_CACHE_<OPTION>
// (e.g. SHIPWRIGHT_CACHE_PVC_NAME), which is how the Tasks pass parameters.
import yargs from 'yargs';
import { commands } from './commands/index.js';
import { CliError, ExitCode, exitCodeOf, usageError } from './lib/errors.js';
import { redact } from './lib/failures.js';
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
    // -ojson means -o json (as kubectl reads it), not -o -j -s -n: no grouping of short flags.
    .parserConfiguration({ 'short-option-groups': false })
    // A repeated single-valued flag takes its last value (as kubectl does); array options still collect.
    .middleware((argv) => {
      for (const [k, v] of Object.entries(argv)) if (Array.isArray(v) && !ARRAY_OPTIONS.has(k)) argv[k] = v.at(-1);
    }, true)
    // A number option given something else reaches yargs as NaN: refuse it here, naming the flag and the value given.
    .middleware((parsed) => {
      for (const [k, v] of Object.entries(parsed)) {
        if (typeof v !== 'number' || !Number.isNaN(v) || !/^[a-z][a-z0-9-]+$/.test(k)) continue;
        const raw = rawValue(argv, k);
        throw usageError(`--${k}${raw === undefined ? '' : ` '${raw}'`} is not a number`, `give a whole number, e.g. --${k} 3`);
      }
    }, true)
    .option('output', { alias: 'o', choices: ['text', 'json'] as const, default: 'text' as const, describe: 'Output format of the result on stdout' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress lines on stderr' })
    .option('debug', { type: 'boolean', default: false, describe: 'Print stack traces of errors (also SHIPWRIGHT_CACHE_DEBUG=1; true/false, 1/0, yes/no)' })
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
const GLOBAL_ALIASES: Record<string, string[]> = { output: ['o'], quiet: ['q'], help: ['h'] };
/** Environment variables never read as options: help and version are only real flags (a stray SHIPWRIGHT_CACHE_HELP=1 must not turn `gate` into a no-op that exits 0). */
const ENV_IGNORED = new Set(['HELP', 'VERSION', 'H', 'V']);

const envName = (option: string) => ENV_PREFIX + option.toUpperCase().replace(/-/g, '_');

interface OptionInfo {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  boolean: string[];
}

/** The command named on the command line (skipping the value of -o/--output); undefined when none. */
function commandName(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return argv[i + 1];
    if (a === '-o' || a === '--output') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

function commandOptions(name: string | undefined): OptionInfo | undefined {
  const cmd = commands.find((c) => String(c.command).split(' ')[0] === name);
  if (!cmd || typeof cmd.builder !== 'function') return undefined;
  type WithOptions = { getOptions(): OptionInfo };
  return ((cmd.builder as (y: unknown) => unknown)(yargs([])) as WithOptions).getOptions();
}

/**
 * Environment variables for options the chosen command does not have are
 * ignored (one set of SHIPWRIGHT_CACHE_* variables can serve every command),
 * and an empty one means "not set" (Tekton passes empty params as "").
 */
function filterEnv(info: OptionInfo | undefined, booleans: Set<string>): void {
  let known: Set<string> | undefined;
  if (info) {
    known = new Set([...GLOBAL_OPTIONS, ...Object.keys(info.key), ...Object.values(info.alias).flat()]);
    info.boolean.forEach((b) => booleans.add(b));
  }
  for (const k of Object.keys(process.env)) {
    if (!k.startsWith(ENV_PREFIX) || k === `${ENV_PREFIX}DEBUG`) continue;
    if (ENV_IGNORED.has(k.slice(ENV_PREFIX.length))) {
      delete process.env[k];
      continue;
    }
    const opt = k.slice(ENV_PREFIX.length).toLowerCase().replace(/_/g, '-');
    const camel = opt.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (process.env[k] === '' || (known && !known.has(opt) && !known.has(camel))) delete process.env[k];
  }
}

/** Short aliases that take a value, for splitting -ojson into -o json. */
function valueAliases(info: OptionInfo | undefined): Set<string> {
  const out = new Set(['o']);
  for (const [key, aliases] of Object.entries(info?.alias ?? {})) {
    if (info?.boolean.includes(key)) continue;
    for (const a of aliases) if (a.length === 1) out.add(a);
  }
  return out;
}

/** -ojson / -nci (a short alias glued to its value) into -o json / -n ci. */
function splitShortValues(argv: string[], aliases: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^-([a-zA-Z])([^=-].*)$/.exec(a);
    if (m && aliases.has(m[1])) out.push(`-${m[1]}`, m[2]);
    else out.push(a);
  }
  return out;
}

/** The names an option goes by on the command line: itself and its aliases. */
function namesOf(option: string, info: OptionInfo | undefined): string[] {
  const aliases = { ...GLOBAL_ALIASES, ...(info?.alias ?? {}) };
  const names = new Set([option, ...(aliases[option] ?? [])]);
  for (const [key, list] of Object.entries(aliases)) if (list.includes(option)) [key, ...list].forEach((n) => names.add(n));
  return [...names];
}

/** Whether the command line itself gives `option` (so an error about it is not the environment's). */
function givenOnCommandLine(argv: string[], option: string, info: OptionInfo | undefined): boolean {
  return namesOf(option, info).some((n) => {
    const flag = n.length === 1 ? `-${n}` : `--${n}`;
    return argv.some((a) => a === flag || a.startsWith(`${flag}=`) || (n.length > 1 && a === `--no-${n}`));
  });
}

/** The text given for an option: on the command line (--x v, --x=v), else from its environment variable. */
function rawValue(argv: string[], option: string): string | undefined {
  for (let i = argv.length - 1; i >= 0; i--) {
    if (argv[i].startsWith(`--${option}=`)) return argv[i].slice(option.length + 3);
    if (argv[i] === `--${option}` && i + 1 < argv.length) return argv[i + 1];
  }
  return process.env[envName(option)];
}

/**
 * A usage error names the flag; when the value came from SHIPWRIGHT_CACHE_<FLAG>
 * (the Tasks pass every parameter that way), says so: "--runs (from SHIPWRIGHT_CACHE_RUNS)".
 * Covers our messages (--flag) and yargs' ("Argument: flag").
 */
export function blameEnvironment(message: string, argv: string[], info?: OptionInfo): string {
  const seen = new Set<string>();
  return message.replace(/--([a-z][a-z0-9-]*)|Argument: ([a-zA-Z][a-zA-Z0-9-]*)/g, (m: string, flag?: string, arg?: string) => {
    const option = flag ?? arg!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const env = envName(option);
    if (seen.has(option) || !process.env[env] || message.includes(env) || givenOnCommandLine(argv, option, info)) return m;
    seen.add(option);
    return `${m} (from ${env})`;
  });
}

const USAGE_FIX = "run 'shipwright-cache --help' for the commands and options";

export async function main(argv: string[]): Promise<number> {
  const booleans = new Set(['quiet', 'debug']);
  const info = commandOptions(commandName(argv));
  filterEnv(info, booleans);
  argv = splitShortValues(argv, valueAliases(info));
  const debug = argv.some((a) => a === '--debug' || (a.startsWith('--debug=') && TRUE.test(a.slice(8)))) || TRUE.test(process.env.SHIPWRIGHT_CACHE_DEBUG ?? '');
  const json = jsonOutput(argv);
  try {
    const name = commandName(argv);
    if (name !== undefined && !commands.some((c) => String(c.command).split(' ')[0] === name)) {
      const names = commands.map((c) => String(c.command).split(' ')[0]);
      throw Object.assign(new Error(`unknown command '${name}'; the commands are: ${names.join(', ')}`), { usage: true });
    }
    argv = normalizeBooleans(argv, booleans);
    await buildCli(argv).parseAsync();
    return Number(process.exitCode ?? ExitCode.ok);
  } catch (err) {
    const usage = err instanceof Error && (err as { usage?: boolean }).usage === true;
    if (err instanceof Error && (usage || exitCodeOf(err) === ExitCode.usage)) err.message = blameEnvironment(err.message, argv, info);
    const message = redact(err instanceof Error ? err.message : String(err));
    const fix = usage ? USAGE_FIX : err instanceof CliError && err.hint ? redact(err.hint) : undefined;
    writeStderr(`error: ${message}${fix ? `\n  fix: ${fix}` : ''}\n`);
    const code = usage ? ExitCode.usage : exitCodeOf(err);
    if (json) writeStdout(JSON.stringify({ error: { message: message.replace(/\n\s*/g, ' '), ...(fix ? { fix } : {}), exitCode: code } }, null, 2) + '\n');
    if (debug && err instanceof Error && err.stack) writeStderr(err.stack + '\n');
    return code;
  }
}

const jsonOutput = (argv: string[]) =>
  argv.some((a, i) => a === '--output=json' || a === '-o=json' || ((a === '-o' || a === '--output') && argv[i + 1] === 'json')) || process.env.SHIPWRIGHT_CACHE_OUTPUT === 'json';

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
