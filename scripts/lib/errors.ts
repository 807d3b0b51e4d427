import { redact } from './failures.js';

// Errors the CLI reports to users. Every error names the object, what was
// expected and the fix, and maps to a distinct exit code so a CI step can
// tell a failed gate from a broken cluster.

/** Exit codes of every command. */
export const ExitCode = {
  ok: 0,
  /** The operation ran and its verdict is negative (gate failed, BuildRun failed). */
  failed: 1,
  /** Bad flags or input values. */
  usage: 2,
  /** The cluster cannot be reached, or its credentials are rejected. */
  unreachable: 3,
  /** RBAC denied a verb on a resource. */
  forbidden: 4,
  /** A referenced object (strategy, PVC, Build, CRD) does not exist. */
  notFound: 5,
  /** An object exists but is in a state we cannot work with (conflict, wrong spec). */
  conflict: 6,
  /** A wait ran out of time. */
  timeout: 7,
  /** Interrupted (SIGINT/SIGTERM). */
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  constructor(message: string, opts: { exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CliError';
    this.exitCode = opts.exitCode ?? ExitCode.failed;
    this.hint = opts.hint;
  }
}

export const usageError = (message: string, hint?: string) => new CliError(message, { exitCode: ExitCode.usage, hint });
export const notFoundError = (message: string, hint?: string) => new CliError(message, { exitCode: ExitCode.notFound, hint });
export const conflictError = (message: string, hint?: string) => new CliError(message, { exitCode: ExitCode.conflict, hint });

/** One-line (plus hint) rendering used by the CLI's failure handler. */
export function formatError(err: unknown): string {
  if (err instanceof CliError) return redact(err.hint ? `error: ${err.message}\n  fix: ${err.hint}` : `error: ${err.message}`);
  if (err instanceof Error) return redact(`error: ${err.message}`);
  return redact(`error: ${String(err)}`);
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : ExitCode.failed;
}
