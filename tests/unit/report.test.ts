import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluateGate, type GateResult } from '../../scripts/lib/gate.js';
import type { RunRecord } from '../../scripts/lib/record.js';
import { escapeXml, renderSvg, wrapText } from '../../scripts/lib/report-svg.js';
import { markdownText, renderJson, renderMarkdown, renderTable, truncateMiddle, verdictLine } from '../../scripts/lib/report.js';
import {
  GATE_RESULTS_MAX_BYTES,
  TEKTON_RESULT_NAMES,
  TERMINATION_MESSAGE_BYTES,
  assertResultsFit,
  encodedResultsBytes,
  tektonResults,
} from '../../scripts/lib/tekton-results.js';
import { loadRecord, type FixtureName } from '../fixtures/records/load.js';

const FIXTURES: FixtureName[] = ['pass-buildah', 'cache-never-used', 'failed-volume-not-overridable'];
const HOSTILE_NAME = 'evil</text><script>alert("x")</script>&amp;|`*_[a](b)\u001b[31m\nname\u0000';

function evaluated(name: FixtureName): { record: RunRecord; gate: GateResult } {
  const record = loadRecord(name);
  return { record, gate: evaluateGate(record, { minSpeedup: 1.5, metric: 'build' }) };
}

/** The passing record with a run name and messages containing markup, control characters and separators. */
function hostile(): { record: RunRecord; gate: GateResult } {
  const record = loadRecord('pass-buildah');
  record.build = 'app & <co>';
  record.runs[1].buildRunName = HOSTILE_NAME;
  record.runs[4] = { ...record.runs[4], outcome: 'Failed', reason: 'Failed<&>', message: 'step "build" said: <error> & \u0007 exit 1\nmore' };
  return { record, gate: evaluateGate(record, { minSpeedup: 1.5, metric: 'build' }) };
}

/**
 * A tiny well-formedness checker for the SVG the renderer writes: every element
 * is closed in order, attribute values are quoted, text and attribute values
 * hold no raw `<` and only known entities after `&`, and there is one root.
 * Returns the problems found (empty when well-formed) and the root's attributes.
 */
function checkXml(xml: string): { problems: string[]; root: string | null; rootAttrs: Record<string, string> } {
  const problems: string[] = [];
  const stack: string[] = [];
  let root: string | null = null;
  let rootAttrs: Record<string, string> = {};
  let i = 0;
  const isNameChar = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '-' || c === ':' || c === '_';
  const checkText = (text: string, where: string) => {
    for (let k = 0; k < text.length; k++) {
      if (text[k] === '<') problems.push(`raw < in ${where}`);
      if (text[k] === '&') {
        const end = text.indexOf(';', k);
        const entity = end < 0 ? '' : text.slice(k + 1, end);
        const known = ['amp', 'lt', 'gt', 'quot', 'apos'].includes(entity) || (entity.startsWith('#') && entity.length > 1 && [...entity.slice(1)].every((c) => c >= '0' && c <= '9'));
        if (!known) problems.push(`raw & in ${where}: ${text.slice(k, k + 12)}`);
      }
      const code = text.charCodeAt(k);
      if (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) problems.push(`control character ${code} in ${where}`);
    }
  };
  const readName = () => {
    const start = i;
    while (i < xml.length && isNameChar(xml[i])) i++;
    return xml.slice(start, i);
  };
  const skipSpace = () => {
    while (i < xml.length && ' \n\t\r'.includes(xml[i])) i++;
  };
  while (i < xml.length) {
    if (xml[i] !== '<') {
      const next = xml.indexOf('<', i);
      const text = xml.slice(i, next < 0 ? xml.length : next);
      if (stack.length === 0 && text.trim()) problems.push(`text outside the root: ${text.trim().slice(0, 20)}`);
      checkText(text, `text of <${stack.at(-1) ?? ''}>`);
      i = next < 0 ? xml.length : next;
      continue;
    }
    if (xml.startsWith('</', i)) {
      i += 2;
      const name = readName();
      skipSpace();
      if (xml[i] !== '>') problems.push(`bad closing tag </${name}`);
      i++;
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
      continue;
    }
    i++;
    const name = readName();
    if (!name) {
      problems.push(`bad tag start at ${i}`);
      break;
    }
    const attrs: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (xml.startsWith('/>', i) || xml[i] === '>' || i >= xml.length) break;
      const attr = readName();
      if (!attr || xml[i] !== '=' || xml[i + 1] !== '"') {
        problems.push(`bad attribute in <${name}> at ${i}`);
        break;
      }
      const end = xml.indexOf('"', i + 2);
      const value = xml.slice(i + 2, end);
      if (attr in attrs) problems.push(`duplicate attribute ${attr} in <${name}>`);
      attrs[attr] = value;
      checkText(value, `attribute ${attr} of <${name}>`);
      i = end + 1;
    }
    if (stack.length === 0) {
      if (root !== null) problems.push(`second root <${name}>`);
      root = name;
      rootAttrs = attrs;
    }
    if (xml.startsWith('/>', i)) i += 2;
    else if (xml[i] === '>') {
      i++;
      stack.push(name);
    } else problems.push(`unterminated <${name}>`);
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`);
  return { problems, root, rootAttrs };
}

test('the XML checker itself catches broken markup', () => {
  assert.equal(checkXml('<svg><text>ok &amp; fine</text></svg>').problems, []);
  assert.ok(checkXml('<svg><text>x</svg>').problems.length > 0, 'mismatched close');
  assert.ok(checkXml('<svg><g>').problems.length > 0, 'unclosed');
  assert.ok(checkXml('<svg><text>a & b</text></svg>').problems.length > 0, 'raw &');
  assert.ok(checkXml('<svg><text a="<">x</text></svg>').problems.length > 0, 'raw < in attribute');
  assert.ok(checkXml('<svg/><svg/>').problems.length > 0, 'two roots');
});

test('SVG of every fixture is well-formed, 800 px wide, with a viewBox and no external resources', () => {
  for (const name of FIXTURES) {
    const { record, gate } = evaluated(name);
    const svg = renderSvg(record, gate);
    const { problems, root, rootAttrs } = checkXml(svg);
    assert.equal(problems, [], `${name}: ${problems.join('; ')}`);
    assert.is(root, 'svg');
    assert.is(rootAttrs.xmlns, 'http://www.w3.org/2000/svg');
    assert.is(rootAttrs.width, '800');
    assert.ok(Number(rootAttrs.height) > 100, `${name}: height ${rootAttrs.height}`);
    assert.is(rootAttrs.viewBox, `0 0 800 ${rootAttrs.height}`);
    assert.not.match(svg.replace(rootAttrs.xmlns, ''), /href|url\(|https?:|@import|<image|<script/i);
  }
});

test('SVG stays well-formed with markup, entities and control characters in names and messages', () => {
  const { record, gate } = hostile();
  const svg = renderSvg(record, gate);
  assert.equal(checkXml(svg).problems, []);
  assert.not.match(svg, /<script/);
  assert.match(svg, /app &amp; &lt;co&gt;/);
});

test('SVG: a bar group per run, the phases legend, kinds, verdict and speedup', () => {
  const { record, gate } = evaluated('pass-buildah');
  const svg = renderSvg(record, gate);
  assert.is(svg.split('<g><title>').length - 1, record.runs.length);
  for (const label of ['setup', 'source', 'build', 'push', 'cold', 'warm', 'baseline', 'seconds']) assert.ok(svg.includes(`>${label}<`), label);
  assert.match(svg, /<title id="chart-title">PASS: build step speedup 20\.00x ≥ 1\.5x<\/title>/);
  assert.ok(svg.includes('pass limit (cold ÷ 1.5)'));
  const failed = evaluated('cache-never-used');
  assert.match(renderSvg(failed.record, failed.gate), />FAIL: build step speedup 1\.01x &lt; 1\.5x</);
});

test('escapeXml escapes markup and drops characters XML cannot carry', () => {
  assert.is(escapeXml(`<a href="x">'&'</a>\u0000\u001b\ud800`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  assert.is(escapeXml('emoji 😀 stays'), 'emoji 😀 stays');
});

test('wrapText wraps at word boundaries and marks cut text', () => {
  assert.equal(wrapText('aa bb cc dd', 5, 3), ['aa bb', 'cc dd']);
  assert.equal(wrapText('aa bb cc dd ee ff', 5, 2), ['aa bb', 'cc d…']);
});

test('renderTable: a row per run with aligned columns, failure details and the summary', () => {
  const { record, gate } = evaluated('pass-buildah');
  const lines = renderTable(record, gate).split('\n');
  const header = lines.findIndex((l) => l.startsWith('#'));
  assert.match(lines[header], /^#\s+kind\s+buildrun\s+outcome\s+setup\s+source\s+build\s+push\s+total\s+hits$/);
  const rows = lines.slice(header + 1, header + 1 + record.runs.length);
  assert.match(rows[1], /^1\s+warm\s+sample-app-buildah-warm-p9d4m\s+Succeeded\s+3\.1\s+2\.4\s+0\.9\s+6\.3\s+13\.5\s+6\/6$/);
  assert.is(new Set([lines[header], ...rows].map((l) => l.length)).size, 1, 'right-aligned last column: equal line lengths');
  assert.ok(lines.includes('Speedup:              20.00x (threshold 1.5x)'));
  assert.ok(lines.includes('Verdict:              PASS: build step 20.0s cold vs 1.0s warm median = 20.00x >= 1.5x'));
  assert.ok(lines.includes('No-cache baseline:    19.4s median over 1 run; cache speedup vs no cache = 19.40x'));

  const failed = evaluated('failed-volume-not-overridable');
  const text = renderTable(failed.record, failed.gate);
  assert.match(text, /\n {2}run #0 Failed: VolumeNotOverridable: Volume "shp-buildah-container-storage" is not overridable in the Strategy\n/);
  assert.match(text, /\nVerdict: +FAIL: BuildRun sample-app-buildah-cold-w6n3p/);
});

test('renderTable strips terminal control characters from names and messages', () => {
  const { record, gate } = hostile();
  const text = renderTable(record, gate);
  assert.not.match(text, /[\u0000-\u0009\u000b-\u001f]/);
});

test('truncateMiddle keeps the distinctive suffix of generated names', () => {
  assert.is(truncateMiddle('sample-app-buildah-warm-p9d4m', 15), 'sample-…m-p9d4m');
  assert.is(truncateMiddle('short', 15), 'short');
});

test('renderMarkdown: title, verdict, summary, runs, notes and the cache set-up', () => {
  const { record, gate } = evaluated('pass-buildah');
  const md = renderMarkdown(record, gate);
  assert.ok(md.startsWith('# Build cache report: swc-e2e/sample-app-buildah\n\n**PASS**: build step 20.0s cold vs 1.0s warm median = 20.00x >= 1.5x\n'));
  for (const heading of ['## Summary', '## Runs', '## What the gate measured', '## Cache set-up']) assert.ok(md.includes(`\n${heading}\n`), heading);
  assert.ok(md.includes('| Speedup | 20.00x (threshold 1.5x) |'));
  assert.ok(md.includes('| 1 | warm | sample-app-buildah-warm-p9d4m | Succeeded | 3.1 | 2.4 | 0.9 | 6.3 | 13.5 | 6/6 |'));
  assert.ok(md.includes('- Cache PVC: shipwright-cache mounted as volume shp-buildah-container-storage; storage class standard; access modes ReadWriteOnce; size 3Gi'));
  assert.ok(md.includes('- Strategy: buildah-shipwright-managed-push (ClusterBuildStrategy, profile buildah)'));
});

test('renderMarkdown escapes cell separators and markup in names', () => {
  const { record, gate } = hostile();
  const md = renderMarkdown(record, gate);
  const row = md.split('\n').find((l) => l.startsWith('| 1 |'));
  assert.ok(row, 'row of run 1');
  const unescapedPipes = row.split('').filter((c, k) => c === '|' && row[k - 1] !== '\\').length;
  assert.is(unescapedPipes, 11, 'ten cells, no extra separator');
  assert.not.match(md, /(^|[^\\])<(script|error)/, 'every < is escaped');
  assert.ok(md.includes('\\<script>'));
  assert.is(markdownText('a|b <c> *d* `e` [f](g) & h\nnext'), 'a\\|b \\<c> \\*d\\* \\`e\\` \\[f\\](g) \\& h next');
});

test('renderJson is the record and the gate, JSON round-trippable', () => {
  const { record, gate } = evaluated('cache-never-used');
  const report = renderJson(record, gate);
  assert.equal(JSON.parse(JSON.stringify(report)), { record, gate });
});

test('verdictLine', () => {
  assert.is(verdictLine(evaluated('pass-buildah').gate), 'PASS: build step 20.0s cold vs 1.0s warm median = 20.00x >= 1.5x');
  assert.match(verdictLine(evaluated('cache-never-used').gate), /^FAIL: speedup too low: /);
});

test('tektonResults: the seven results with machine-friendly values', () => {
  const results = tektonResults(evaluated('pass-buildah').gate);
  assert.equal(Object.keys(results).sort(), [...TEKTON_RESULT_NAMES].sort());
  assert.is(results.passed, 'true');
  assert.is(results.speedup, '20.00');
  assert.is(results['cold-seconds'], '20');
  assert.is(results['warm-seconds'], '1');
  assert.is(results.metric, 'build');
  assert.is(results.reason, 'build step 20.0s cold vs 1.0s warm median = 20.00x >= 1.5x');
  const summary = JSON.parse(results.summary);
  assert.is(summary.passed, true);
  assert.is(summary.speedup, 20);
  assert.equal(summary.total, { cold: 45, warm: 14, speedup: 3.214 });
  assert.equal(summary.warm, { n: 3, median: 1, min: 0.9, max: 1.1, stdev: 0.1 });
});

test('tektonResults: unknown numbers are empty strings', () => {
  const results = tektonResults(evaluated('failed-volume-not-overridable').gate);
  assert.is(results.passed, 'false');
  assert.is(results.speedup, '');
  assert.is(results['cold-seconds'], '');
  assert.is(results['warm-seconds'], '');
  assert.match(results.reason, /VolumeNotOverridable/);
});

test('tektonResults: a huge reason is cut so the results never exceed the size cap', () => {
  const { gate } = evaluated('cache-never-used');
  const huge = `${'"quoted" \\ back\u0001slash ünïcödé 😀 '.repeat(4000)}END`;
  const results = tektonResults({ ...gate, reason: huge });
  const encoded = encodedResultsBytes(results);
  assert.ok(encoded <= GATE_RESULTS_MAX_BYTES, `encoded ${encoded} bytes`);
  assert.ok(encoded > GATE_RESULTS_MAX_BYTES - 16, `reason should fill the budget, got ${encoded}`);
  const valueBytes = Object.values(results).reduce((sum, v) => sum + Buffer.byteLength(v, 'utf8'), 0);
  assert.ok(valueBytes < TERMINATION_MESSAGE_BYTES, `values ${valueBytes} bytes`);
  assert.ok(results.reason.endsWith('…'));
  assert.ok(huge.startsWith(results.reason.slice(0, -1)), 'a prefix of the reason');
  assert.not.match(results.reason, /[\ud800-\udbff]…$/, 'no split surrogate pair');
  assert.is(JSON.parse(results.summary).passed, false, 'summary is intact');

  const tight = tektonResults({ ...gate, reason: huge }, 1000);
  assert.ok(encodedResultsBytes(tight) <= 1000);
});

test('assertResultsFit throws above the cap', () => {
  assert.throws(() => assertResultsFit({ reason: 'x'.repeat(5000) }), /more than the 3072 allowed/);
  assertResultsFit({ reason: 'x'.repeat(100) });
});

test.run();
