import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { unifiedDiff } from '../../scripts/lib/diff.js';

test('no change gives an empty diff', () => {
  assert.is(unifiedDiff('a\nb', 'a\nb'), '');
});

test('added and removed lines with context and elision', () => {
  const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
  const after = before.replace('l10', 'l10\nnew').replace('l2\n', '');
  const d = unifiedDiff(before, after, ['x', 'y'], 1);
  assert.ok(d.startsWith('--- x\n+++ y\n'));
  assert.match(d, /\n l10\n\+new\n l11\n/);
  assert.match(d, /\n-l2\n/);
  assert.match(d, /@@ \.\.\. @@/);
  assert.not.match(d, / l15/);
});

test.run();
