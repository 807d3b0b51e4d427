// Consistency checks of a run record beyond its schema (record-io.ts checks the
// types): timestamps that parse, completion not before start, no more cache hits
// than cacheable steps, no phase longer than its BuildRun, one cold run (later ones
// only after a cache reset).
// A record written by `run` always passes; a hand-made or edited one may not,
// and gate and report refuse it (exit 2) rather than compute from nonsense.
import { usageError } from './errors.js';
import type { RunRecord } from './record.js';

/** How many problems an error lists before "(+N more)" (as record-io does). */
const MAX_LISTED_PROBLEMS = 5;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an RFC 3339 timestamp; undefined when it is not one. */
export function parseTimestamp(value: string): number | undefined {
  if (!RFC3339.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Rounding slack between a phase (TaskRun step times) and the BuildRun's total (its own times). */
const PHASE_SLACK_SECONDS = 2;

const shown = (value: unknown): string => JSON.stringify(value).slice(0, 40);

/** Every inconsistency of the record, as "<field> ..." lines (empty when consistent). */
export function recordInconsistencies(record: RunRecord): string[] {
  const problems: string[] = [];
  const timestamp = (field: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const ms = parseTimestamp(value);
    if (ms === undefined) problems.push(`${field} must be an RFC 3339 timestamp such as 2026-08-21T10:00:00Z (got ${shown(value)})`);
    return ms;
  };
  timestamp('createdAt', record.createdAt);
  timestamp('updatedAt', record.updatedAt);
  let firstCold: number | undefined;
  record.runs.forEach((run, i) => {
    const at = `runs[${i}] (BuildRun ${run.buildRunName})`;
    const start = timestamp(`${at}.startTime`, run.startTime);
    const end = timestamp(`${at}.completionTime`, run.completionTime);
    if (start !== undefined && end !== undefined && end < start) {
      problems.push(`${at}.completionTime ${run.completionTime} is before its startTime ${run.startTime}`);
    }
    // A phase is part of the BuildRun: never longer than its total (both have one-second
    // resolution, from different objects, hence the small slack).
    if (typeof run.totalSeconds === 'number') {
      for (const [phase, secs] of Object.entries(run.phases ?? {})) {
        if (typeof secs === 'number' && secs > run.totalSeconds + PHASE_SLACK_SECONDS) {
          problems.push(`${at}.phases.${phase} ${secs} s is longer than the whole BuildRun (totalSeconds ${run.totalSeconds})`);
        }
      }
    }
    if (typeof run.cacheHits === 'number' && typeof run.cacheableSteps === 'number' && run.cacheHits > run.cacheableSteps) {
      problems.push(`${at}.cacheHits ${run.cacheHits} is more than its cacheableSteps ${run.cacheableSteps}`);
    }
    if (run.kind === 'cold') {
      if (firstCold === undefined) firstCold = i;
      else if (!run.cacheReset) problems.push(`${at}.kind is a second cold run (the first is runs[${firstCold}]) without cacheReset: a sequence has one cold run, later ones only after a cache reset`);
    }
  });
  return problems;
}

/**
 * Refuses (usage error, exit 2) a record whose fields are well-typed but
 * inconsistent; `source` (e.g. "record file r.json") starts the message.
 */
export function checkRecordConsistency(record: RunRecord, source: string): RunRecord {
  const problems = recordInconsistencies(record);
  if (problems.length) {
    const more = problems.length > MAX_LISTED_PROBLEMS ? ` (+${problems.length - MAX_LISTED_PROBLEMS} more)` : '';
    throw usageError(
      `${source} is not a consistent run record: ${problems.slice(0, MAX_LISTED_PROBLEMS).join('; ')}${more}`,
      'pass the JSON file written by `shipwright-cache run` (--record <path>), or correct the fields named',
    );
  }
  return record;
}
