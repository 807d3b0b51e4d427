import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, ExitCode } from '../../scripts/lib/errors.js';
import { readRecord, validateRecord, writeRecord } from '../../scripts/lib/record-io.js';
import { fixturePath, loadRecord } from '../fixtures/records/load.js';

const dir = mkdtempSync(join(tmpdir(), 'swc-record-io-'));
const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** Asserts that `promise` rejects with a usage CliError whose message matches. */
async function rejectsUsage(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CliError, `a CliError, got ${String(err)}`);
    assert.is(err.exitCode, ExitCode.usage);
    assert.match(err.message, message);
    return;
  }
  assert.unreachable('should have rejected');
}

test('readRecord reads and validates the fixtures', async () => {
  const record = await readRecord(fixturePath('pass-buildah'));
  assert.is(record.runs.length, 5);
  assert.is(record.cache?.pvc, 'shipwright-cache');
});

test('readRecord: missing file, not JSON, other tool, other schemaVersion, no runs', async () => {
  const valid = loadRecord('pass-buildah');
  await rejectsUsage(readRecord(join(dir, 'nope.json')), /^record file .*nope\.json does not exist$/);
  await rejectsUsage(readRecord(file('bad.json', '{"runs": [')), /^record file .*bad\.json is not valid JSON: /);
  await rejectsUsage(readRecord(file('tool.json', JSON.stringify({ ...valid, tool: 'other' }))), /tool\.json is not a shipwright-cache run record \(tool: "other"\)/);
  await rejectsUsage(readRecord(file('v2.json', JSON.stringify({ ...valid, schemaVersion: 2 }))), /v2\.json has record schemaVersion 2; this shipwright-cache reads schemaVersion 1/);
  await rejectsUsage(readRecord(file('empty.json', JSON.stringify({ ...valid, runs: [] }))), /^record file .*empty\.json has no runs$/);
  await rejectsUsage(readRecord(dir), /^cannot read record file /);
});

test('validateRecord names each invalid field with its path and value', () => {
  const record = JSON.parse(JSON.stringify(loadRecord('pass-buildah')));
  record.runs[1].outcome = 'Done';
  record.runs[2].phases.build = -1;
  record.runs[3].index = 2;
  delete record.namespace;
  assert.throws(
    () => validateRecord(record, 'r.json'),
    (err: unknown) =>
      err instanceof CliError &&
      err.message ===
        'r.json is not a valid run record: namespace must be a namespace name (missing); runs[1].outcome must be one of Succeeded, Failed, TimedOut, Canceled, Interrupted (got "Done"); runs[2].phases.build must be seconds >= 0 (got -1); runs[3].index 2 repeats runs[2].index',
  );
});

test('validateRecord lists at most five problems', () => {
  const record = JSON.parse(JSON.stringify(loadRecord('pass-buildah')));
  for (const run of record.runs) run.kind = 'hot';
  record.runs[0].cacheHits = 1.5;
  assert.throws(() => validateRecord(record, 'r.json'), /runs\[3\]\.kind must be one of cold, warm, baseline \(got "hot"\) \(\+1 more\)$/);
});

test('validateRecord rejects a non-object', () => {
  assert.throws(() => validateRecord([1], 'r.json'), /^r\.json is not a run record: expected a JSON object$/);
});

test('writeRecord writes atomically and the record reads back', async () => {
  const record = loadRecord('cache-never-used');
  const path = join(dir, 'sub', 'record.json');
  await writeRecord(path, record);
  await writeRecord(path, { ...record, updatedAt: '2026-08-21T11:00:00Z' });
  assert.equal(await readRecord(path), { ...record, updatedAt: '2026-08-21T11:00:00Z' });
  assert.ok(readFileSync(path, 'utf8').endsWith('}\n'));
  assert.equal(readdirSync(join(dir, 'sub')), ['record.json'], 'no temp file left behind');
});

test('writeRecord refuses a record that would not read back', async () => {
  const record = loadRecord('pass-buildah');
  record.runs[0].phases.build = Number.NaN;
  try {
    await writeRecord(join(dir, 'nan.json'), record);
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.not.instance(err, CliError);
    assert.match((err as Error).message, /refusing to write an invalid run record .*runs\[0\]\.phases\.build must be seconds >= 0 \(got NaN\)/);
  }
  assert.not.ok(readdirSync(dir).includes('nan.json'));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
