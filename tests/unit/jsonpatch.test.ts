import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyJsonPatch, escapeToken, getAt, pointer, JsonPatchError } from '../../scripts/lib/jsonpatch.js';

test('add, replace, remove, test on objects and arrays', () => {
  const doc = { a: { b: [1, 2] }, 'x/y': { '~z': 1 } };
  const out = applyJsonPatch(doc, [
    { op: 'test', path: '/a/b/0', value: 1 },
    { op: 'add', path: '/a/b/-', value: 3 },
    { op: 'add', path: '/a/b/0', value: 0 },
    { op: 'replace', path: '/a/b/1', value: 10 },
    { op: 'remove', path: '/a/b/2' },
    { op: 'add', path: pointer('x/y', 'n'), value: true },
    { op: 'remove', path: pointer('x/y', '~z') },
  ]);
  assert.equal(out, { a: { b: [0, 10, 3] }, 'x/y': { n: true } });
  assert.equal(doc, { a: { b: [1, 2] }, 'x/y': { '~z': 1 } }, 'input untouched');
});

test('a failed test or a missing path throws and names the path', () => {
  assert.throws(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), (e: unknown) => e instanceof JsonPatchError && /test failed at \/a/.test(e.message));
  assert.throws(() => applyJsonPatch({ a: [] }, [{ op: 'replace', path: '/a/0', value: 2 }]), /out of range/);
  assert.throws(() => applyJsonPatch({ a: {} }, [{ op: 'remove', path: '/a/q' }]), /path not found: \/a\/q/);
  assert.throws(() => applyJsonPatch({}, [{ op: 'add', path: '/a/b', value: 1 }]), /path not found/);
});

test('pointer escaping follows RFC 6901', () => {
  assert.is(escapeToken('shipwright-cache.io/patch'), 'shipwright-cache.io~1patch');
  assert.is(escapeToken('a~b'), 'a~0b');
  assert.is(getAt({ 'a/b': { '~': 5 } }, pointer('a/b', '~')), 5);
  assert.is(getAt({}, '/nope/deeper'), undefined);
});

test.run();
