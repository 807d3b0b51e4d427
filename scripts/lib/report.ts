// Text renderers of a run record and its gate result: the terminal table, the
// Markdown report and the machine JSON report. Pure functions of their inputs.
// The SVG chart is in report-svg.ts, the Tekton results in tekton-results.ts.
import { formatSeconds, formatSpeedup, metricLabel, oneLine, type GateResult } from './gate.js';
import type { Phases, RunEntry, RunRecord } from './record.js';

/** The phases in the order they happen in a BuildRun. */
export const PHASE_ORDER = ['setup', 'source', 'build', 'push'] as const satisfies readonly (keyof Phases)[];

/** Widest BuildRun name shown in the table and the chart; longer names lose their middle. */
export const MAX_NAME_CHARS = 40;

/** The CLI's one-line verdict: `PASS: <reason>` or `FAIL: <reason>`. */
export function verdictLine(gate: GateResult): string {
  return `${gate.passed ? 'PASS' : 'FAIL'}: ${gate.reason}`;
}

/** Shortens text to `max` characters (code points) by replacing its middle with `…`, keeping the distinctive suffix of generated names. */
export function truncateMiddle(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return `${chars.slice(0, head).join('')}…${tail ? chars.slice(-tail).join('') : ''}`;
}

/** Seconds with one decimal, `-` when unknown. */
const cell = (seconds: number | null | undefined): string => (seconds === null || seconds === undefined ? '-' : seconds.toFixed(1));

/** Cache hits of a run: `6`, `6/6` when cacheable steps are known, `-` when not reported. */
function hitsCell(run: RunEntry): string {
  if (run.cacheHits === null) return '-';
  return run.cacheableSteps === undefined || run.cacheableSteps === null ? String(run.cacheHits) : `${run.cacheHits}/${run.cacheableSteps}`;
}

/** Kind as shown: `cold (reset)` for a warm-kind run after a cache reset. */
const kindCell = (run: RunEntry): string => (run.cacheReset && run.kind !== 'cold' ? `${run.kind} (reset)` : run.kind);

interface Column {
  header: string;
  numeric: boolean;
  value: (run: RunEntry) => string;
}

const RUN_COLUMNS: Column[] = [
  { header: '#', numeric: true, value: (r) => String(r.index) },
  { header: 'kind', numeric: false, value: kindCell },
  { header: 'buildrun', numeric: false, value: (r) => truncateMiddle(oneLine(r.buildRunName), MAX_NAME_CHARS) },
  { header: 'outcome', numeric: false, value: (r) => r.outcome },
  ...PHASE_ORDER.map((phase): Column => ({ header: phase, numeric: true, value: (r) => cell(r.phases[phase]) })),
  { header: 'total', numeric: true, value: (r) => cell(r.totalSeconds) },
  { header: 'hits', numeric: true, value: hitsCell },
];

const sortedRuns = (record: RunRecord): RunEntry[] => [...record.runs].sort((a, b) => a.index - b.index);

/**
 * Most runs the table, the Markdown report and the SVG show one by one: a
 * hand-made 100,000-run record would otherwise make a 100 MB chart. The
 * summary, the gate and report.json still cover every run.
 */
export const MAX_DRAWN_RUNS = 200;

/** The first MAX_DRAWN_RUNS runs by index, and how many are left out. */
export function drawnRuns(record: RunRecord, max = MAX_DRAWN_RUNS): { runs: RunEntry[]; notDrawn: number } {
  const runs = sortedRuns(record);
  return { runs: runs.slice(0, max), notDrawn: Math.max(0, runs.length - max) };
}

/** `12 more runs not drawn (the summary covers all 212)`. */
export function notDrawnNote(notDrawn: number, total: number, verb = 'drawn'): string {
  return `${notDrawn} more run${notDrawn === 1 ? '' : 's'} not ${verb} (the summary covers all ${total})`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The summary as [label, value] lines, shared by the table and the Markdown report. */
export function summaryLines(gate: GateResult): [string, string][] {
  const label = metricLabel(gate.metric);
  const lines: [string, string][] = [];
  const cold = gate.coldRun;
  lines.push(['Metric', label]);
  lines.push([
    'Cold',
    !cold ? 'no Succeeded cold run' : `${gate.coldSeconds === null ? 'not measured' : formatSeconds(gate.coldSeconds)} (run #${cold.index}, ${oneLine(cold.buildRunName)})`,
  ]);
  const spread = gate.warmSpread;
  lines.push([
    'Warm median',
    gate.warmMedianSeconds === null || !spread
      ? gate.warmCount === 0
        ? 'no Succeeded warm run'
        : 'not measured'
      : `${formatSeconds(gate.warmMedianSeconds)} over ${plural(gate.warmCount, 'run')} (min ${formatSeconds(spread.min)}, max ${formatSeconds(spread.max)}, stdev ${spread.stdev.toFixed(2)}s, CV ${(spread.cv * 100).toFixed(0)}%)`,
  ]);
  lines.push(['Speedup', `${gate.speedup === null ? 'not computed' : formatSpeedup(gate.speedup, gate.minSpeedup)} (threshold ${gate.minSpeedup}x)`]);
  const t = gate.totals;
  if (t.coldSeconds !== null || t.warmMedianSeconds !== null) {
    const coldText = t.coldSeconds === null ? 'unknown' : formatSeconds(t.coldSeconds);
    const warmText = t.warmMedianSeconds === null ? 'unknown' : formatSeconds(t.warmMedianSeconds);
    lines.push(['Total BuildRun time', `${coldText} cold vs ${warmText} warm median${t.speedup === null ? '' : ` = ${formatSpeedup(t.speedup)}`}`]);
  }
  const b = gate.baseline;
  if (b) {
    lines.push([
      'No-cache baseline',
      b.medianSeconds === null
        ? `no Succeeded baseline run with the ${label} measured`
        : `${formatSeconds(b.medianSeconds)} median over ${plural(b.count, 'run')}${b.speedupVsWarm === null ? '' : `; cache speedup vs no cache = ${formatSpeedup(b.speedupVsWarm)}`}`,
    ]);
  }
  const h = gate.cacheHits;
  const coldHits = h.cold === null ? '' : `; cold run: ${plural(h.cold, 'hit')}`;
  lines.push([
    'Cache hits',
    gate.warmCount === 0
      ? `no Succeeded warm run${coldHits}`
      : h.warmReporting === 0
      ? `not reported by the warm runs' build logs${coldHits}`
      : `${h.warmWithHits} of ${h.warmReporting} warm runs hit the cache (${plural(h.warmHits, 'hit')})${coldHits}`,
  ]);
  lines.push(['Verdict', verdictLine(gate)]);
  return lines;
}

/** `ns/build · strategy name (Kind, profile) · cache PVC pvc (class, modes, size) as volume v` */
export function recordSubtitle(record: RunRecord): string {
  const parts = [`${record.namespace}/${record.build}`];
  const s = record.strategy;
  if (s) parts.push(`strategy ${s.name} (${[s.kind, s.profile].filter(Boolean).join(', ')})`);
  const c = record.cache;
  if (c) {
    const details = [c.storageClass, c.accessModes?.join(','), c.size].filter(Boolean).join(', ');
    parts.push(`cache PVC ${c.pvc}${details ? ` (${details})` : ''} as volume ${c.volume}`);
  }
  return oneLine(parts.join(' · '));
}

/** A fixed-width terminal table: one row per run, failure details, then the summary and the verdict. */
export function renderTable(record: RunRecord, gate: GateResult): string {
  const { runs, notDrawn } = drawnRuns(record);
  const rows = [RUN_COLUMNS.map((c) => c.header), ...runs.map((r) => RUN_COLUMNS.map((c) => c.value(r)))];
  // Loops, not Math.max(...)/push(...) spreads: a hand-made record may hold more runs than a call has arguments.
  const widths = RUN_COLUMNS.map((_, i) => rows.reduce((w, row) => Math.max(w, Array.from(row[i]).length), 0));
  const pad = (text: string, i: number): string => {
    const fill = ' '.repeat(widths[i] - Array.from(text).length);
    return RUN_COLUMNS[i].numeric ? fill + text : text + fill;
  };
  const out = [recordSubtitle(record), ''];
  for (const row of rows) out.push(row.map(pad).join('  ').trimEnd());
  if (notDrawn) out.push(`  ... ${notDrawnNote(notDrawn, record.runs.length, 'listed')}`);
  for (const r of runs.filter((run) => run.outcome !== 'Succeeded')) {
    const why = [r.reason, r.message].filter((s): s is string => Boolean(s)).map(oneLine).join(': ');
    out.push(`  run #${r.index} ${r.outcome}${why ? `: ${why}` : ''}`);
  }
  if (record.interrupted) out.push('  the run sequence was interrupted before it finished');
  out.push('');
  const summary = summaryLines(gate);
  const labelWidth = Math.max(...summary.map(([label]) => label.length)) + 1;
  out.push(...summary.map(([label, value]) => `${`${label}:`.padEnd(labelWidth)}  ${oneLine(value)}`));
  return out.join('\n') + '\n';
}

/**
 * Escapes text for the middle of a Markdown line or a table cell: one line, with
 * the characters that start emphasis, code, links, HTML, entities or cells
 * backslash-escaped. (Line-start syntax such as `#` or `>` needs no escape: the
 * report never starts a line with escaped text.)
 */
export function markdownText(text: string): string {
  return oneLine(text).replace(/[\\`*_[\]<|~&]/g, (c) => `\\${c}`);
}

const mdRow = (cells: string[]): string => `| ${cells.join(' | ')} |`;

/** A Markdown report: title, verdict, summary, per-run table, what the gate measured, cache set-up. */
export function renderMarkdown(record: RunRecord, gate: GateResult): string {
  const label = metricLabel(gate.metric);
  const out: string[] = [];
  out.push(`# Build cache report: ${markdownText(`${record.namespace}/${record.build}`)}`, '');
  out.push(`**${gate.passed ? 'PASS' : 'FAIL'}**: ${markdownText(gate.reason)}`, '');

  out.push('## Summary', '', mdRow(['Item', 'Value']), mdRow(['---', '---']));
  for (const [name, value] of summaryLines(gate).filter(([name]) => name !== 'Verdict')) out.push(mdRow([name, markdownText(value)]));
  out.push('');

  out.push('## Runs', '', 'Seconds per phase; `-` means not measured. Hits: cache hits in the build log (hits/cacheable steps when known).', '');
  out.push(mdRow(RUN_COLUMNS.map((c) => c.header)), mdRow(RUN_COLUMNS.map((c) => (c.numeric ? '---:' : '---'))));
  const { runs, notDrawn } = drawnRuns(record);
  for (const r of runs) out.push(mdRow(RUN_COLUMNS.map((c) => markdownText(c.value(r)))));
  if (notDrawn) out.push('', `_${notDrawnNote(notDrawn, record.runs.length, 'listed')}; report.json has them all._`);
  const failed = runs.filter((r) => r.outcome !== 'Succeeded');
  if (failed.length) {
    out.push('', 'Runs that did not succeed:', '');
    for (const r of failed) {
      const why = [r.reason, r.message].filter((s): s is string => Boolean(s)).join(': ');
      out.push(`- run #${r.index} ${markdownText(r.buildRunName)}: ${markdownText(r.outcome)}${why ? `: ${markdownText(why)}` : ''}`);
    }
  }
  if (record.interrupted) out.push('', '**The run sequence was interrupted before it finished.**');
  out.push('');

  out.push('## What the gate measured', '');
  out.push(
    `- **Metric: ${label}.** ${
      gate.metric === 'build'
        ? "The duration of the strategy's build step(s), from the TaskRun step states (finishedAt - startedAt): the work the cache can speed up."
        : 'BuildRun completionTime - startTime: it also counts scheduling, volume binding, step-image pulls, source and push, which the cache does not speed up.'
    }`,
    '- **Cold** is the first Succeeded cold run (or a run after a cache reset); **warm** are the Succeeded warm runs; **baseline** runs mount no cache (A/B comparison).',
    `- **Speedup** = cold / median(warm). The gate passes when it is at least the threshold ${gate.minSpeedup}x (equal passes), with at least ${plural(gate.minWarmRuns, 'warm run')}${gate.requireCacheHits ? ' and cache hits in every warm build log' : ''}, and fails if any run did not succeed.`,
    '- Total BuildRun times are always shown: the first run on a node also pays for pulling the step images, cache or not.',
    "- Cache hits are counted from the build tool's log markers (buildah: `--> Using cache`).",
    '',
  );

  out.push('## Cache set-up', '');
  out.push(`- Namespace: ${markdownText(record.namespace)}; Build: ${markdownText(record.build)}`);
  const s = record.strategy;
  out.push(`- Strategy: ${s ? `${markdownText(s.name)} (${s.kind}${s.profile ? `, profile ${markdownText(s.profile)}` : ''})` : 'not recorded'}`);
  const c = record.cache;
  out.push(
    c
      ? `- Cache PVC: ${markdownText(c.pvc)} mounted as volume ${markdownText(c.volume)}; storage class ${markdownText(c.storageClass ?? 'default')}; access modes ${markdownText(c.accessModes?.join(', ') ?? 'not recorded')}; size ${markdownText(c.size ?? 'not recorded')}`
      : '- Cache PVC: not recorded',
  );
  out.push(`- Recorded: ${markdownText(record.createdAt)}${record.updatedAt ? `, updated ${markdownText(record.updatedAt)}` : ''}`);
  return out.join('\n') + '\n';
}

/** The machine-readable report: the record and the gate result, as written to report.json and printed by `--output json`. */
export interface MachineReport {
  record: RunRecord;
  gate: GateResult;
}

/** The full machine report object (record + gate). */
export function renderJson(record: RunRecord, gate: GateResult): MachineReport {
  return { record, gate };
}
