// Directory creation without fs.mkdir's `recursive: true`: on some paths (e.g.
// under /proc) Node's recursive mkdir retries forever at 100% CPU instead of
// failing. ensureDir walks the path one component at a time with plain mkdir
// and stops at the first component it cannot create, naming it and why.
import { constants } from 'node:fs';
import { access, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, parse, resolve, sep } from 'node:path';
import { usageError } from './errors.js';

/** Why a file-system call failed, in words, from its errno code. */
export function fsReason(err: unknown, path: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'EROFS':
      return 'read-only file system (EROFS)';
    case 'ENOSPC':
      return 'no space left on the device (ENOSPC)';
    case 'EDQUOT':
      return 'disk quota exceeded (EDQUOT)';
    case 'ENOTDIR':
      return `a component of ${path} is not a directory (ENOTDIR)`;
    case 'ENOENT':
      return `${dirname(path)} does not accept new entries (ENOENT; a virtual file system such as /proc?)`;
    default:
      return (err as Error).message;
  }
}

/** The path's prefixes, shortest first: /a/b/c -> /a, /a/b, /a/b/c (the root itself is left out). */
function prefixes(path: string): string[] {
  const abs = resolve(path);
  const { root } = parse(abs);
  const parts = abs.slice(root.length).split(sep).filter(Boolean);
  return parts.map((_, i) => root + parts.slice(0, i + 1).join(sep));
}

/**
 * Creates the directory `path` and its missing parents, one component at a
 * time with non-recursive mkdir. Throws a usage error (exit 2) naming the
 * component that is not a directory or cannot be created, and why; `flag`
 * (e.g. "--results-dir") goes into the fix.
 */
export async function ensureDir(path: string, flag?: string): Promise<void> {
  const fix = flag ? `pass a writable directory with ${flag}` : 'pass a writable directory';
  const abs = resolve(path);
  const what = (p: string) => (p === abs ? `cannot create directory ${p}` : `cannot create directory ${path} (at ${p})`);
  for (const p of prefixes(path)) {
    const st = await stat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw usageError(`${what(p)}: cannot read it: ${fsReason(err, p)}`, fix);
    });
    if (st) {
      if (!st.isDirectory()) throw usageError(`cannot create directory ${path}: ${p} exists and is not a directory`, fix);
      continue;
    }
    try {
      await mkdir(p);
    } catch (err) {
      // Created by someone else in between: fine when it is a directory.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(p).catch(() => undefined))?.isDirectory()) continue;
      throw usageError(`${what(p)}: ${fsReason(err, p)}`, fix);
    }
  }
}

/**
 * Checks, without creating or changing anything, that a file could be written
 * at `path` (atomically: a temp file beside it, then a rename): the nearest
 * existing ancestor is a directory we can create a file in (a probe file is
 * created and removed there), and `path` itself, if present, is a regular file.
 * Returns undefined when writable, else why not.
 */
export async function unwritableReason(path: string): Promise<string | undefined> {
  const abs = resolve(path);
  const missing = (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? undefined : err);
  const st = await stat(abs).catch(missing);
  if (st instanceof Error) return `cannot read ${abs}: ${fsReason(st, abs)}`;
  if (st && !st.isFile()) return `${abs} is not a regular file`;
  let dir = dirname(abs);
  for (;;) {
    const d = await stat(dir).catch(missing);
    if (d instanceof Error) return `cannot read ${dir}: ${fsReason(d, dir)}`;
    if (d) {
      if (!d.isDirectory()) return `${dir} is not a directory`;
      break;
    }
    if (dirname(dir) === dir) return `${dir} does not exist`;
    dir = dirname(dir);
  }
  try {
    await access(dir, constants.W_OK);
  } catch (err) {
    return `cannot write into ${dir}: ${fsReason(err, dir)}`;
  }
  // access() says yes to root even where nothing can be created (/proc): try it.
  const probe = resolve(dir, `.shipwright-cache-probe.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (err) {
    return `cannot create files in ${dir}: ${fsReason(err, probe)}`;
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
  return undefined;
}
