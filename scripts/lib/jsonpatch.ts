// A small RFC 6902 JSON Patch: the operations the strategy patch sends
// (test, add, remove, replace), and a pure applier used for dry runs and tests
// so that what we preview is exactly what the API server will do.

export type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export class JsonPatchError extends Error {
  constructor(
    message: string,
    readonly op: JsonPatchOp,
  ) {
    super(message);
    this.name = 'JsonPatchError';
  }
}

/** Escapes one reference token (RFC 6901): '~' -> '~0', '/' -> '~1'. */
export const escapeToken = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapeToken = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');

export function pointer(...tokens: (string | number)[]): string {
  return tokens.map((t) => '/' + escapeToken(String(t))).join('');
}

function parse(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split('/').map(unescapeToken);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

/** Reads the value at a pointer, or undefined when any part is missing. */
export function getAt(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const t of parse(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[t];
  }
  return cur;
}

/** Applies ops to a copy of doc; throws JsonPatchError when a test fails or a path is missing. */
export function applyJsonPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  let root: unknown = clone(doc);
  for (const op of ops) root = applyOne(root, op);
  return root as T;
}

function applyOne(root: unknown, op: JsonPatchOp): unknown {
  const tokens = parse(op.path);
  if (op.op === 'test') {
    const actual = getAt(root, op.path);
    if (!deepEqual(actual, op.value)) {
      throw new JsonPatchError(`test failed at ${op.path}: expected ${JSON.stringify(op.value)}, found ${JSON.stringify(actual)}`, op);
    }
    return root;
  }
  if (tokens.length === 0) {
    if (op.op === 'remove') return undefined;
    return clone(op.value);
  }
  const last = tokens[tokens.length - 1];
  const parent = getAt(root, pointer(...tokens.slice(0, -1)));
  if (parent === null || typeof parent !== 'object') throw new JsonPatchError(`path not found: ${op.path}`, op);
  if (Array.isArray(parent)) {
    const idx = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(idx) || idx < 0 || idx > parent.length || (op.op !== 'add' && idx >= parent.length)) {
      throw new JsonPatchError(`array index out of range: ${op.path}`, op);
    }
    if (op.op === 'add') parent.splice(idx, 0, clone(op.value));
    else if (op.op === 'replace') parent[idx] = clone(op.value);
    else parent.splice(idx, 1);
    return root;
  }
  const obj = parent as Record<string, unknown>;
  if (op.op !== 'add' && !(last in obj)) throw new JsonPatchError(`path not found: ${op.path}`, op);
  if (op.op === 'remove') delete obj[last];
  else obj[last] = clone(op.value);
  return root;
}
