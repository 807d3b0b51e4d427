// A line diff (longest common subsequence) in unified style, for --dry-run.

export function unifiedDiff(before: string, after: string, labels: [string, string] = ['before', 'after'], context = 3): string {
  const a = before.split('\n');
  const b = after.split('\n');
  // LCS table, bottom-up. Strategies are a few hundred lines: O(n*m) is fine.
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const lines: { t: ' ' | '-' | '+'; s: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      lines.push({ t: ' ', s: a[i++] });
      j++;
    } else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) lines.push({ t: '+', s: b[j++] });
    else lines.push({ t: '-', s: a[i++] });
  }
  if (!lines.some((l) => l.t !== ' ')) return '';
  const keep = lines.map((_, k) => lines.slice(Math.max(0, k - context), k + context + 1).some((l) => l.t !== ' '));
  const out = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  let skipping = false;
  lines.forEach((l, k) => {
    if (keep[k]) {
      out.push(`${l.t}${l.s}`);
      skipping = false;
    } else if (!skipping) {
      out.push('@@ ... @@');
      skipping = true;
    }
  });
  return out.join('\n');
}
