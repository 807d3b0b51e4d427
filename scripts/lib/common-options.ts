// Options shared by several commands, so each is defined (and documented) once.
import type { Argv } from 'yargs';

export interface GlobalArgs {
  output: 'text' | 'json';
  quiet: boolean;
}

export interface NamespaceArgs {
  namespace?: string;
}

export const withNamespace = <T>(y: Argv<T>) =>
  y.option('namespace', { alias: 'n', type: 'string', describe: 'Namespace (default: the current context\'s, or the pod\'s)' });

export const withTimeout = <T>(y: Argv<T>, def: string, what: string) =>
  y.option('timeout', { type: 'string', default: def, describe: `How long to wait for ${what} (e.g. 90s, 10m)` });

export const withDryRun = <T>(y: Argv<T>) =>
  y.option('dry-run', { type: 'boolean', default: false, describe: 'Print what would change; change nothing' });
