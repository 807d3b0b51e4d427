#!/usr/bin/env node
// shipwright-cache: one CLI whose commands are the steps of the Tekton Tasks.
// Every option can also come from the environment as SHIPWRIGHT_CACHE_<OPTION>
// (e.g. SHIPWRIGHT_CACHE_PVC_NAME), which is how the Tasks pass parameters.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { ExitCode, exitCodeOf, formatError } from './lib/errors.js';

/** Options that take several values; every other option keeps the last one given. */
const ARRAY_OPTIONS = new Set(['_', 'label', 'param']);

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
    .option('debug', { type: 'boolean', default: false, describe: 'Print stack traces of errors' })
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

export async function main(argv: string[]): Promise<number> {
  // An empty SHIPWRIGHT_CACHE_* variable means "not set" (Tekton passes empty params as empty strings).
  for (const k of Object.keys(process.env)) if (k.startsWith('SHIPWRIGHT_CACHE_') && process.env[k] === '') delete process.env[k];
  const debug = argv.includes('--debug') || /^(1|true)$/i.test(process.env.SHIPWRIGHT_CACHE_DEBUG ?? '');
  try {
    await buildCli(argv).parseAsync();
    return Number(process.exitCode ?? ExitCode.ok);
  } catch (err) {
    if (err instanceof Error && (err as { usage?: boolean }).usage) {
      process.stderr.write(`error: ${err.message}\n  fix: run 'shipwright-cache --help' for the commands and options\n`);
      return ExitCode.usage;
    }
    process.stderr.write(formatError(err) + '\n');
    if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return exitCodeOf(err);
  }
}

/** True when this file is the program (also through a symlink, as npm's bin links are). */
function isMainModule(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

const isMain = isMainModule();
if (isMain) {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(ExitCode.interrupted);
    interrupted = true;
    process.stderr.write('\ninterrupted: finishing the current write, then stopping (press again to abort now)\n');
    process.exitCode = ExitCode.interrupted;
    process.emit('shipwright-cache:interrupt' as never);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main(hideBin(process.argv)).then((code) => process.exit(code));
}
