// `report`: renders a run record and its gate verdict as a terminal table and
// writes report.md, report.json and report.svg. It reports; it does not gate:
// the exit code is 0 whatever the verdict (use `gate` for that).
import { dirname, join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../lib/common-options.js';
import { usageError } from '../lib/errors.js';
import { evaluateGate, type GateResult } from '../lib/gate.js';
import { emit, progress, setQuiet } from '../lib/log.js';
import { checkRecordConsistency } from '../lib/record-check.js';
import { readRecord, writeFileAtomic } from '../lib/record-io.js';
import { renderJson, renderMarkdown, renderTable, type MachineReport } from '../lib/report.js';
import type { RunRecord } from '../lib/record.js';
import { renderSvg } from '../lib/report-svg.js';
import { gateOptionsFrom, withGateOptions, type GateArgs } from './gate.js';

interface ReportArgs extends GateArgs {
  'out-dir'?: string;
}

/** The report files, by format. */
export interface ReportFiles {
  markdown: string;
  json: string;
  svg: string;
}

export const reportCommand: CommandModule<GlobalArgs, ReportArgs> = {
  command: 'report',
  describe: 'Print a run record as a table and write report.md, report.json and report.svg',
  builder: (y: Argv<GlobalArgs>) =>
    withGateOptions(y).option('out-dir', {
      type: 'string',
      describe: 'Directory for the report files (default: the directory of the record)',
    }) as unknown as Argv<ReportArgs>,
  handler: async (argv) => {
    setQuiet(argv.quiet);
    const opts = gateOptionsFrom(argv);
    const record = checkRecordConsistency(await readRecord(argv.record), `record file ${argv.record}`);
    const gate = evaluateGate(record, opts);
    const { report, files } = await writeReports(record, gate, argv['out-dir'] ?? dirname(argv.record), argv.record);
    emit(argv.output, { ...report, files }, `${renderTable(record, gate)}\nReport files:\n${Object.values(files).map((f) => `  ${f}`).join('\n')}`);
  },
};

/** Writes report.md, report.json and report.svg into outDir (atomically each). */
export async function writeReports(record: RunRecord, gate: GateResult, outDir: string, recordPath?: string): Promise<{ report: MachineReport; files: ReportFiles }> {
  const files: ReportFiles = { markdown: join(outDir, 'report.md'), json: join(outDir, 'report.json'), svg: join(outDir, 'report.svg') };
  if (recordPath && Object.values(files).some((f) => resolve(f) === resolve(recordPath))) {
    throw usageError(`the report would overwrite its own record ${recordPath}`, 'name the record something else than report.md/json/svg, or pass another --out-dir');
  }
  const report = renderJson(record, gate);
  try {
    await writeFileAtomic(files.markdown, renderMarkdown(record, gate));
    await writeFileAtomic(files.json, JSON.stringify(report, null, 2) + '\n');
    await writeFileAtomic(files.svg, renderSvg(record, gate));
  } catch (err) {
    throw usageError(`cannot write the report into ${outDir}: ${(err as Error).message}`, 'pass a writable directory with --out-dir');
  }
  progress('report', `wrote ${Object.values(files).join(', ')}`);
  return { report, files };
}
