// A standalone SVG chart of a run record: one horizontal bar per run with its
// phases stacked, a pass-limit marker on the warm runs, seconds axis, legend and
// the verdict in the title. No external resources; all text is XML-escaped.
import { formatSeconds, formatSpeedup, metricLabel, oneLine, type GateResult } from './gate.js';
import type { RunEntry, RunKind, RunRecord } from './record.js';
import { MAX_NAME_CHARS, PHASE_ORDER, drawnRuns, notDrawnNote, recordSubtitle, truncateMiddle, verdictLine } from './report.js';

/** Chart width in px; the height follows from the number of runs. */
export const SVG_WIDTH = 800;

/** Average character width as a share of the font size (wide sans fonts such as DejaVu Sans), to fit labels into their space. */
const CHAR_EM = 0.6;
/** How many characters of `fontSize` px text fit into `width` px. */
const fitChars = (width: number, fontSize: number, bold = false): number => Math.floor(width / (fontSize * CHAR_EM * (bold ? 1.08 : 1)));
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';
const TEXT = '#1f2328';
const MUTED = '#59636e';
const PASS_COLOUR = '#1a7f37';
const FAIL_COLOUR = '#cf222e';

/** Okabe-Ito colours (distinguishable with colour-vision deficiencies), with the text colour that contrasts on each. */
const SEGMENTS = {
  setup: { fill: '#E69F00', ink: '#000000', label: 'setup' },
  source: { fill: '#56B4E9', ink: '#000000', label: 'source' },
  build: { fill: '#0072B2', ink: '#ffffff', label: 'build' },
  push: { fill: '#009E73', ink: '#000000', label: 'push' },
  other: { fill: '#c8c8c8', ink: '#000000', label: 'other (unattributed)' },
} as const;
type SegmentName = keyof typeof SEGMENTS;

const LAYOUT = {
  margin: 16,
  plotLeft: 290,
  plotRight: 690,
  rowHeight: 30,
  barHeight: 18,
  titleY: 30,
  subtitleY: 52,
  lineHeight: 17,
  maxFooterLines: 4,
};

const KIND_BADGE: Record<RunKind, { fill: string; ink: string; dash?: string }> = {
  cold: { fill: '#2d333b', ink: '#ffffff' },
  warm: { fill: '#ffffff', ink: '#2d333b' },
  baseline: { fill: '#ffffff', ink: '#2d333b', dash: '3 2' },
};

/** Characters XML 1.0 forbids even escaped (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/FFFF). */
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Escapes text for XML character data and attribute values, dropping characters XML cannot carry. */
export function escapeXml(text: string): string {
  return text
    .replace(XML_INVALID, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Rounds a coordinate to 0.1 px. */
const px = (n: number): string => String(Math.round(n * 10) / 10);

function text(x: number, y: number, content: string, attrs: Record<string, string | number> = {}): string {
  const extra = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
  return `<text x="${px(x)}" y="${px(y)}"${extra}>${escapeXml(content)}</text>`;
}

/** A tick step of 1, 2 or 5 × 10^k giving at most ~6 ticks up to `max`. */
function niceStep(max: number): number {
  const rough = max / 6;
  const power = 10 ** Math.floor(Math.log10(rough));
  return ([1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) ?? 10 * power);
}

/** Greedy word wrap into at most `maxLines` lines of `width` characters; the last line ends in `…` if text was cut. */
export function wrapText(content: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of oneLine(content).split(' ')) {
    const candidate = line ? `${line} ${word}` : word;
    if (Array.from(candidate).length <= width || !line) line = candidate;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  const kept = lines.slice(0, maxLines).map((l) => truncateMiddle(l, width));
  if (lines.length > maxLines) kept[maxLines - 1] = `${Array.from(kept[maxLines - 1]).slice(0, width - 1).join('')}…`;
  return kept;
}

/** The stacked segments of a run, in time order: measured phases, then the rest of the total as "other". */
function segmentsOf(run: RunEntry): { name: SegmentName; seconds: number }[] {
  const parts: { name: SegmentName; seconds: number }[] = PHASE_ORDER.filter((p) => (run.phases[p] ?? 0) > 0).map((p) => ({
    name: p,
    seconds: run.phases[p] as number,
  }));
  const measured = parts.reduce((sum, p) => sum + p.seconds, 0);
  if (run.totalSeconds !== null && run.totalSeconds - measured >= 0.05) parts.push({ name: 'other', seconds: run.totalSeconds - measured });
  return parts;
}

const barSeconds = (run: RunEntry): number => segmentsOf(run).reduce((sum, s) => sum + s.seconds, 0);

function headline(gate: GateResult): string {
  const label = metricLabel(gate.metric);
  if (gate.speedup === null || gate.coldSeconds === null || gate.warmMedianSeconds === null) {
    return `Speedup (${label}): not computed; threshold ${gate.minSpeedup}x`;
  }
  return `Speedup (${label}): ${formatSeconds(gate.coldSeconds)} cold ÷ ${formatSeconds(gate.warmMedianSeconds)} warm median = ${formatSpeedup(gate.speedup, gate.minSpeedup)}; threshold ${gate.minSpeedup}x`;
}

function title(gate: GateResult): string {
  const verdict = gate.passed ? 'PASS' : 'FAIL';
  if (gate.speedup === null) return `${verdict}: build cache gate, no speedup measured`;
  const met = gate.speedup >= gate.minSpeedup;
  const speedup = `${metricLabel(gate.metric)} speedup ${formatSpeedup(gate.speedup, gate.minSpeedup)} ${met ? '≥' : '<'} ${gate.minSpeedup}x`;
  return `${verdict}: ${speedup}${!gate.passed && met ? ', another check failed' : ''}`;
}

/** Dashed marker line with a white halo, visible on every segment colour: where a warm run's metric must end to pass. */
function limitMarker(x: number, y1: number, y2: number): string {
  const coords = `x1="${px(x)}" y1="${px(y1)}" x2="${px(x)}" y2="${px(y2)}"`;
  return `<line ${coords} stroke="#ffffff" stroke-width="4"/><line ${coords} stroke="${TEXT}" stroke-width="2" stroke-dasharray="3 2"/>`;
}

/** Phase colours, then the pass-limit marker when `limitLabel` is given. */
function legend(y: number, limitLabel: string | null): string {
  const items: string[] = [];
  let x = LAYOUT.margin;
  for (const seg of Object.values(SEGMENTS)) {
    items.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" rx="2" fill="${seg.fill}"/>`);
    items.push(text(x + 17, y, seg.label, { 'font-size': 12, fill: TEXT }));
    x += 17 + seg.label.length * 12 * CHAR_EM + 16;
  }
  if (limitLabel) {
    items.push(limitMarker(x + 2, y - 12, y + 3));
    items.push(text(x + 9, y, truncateMiddle(limitLabel, fitChars(SVG_WIDTH - LAYOUT.margin - (x + 9), 12)), { 'font-size': 12, fill: TEXT }));
  }
  return `<g>${items.join('')}</g>`;
}

/**
 * A standalone SVG chart of the record: bars per run with stacked phases,
 * run kinds as labelled badges, seconds axis, legend, the speedup and the
 * verdict. `SVG_WIDTH` px wide; valid XML whatever the names and messages.
 */
export function renderSvg(record: RunRecord, gate: GateResult): string {
  const { runs, notDrawn } = drawnRuns(record);
  const { margin, plotLeft, plotRight, rowHeight, barHeight, lineHeight } = LAYOUT;
  const lineChars = fitChars(SVG_WIDTH - 2 * margin, 12);
  const subtitle = wrapText(recordSubtitle(record), lineChars, 2);
  const headlineY = LAYOUT.subtitleY + subtitle.length * lineHeight + 6;
  const legendY = headlineY + 24;
  const firstRowY = legendY + 24;
  const limit = gate.coldSeconds === null ? null : gate.coldSeconds / gate.minSpeedup;

  /** Where, in seconds from the bar's start, the warm run's metric must end to pass; null when not drawable. */
  const limitAt = (run: RunEntry): number | null => {
    if (limit === null || run.kind !== 'warm' || run.cacheReset || run.outcome !== 'Succeeded') return null;
    if (gate.metric === 'total') return limit;
    if (run.phases.build === undefined) return null;
    return (run.phases.setup ?? 0) + (run.phases.source ?? 0) + limit;
  };

  // A loop, not Math.max(...runs): spreading a huge record overflows the call stack.
  const maxSeconds = runs.reduce((m, r) => Math.max(m, barSeconds(r), limitAt(r) ?? 0), 1);
  const step = niceStep(maxSeconds);
  const axisMax = Math.ceil(maxSeconds / step) * step;
  const scale = (seconds: number): number => ((plotRight - plotLeft) * seconds) / axisMax;

  const rowsBottom = firstRowY + runs.length * rowHeight;
  const axisY = rowsBottom + 4;
  const why = gate.passed ? [] : wrapText(`Why: ${gate.reason}`, lineChars, LAYOUT.maxFooterLines);
  const footer = [...why, ...footerFacts(gate), ...(notDrawn ? [notDrawnNote(notDrawn, record.runs.length)] : [])];
  const footerY = axisY + 52;
  const height = footerY + footer.length * lineHeight + margin;
  const verdictColour = gate.passed ? PASS_COLOUR : FAIL_COLOUR;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${height}" viewBox="0 0 ${SVG_WIDTH} ${height}" role="img" aria-labelledby="chart-title chart-desc" font-family="${escapeXml(FONT)}">`,
    `<title id="chart-title">${escapeXml(title(gate))}</title>`,
    `<desc id="chart-desc">${escapeXml(`${recordSubtitle(record)}. ${verdictLine(gate)}`)}</desc>`,
    `<rect x="0" y="0" width="${SVG_WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(margin, LAYOUT.titleY, truncateMiddle(title(gate), fitChars(SVG_WIDTH - 2 * margin, 18, true)), { 'font-size': 18, 'font-weight': 700, fill: verdictColour }),
    ...subtitle.map((line, i) => text(margin, LAYOUT.subtitleY + i * lineHeight, line, { 'font-size': 12, fill: MUTED })),
    text(margin, headlineY, headline(gate), { 'font-size': 13, fill: TEXT }),
    legend(legendY, runs.some((r) => limitAt(r) !== null) ? `pass limit (cold ÷ ${gate.minSpeedup})` : null),
  );

  // Grid and axis.
  const grid: string[] = [];
  for (let s = 0; s <= axisMax + step / 1000; s += step) {
    const x = plotLeft + scale(s);
    grid.push(`<line x1="${px(x)}" y1="${firstRowY - 6}" x2="${px(x)}" y2="${axisY}" stroke="#d0d7de" stroke-width="1"/>`);
    grid.push(text(x, axisY + 16, String(Math.round(s * 1000) / 1000), { 'font-size': 11, fill: MUTED, 'text-anchor': 'middle' }));
  }
  grid.push(`<line x1="${plotLeft}" y1="${axisY}" x2="${plotRight}" y2="${axisY}" stroke="${MUTED}" stroke-width="1"/>`);
  grid.push(text((plotLeft + plotRight) / 2, axisY + 34, 'seconds', { 'font-size': 12, fill: MUTED, 'text-anchor': 'middle' }));
  parts.push(`<g>${grid.join('')}</g>`);

  runs.forEach((run, i) => parts.push(renderRow(run, firstRowY + i * rowHeight, barHeight, scale, limitAt(run), gate)));

  footer.forEach((line, i) => parts.push(text(margin, footerY + i * lineHeight, line, { 'font-size': 12, fill: i < why.length ? FAIL_COLOUR : TEXT })));
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Totals, no-cache baseline and cache hits, one line each when known. */
function footerFacts(gate: GateResult): string[] {
  const facts: string[] = [];
  const t = gate.totals;
  if (t.coldSeconds !== null && t.warmMedianSeconds !== null && t.speedup !== null) {
    facts.push(`Total BuildRun time: ${formatSeconds(t.coldSeconds)} cold vs ${formatSeconds(t.warmMedianSeconds)} warm median = ${formatSpeedup(t.speedup)}`);
  }
  const b = gate.baseline;
  if (b && b.medianSeconds !== null) {
    facts.push(
      `No-cache baseline (${metricLabel(gate.metric)}): ${formatSeconds(b.medianSeconds)} median${b.speedupVsWarm === null ? '' : `; cache speedup vs no cache = ${formatSpeedup(b.speedupVsWarm)}`}`,
    );
  }
  const h = gate.cacheHits;
  if (h.warmReporting > 0) facts.push(`Cache hits: ${h.warmWithHits} of ${h.warmReporting} warm runs hit the cache (${h.warmHits} hits)`);
  return facts;
}

function renderRow(
  run: RunEntry,
  top: number,
  barHeight: number,
  scale: (s: number) => number,
  limitSeconds: number | null,
  gate: GateResult,
): string {
  const { margin, plotLeft } = LAYOUT;
  const barY = top + 4;
  const mid = barY + barHeight / 2 + 4;
  const badge = KIND_BADGE[run.kind];
  const kindText = run.cacheReset && run.kind !== 'cold' ? `${run.kind}*` : run.kind;
  const usedAsCold = gate.coldRun?.index === run.index;
  const out: string[] = [];
  const segments = segmentsOf(run);
  const tooltip = [
    `run #${run.index} ${run.kind} ${run.buildRunName}: ${run.outcome}${run.reason && run.outcome !== 'Succeeded' ? ` (${run.reason})` : ''}`,
    ...segments.map((s) => `${s.name} ${formatSeconds(s.seconds)}`),
    run.totalSeconds === null ? 'total unknown' : `total ${formatSeconds(run.totalSeconds)}`,
    run.cacheHits === null ? '' : `cache hits ${run.cacheHits}`,
  ]
    .filter(Boolean)
    .join(', ');
  out.push(`<g><title>${escapeXml(oneLine(tooltip))}</title>`);
  out.push(
    `<rect x="${margin}" y="${barY}" width="70" height="${barHeight}" rx="9" fill="${badge.fill}" stroke="#2d333b" stroke-width="1"${badge.dash ? ` stroke-dasharray="${badge.dash}"` : ''}/>`,
  );
  out.push(text(margin + 35, mid - 0.5, kindText, { 'font-size': 11, 'font-weight': 600, fill: badge.ink, 'text-anchor': 'middle' }));
  const prefix = `#${run.index} `;
  const nameChars = Math.min(MAX_NAME_CHARS, fitChars(plotLeft - 8 - (margin + 78), 12, usedAsCold) - prefix.length);
  out.push(text(margin + 78, mid, prefix + truncateMiddle(oneLine(run.buildRunName), nameChars), { 'font-size': 12, fill: TEXT, 'font-weight': usedAsCold ? 700 : 400 }));

  let x = plotLeft;
  for (const seg of segments) {
    const w = scale(seg.seconds);
    const style = SEGMENTS[seg.name];
    out.push(`<rect x="${px(x)}" y="${barY}" width="${px(Math.max(w, 0.5))}" height="${barHeight}" fill="${style.fill}"/>`);
    if (w >= 34) out.push(text(x + w / 2, mid - 0.5, seg.seconds.toFixed(1), { 'font-size': 10.5, fill: style.ink, 'text-anchor': 'middle' }));
    x += w;
  }
  let labelX = x + 6;
  if (limitSeconds !== null) {
    const lx = plotLeft + scale(limitSeconds);
    out.push(limitMarker(lx, barY - 3, barY + barHeight + 3));
    if (lx >= x - 2) labelX = Math.max(labelX, lx + 8);
  }
  const failed = run.outcome !== 'Succeeded';
  const shownSeconds = run.totalSeconds ?? (segments.length ? barSeconds(run) : null);
  const seconds = shownSeconds === null ? 'no timing' : formatSeconds(shownSeconds);
  // A failed run shows its reason when it fits, else just the outcome (the reason is in the tooltip and the footer).
  const candidates = failed ? [`${seconds} · ${run.outcome}${run.reason ? `: ${oneLine(run.reason)}` : ''}`, `${seconds} · ${run.outcome}`] : [seconds];
  const room = Math.max(8, fitChars(SVG_WIDTH - LAYOUT.margin - labelX, 12, failed));
  const end = candidates.find((c) => Array.from(c).length <= room) ?? candidates[candidates.length - 1];
  out.push(text(labelX, mid, truncateMiddle(end, room), { 'font-size': 12, fill: failed ? FAIL_COLOUR : TEXT, 'font-weight': failed ? 700 : 400 }));
  out.push('</g>');
  return out.join('');
}
