// Converts a util-linux `script --log-timing` session (classic "<delay> <bytes>" timing lines,
// or the advanced "O <delay> <bytes>" ones) into asciicast v2: a header line, then
// [seconds, "o", text] events. Usage: node to-asciicast.mjs TIMING OUTPUT > file.cast
import { readFileSync } from 'node:fs';

const [timingFile, outFile] = process.argv.slice(2);
const data = readFileSync(outFile);
// `script` writes a "Script started ..." header line into the log first; skip it.
let pos = data.indexOf(10) + 1;
const header = { version: 2, width: 120, height: 40, timestamp: Math.floor(Date.now() / 1000), env: { SHELL: '/bin/bash', TERM: 'xterm-256color' }, title: 'shipwright-cache: hack/demo.sh' };
const lines = [JSON.stringify(header)];
let t = 0;
for (const line of readFileSync(timingFile, 'utf8').split('\n')) {
  const f = line.trim().split(/\s+/);
  if (f.length < 2) continue;
  const [delay, bytes] = f[0] === 'O' || f[0] === 'I' ? [Number(f[1]), Number(f[2])] : [Number(f[0]), Number(f[1])];
  if (f[0] === 'I' || !Number.isFinite(delay) || !Number.isFinite(bytes)) continue;
  t += delay;
  const chunk = data.subarray(pos, pos + bytes).toString('utf8');
  pos += bytes;
  if (chunk) lines.push(JSON.stringify([Number(t.toFixed(6)), 'o', chunk]));
}
process.stdout.write(lines.join('\n') + '\n');
