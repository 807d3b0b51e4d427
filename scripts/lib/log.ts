import { redact } from './failures.js';

// Progress output. Human progress goes to stderr so that stdout stays clean for
// `--output json`; every line carries the elapsed time since the command began.

const started = Date.now();

export type OutputFormat = 'text' | 'json';

/**
 * Streams whose reader went away (EPIPE: `... 2>&1 | head -1`) or that failed
 * otherwise: their output is dropped from then on. Without a listener the
 * 'error' event would kill the process mid-way, before it cancels its BuildRun,
 * writes its record and releases the cache lock.
 */
const broken = new Set<NodeJS.WriteStream>();
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => broken.add(stream));

function write(stream: NodeJS.WriteStream, text: string): void {
  if (broken.has(stream) || stream.destroyed) return;
  try {
    stream.write(text);
  } catch {
    broken.add(stream);
  }
}

/** Writes to stderr; dropped once stderr is a closed pipe. */
export const writeStderr = (text: string): void => write(process.stderr, text);
/** Writes to stdout; dropped once stdout is a closed pipe. */
export const writeStdout = (text: string): void => write(process.stdout, text);

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

/** A duration for people: 5s, 90s -> 1m30s, 30m, 1h, 1h30m (whole seconds, rounded up so a short wait never reads 0s). */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (total < 60) return `${total}s`;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('');
}

/** A progress line: `[  12.3s] stage: message`. */
export function progress(stage: string, message: string): void {
  if (quiet) return;
  writeStderr(`[${elapsed().padStart(7)}] ${stage}: ${redact(message)}\n`);
}

/** Print the command's result: a JSON document or human text on stdout. */
export function emit(format: OutputFormat, json: unknown, text: string): void {
  if (format === 'json') writeStdout(JSON.stringify(json, null, 2) + '\n');
  else if (text) writeStdout(text.endsWith('\n') ? text : text + '\n');
}
