// What `run` still has to do, and whether it may write its record file: pure
// decisions over the runs already recorded and the bytes already on disk.
import { conflictError } from './errors.js';
import { validateRecord } from './record-io.js';
import type { RunEntry, RunKind } from './record.js';

/**
 * The kinds of the runs still to make, in order, so that the record holds
 * `runs` cached runs (the first cold, the rest warm) and `baseline` uncached
 * ones. Counted by kind, not by position: a record with cold + 2 warm and
 * --runs 2 --baseline 1 still needs its baseline. A cold run made after a cache
 * reset (cacheReset) took a warm run's place and counts as a cached run.
 */
export function remainingRuns(done: Pick<RunEntry, 'kind'>[], runs: number, baseline: number): RunKind[] {
  const cached = done.filter((r) => r.kind !== 'baseline').length;
  const baselines = done.length - cached;
  const out: RunKind[] = [];
  for (let i = cached; i < runs; i++) out.push(i === 0 ? 'cold' : 'warm');
  for (let i = baselines; i < baseline; i++) out.push('baseline');
  return out;
}

/** Most runs `run` and `demo` take of each kind (cached, baseline). */
export const MAX_RUNS = 1000;

export const OVERWRITE_FIX = 'pass --resume to continue it, --force to start it anew (the old runs are lost), or another --record path';
const NOT_A_RECORD_FIX = 'pass another --record path, or --force to overwrite it';

/**
 * Refuses (conflict, exit 6) to start a new record over `text`, the current
 * content of the record file `path`, when it holds runs or is not a run record
 * at all. An empty file, or a record with no runs yet, may be overwritten.
 */
export function checkOverwrite(path: string, text: string): void {
  const held = recordFileContent(text);
  if (held.kind === 'not-json') throw conflictError(`${path} exists and is not a run record (not JSON); it would be overwritten`, NOT_A_RECORD_FIX);
  if (held.kind === 'not-record') throw conflictError(`${path} exists and is not a valid run record; it would be overwritten`, NOT_A_RECORD_FIX);
  if (held.kind === 'record' && held.runs > 0) {
    throw conflictError(`record file ${path} already holds ${held.runs} run${held.runs === 1 ? '' : 's'} of Build ${held.namespace}/${held.build}`, OVERWRITE_FIX);
  }
}

/** What the text of a record file holds: nothing, something that is no record, or a record's owner and run count. */
export type RecordFileContent =
  | { kind: 'empty' | 'not-json' | 'not-record' }
  | { kind: 'record'; runs: number; namespace: string; build: string };

export function recordFileContent(text: string): RecordFileContent {
  if (text.trim() === '') return { kind: 'empty' };
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return { kind: 'not-json' };
  }
  try {
    const record = validateRecord(obj, 'record file');
    return { kind: 'record', runs: record.runs.length, namespace: record.namespace, build: record.build };
  } catch {
    return { kind: 'not-record' };
  }
}
