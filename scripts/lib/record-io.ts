// Reading, validating and atomically writing the run record (record.ts).
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { usageError } from './errors.js';
import { redact } from './failures.js';
import { ensureDir } from './fsutil.js';
import { RECORD_SCHEMA_VERSION, type RunRecord } from './record.js';

const RUN_KINDS = ['cold', 'warm', 'baseline'];
const RUN_OUTCOMES = ['Succeeded', 'Failed', 'TimedOut', 'Canceled', 'Interrupted'];
const STRATEGY_KINDS = ['BuildStrategy', 'ClusterBuildStrategy'];
const PHASES = ['setup', 'source', 'build', 'push'];
/** How many field problems a validation error lists before "(+N more)". */
const MAX_LISTED_PROBLEMS = 5;

type Check = (v: unknown) => boolean;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString: Check = (v) => typeof v === 'string';
const isName: Check = (v) => typeof v === 'string' && v.length > 0;
const isSeconds: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isCount: Check = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isBoolean: Check = (v) => typeof v === 'boolean';
const isStringList: Check = (v) => Array.isArray(v) && v.every(isString);
const oneOf = (values: string[]): Check => (v) => typeof v === 'string' && values.includes(v);
const orNull = (check: Check): Check => (v) => v === null || check(v);

/** Collects "<path> must be <expected> (got <value>)" lines. */
class Problems {
  readonly list: string[] = [];
  add(path: string, expected: string, value: unknown): void {
    const shown = (): string => (typeof value === 'number' ? String(value) : JSON.stringify(value).slice(0, 40));
    const got = value === undefined ? 'missing' : `got ${shown()}`;
    this.list.push(`${path} must be ${expected} (${got})`);
  }
  /** Checks obj[key]; an absent optional key is fine. */
  field(obj: Record<string, unknown>, key: string, path: string, check: Check, expected: string, optional = false): void {
    const value = obj[key];
    if (optional && value === undefined) return;
    if (!check(value)) this.add(path ? `${path}.${key}` : key, expected, value);
  }
}

/** Every way `obj` differs from the RunRecord schema (empty when valid). tool and schemaVersion are checked by the callers. */
function recordProblems(obj: Record<string, unknown>): string[] {
  const p = new Problems();
  p.field(obj, 'createdAt', '', isString, 'an RFC 3339 timestamp string');
  p.field(obj, 'updatedAt', '', isString, 'an RFC 3339 timestamp string', true);
  p.field(obj, 'namespace', '', isName, 'a namespace name');
  p.field(obj, 'build', '', isName, 'a Build name');
  p.field(obj, 'interrupted', '', isBoolean, 'true or false', true);
  if (obj.strategy !== undefined) {
    if (!isObject(obj.strategy)) p.add('strategy', 'an object', obj.strategy);
    else {
      p.field(obj.strategy, 'name', 'strategy', isName, 'a strategy name');
      p.field(obj.strategy, 'kind', 'strategy', oneOf(STRATEGY_KINDS), `one of ${STRATEGY_KINDS.join(', ')}`);
      p.field(obj.strategy, 'profile', 'strategy', isString, 'a string', true);
    }
  }
  if (obj.cache !== undefined) {
    if (!isObject(obj.cache)) p.add('cache', 'an object', obj.cache);
    else {
      p.field(obj.cache, 'pvc', 'cache', isName, 'a PVC name');
      p.field(obj.cache, 'volume', 'cache', isName, 'a volume name');
      p.field(obj.cache, 'storageClass', 'cache', isString, 'a string', true);
      p.field(obj.cache, 'size', 'cache', isString, 'a quantity string', true);
      p.field(obj.cache, 'accessModes', 'cache', isStringList, 'a list of strings', true);
    }
  }
  if (!Array.isArray(obj.runs)) {
    p.add('runs', 'a list', obj.runs);
    return p.list;
  }
  const seen = new Map<unknown, number>();
  obj.runs.forEach((run: unknown, i: number) => {
    const at = `runs[${i}]`;
    if (!isObject(run)) return p.add(at, 'an object', run);
    p.field(run, 'index', at, isCount, 'a whole number >= 0');
    if (seen.has(run.index)) p.list.push(`${at}.index ${String(run.index)} repeats runs[${seen.get(run.index)}].index`);
    seen.set(run.index, i);
    p.field(run, 'kind', at, oneOf(RUN_KINDS), `one of ${RUN_KINDS.join(', ')}`);
    p.field(run, 'buildRunName', at, isName, 'a BuildRun name');
    p.field(run, 'outcome', at, oneOf(RUN_OUTCOMES), `one of ${RUN_OUTCOMES.join(', ')}`);
    for (const key of ['reason', 'message', 'startTime', 'completionTime']) p.field(run, key, at, isString, 'a string', true);
    p.field(run, 'totalSeconds', at, orNull(isSeconds), 'seconds >= 0 or null');
    if (!isObject(run.phases)) p.add(`${at}.phases`, 'an object', run.phases);
    else for (const phase of PHASES) p.field(run.phases, phase, `${at}.phases`, isSeconds, 'seconds >= 0', true);
    p.field(run, 'cacheHits', at, orNull(isCount), 'a whole number >= 0 or null');
    p.field(run, 'cacheableSteps', at, orNull(isCount), 'a whole number >= 0 or null', true);
    p.field(run, 'cacheReset', at, isBoolean, 'true or false', true);
  });
  return p.list;
}

/**
 * Checks that `obj` is a RunRecord this version reads, and returns it typed.
 * `source` (usually the file path) starts every error message. A record with
 * no runs is valid here (a sequence that has just begun); readRecord rejects it.
 * Throws a usage error (exit 2) naming the first problems.
 */
export function validateRecord(obj: unknown, source: string): RunRecord {
  const fix = 'pass the JSON file written by `shipwright-cache run` (--record <path>)';
  if (!isObject(obj)) throw usageError(`${source} is not a run record: expected a JSON object`, fix);
  if (obj.tool !== 'shipwright-cache') {
    throw usageError(`${source} is not a shipwright-cache run record (tool: ${JSON.stringify(obj.tool) ?? 'missing'})`, fix);
  }
  if (obj.schemaVersion !== RECORD_SCHEMA_VERSION) {
    throw usageError(
      `${source} has record schemaVersion ${JSON.stringify(obj.schemaVersion) ?? 'missing'}; this shipwright-cache reads schemaVersion ${RECORD_SCHEMA_VERSION}`,
      'read it with the shipwright-cache version that wrote it, or record the runs again',
    );
  }
  const problems = recordProblems(obj);
  if (problems.length) {
    const more = problems.length > MAX_LISTED_PROBLEMS ? ` (+${problems.length - MAX_LISTED_PROBLEMS} more)` : '';
    throw usageError(`${source} is not a valid run record: ${problems.slice(0, MAX_LISTED_PROBLEMS).join('; ')}${more}`, fix);
  }
  return redactDeep(obj) as unknown as RunRecord;
}

/**
 * Every string of a record with credentials masked (failures.ts redact): `run`
 * redacts what it records, but a record may be hand-made or edited, and gate and
 * report print its messages into logs, Tekton results and report files.
 */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  return value;
}

/**
 * Reads and validates a record file for gate/report (and `run --resume`, with
 * allowNoRuns: a sequence interrupted before its first run). Errors name the
 * file and are usage errors (exit 2): missing or unreadable, not JSON, another
 * tool or schemaVersion, invalid fields, no runs.
 */
export async function readRecord(path: string, { allowNoRuns = false } = {}): Promise<RunRecord> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw usageError(`record file ${path} does not exist`, 'pass the record written by `shipwright-cache run` with --record <path>');
    }
    throw usageError(`cannot read record file ${path}: ${(err as Error).message}`, 'pass a readable file with --record <path>');
  }
  if (text.trim() === '') throw usageError(`record file ${path} is empty`, 'pass the JSON file written by `shipwright-cache run`');
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw usageError(`record file ${path} is not valid JSON: ${(err as Error).message.replace(/\s+/g, ' ')}`, 'pass the JSON file written by `shipwright-cache run`');
  }
  const record = validateRecord(obj, `record file ${path}`);
  if (record.runs.length === 0 && !allowNoRuns) {
    throw usageError(`record file ${path} has no runs`, 'the run sequence recorded nothing; run `shipwright-cache run` again');
  }
  return record;
}

/** Writes a file so that readers see the old or the new content, never a partial one: temp file in the same directory, then rename. Creates the directory (fsutil ensureDir: a usage error naming it when it cannot). */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await ensureDir(dirname(path));
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, data, 'utf8');
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * Writes the record atomically as indented JSON. Refuses (plain Error: a bug
 * in the caller) a record that would not read back, e.g. a NaN duration, which
 * JSON would silently turn into null.
 */
export async function writeRecord(path: string, record: RunRecord): Promise<void> {
  const obj = record as unknown as Record<string, unknown>;
  const problems = [
    ...(record.tool === 'shipwright-cache' ? [] : ['tool must be "shipwright-cache"']),
    ...(record.schemaVersion === RECORD_SCHEMA_VERSION ? [] : [`schemaVersion must be ${RECORD_SCHEMA_VERSION}`]),
    ...recordProblems(obj),
  ];
  if (problems.length) throw new Error(`refusing to write an invalid run record to ${path}: ${problems.join('; ')}`);
  await writeFileAtomic(path, JSON.stringify(record, null, 2) + '\n');
}
