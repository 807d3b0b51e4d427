import { redact } from './failures.js';

// Progress output. Human progress goes to stderr so that stdout stays clean for
// `--output json`; every line carries the elapsed time since the command began.

const started = Date.now();

export type OutputFormat = 'text' | 'json';

let quiet = false;
export function setQuiet(q: boolean): void {
  quiet = q;
}

export function elapsed(since = started): string {
  const s = (Date.now() - since) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.floor(s - m * 60)).padStart(2, '0')}s`;
}

/** A progress line: `[  12.3s] stage: message`. */
export function progress(stage: string, message: string): void {
  if (quiet) return;
  process.stderr.write(`[${elapsed().padStart(7)}] ${stage}: ${redact(message)}\n`);
}

/** Print the command's result: a JSON document or human text on stdout. */
export function emit(format: OutputFormat, json: unknown, text: string): void {
  if (format === 'json') process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  else if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
