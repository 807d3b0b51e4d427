// Recognising why a build failed, from its failure message and build log:
// a corrupted or stale-locked cache (reset it once and go on), a full cache
// volume (explain, do not retry), or anything else (report as it is).

export type FailureClass = 'cache-corrupt' | 'disk-full' | 'other';

const DISK_FULL = /no space left on device|ENOSPC|disk quota exceeded/i;

/** Messages of buildah/containers-storage and BuildKit when their store is damaged or a killed build left a lock. */
const CORRUPT: RegExp[] = [
  /layer not known/i,
  /image not known.*storage|storage.*image not known/i,
  /error (creating|mounting|locating) (layer|item)/i,
  /creating (read-write )?layer with ID .*: (.*)?(exists|not known)/i,
  /readlink \/var\/lib\/containers\/storage\/overlay\/[^:]*: no such file or directory/i,
  /(layers|images|containers)\.json.*(unexpected end of JSON|invalid character)/i,
  /invalid checksum.*(storage|layer)/i,
  /database is locked|timeout waiting for (the )?(storage )?lock|storage\.lock/i,
  /parent snapshot [^ ]+ does not exist/i,
  /failed to (get|open) (bolt|metadata) (db|database)|timeout.*bolt|bolt.*(timeout|corrupt)/i,
];

export interface Classified {
  kind: FailureClass;
  /** The line that decided it. */
  evidence?: string;
}

export function classifyFailure(message: string | undefined, log: string | undefined): Classified {
  const lines = `${message ?? ''}\n${log ?? ''}`.split('\n');
  const hit = (re: RegExp) => lines.find((l) => re.test(l))?.trim();
  const full = hit(DISK_FULL);
  if (full) return { kind: 'disk-full', evidence: full.slice(0, 300) };
  for (const re of CORRUPT) {
    const e = hit(re);
    if (e) return { kind: 'cache-corrupt', evidence: e.slice(0, 300) };
  }
  return { kind: 'other' };
}

/** Parses the last line of `df -k <dir>`: size and available KiB. */
export function parseDf(out: string): { sizeKiB: number; availKiB: number; usePercent: string } | undefined {
  const line = out.trim().split('\n').filter((l) => /\d/.test(l)).pop();
  const m = line?.match(/(\d+)\s+(\d+)\s+(\d+)\s+(\d+%)/);
  return m ? { sizeKiB: Number(m[1]), availKiB: Number(m[3]), usePercent: m[4] } : undefined;
}

const gib = (kib: number) => `${(kib / 1024 / 1024).toFixed(2)} GiB`;

export function diskFullMessage(pvc: string, namespace: string, requested: string, df?: { sizeKiB: number; availKiB: number; usePercent: string }): { message: string; hint: string } {
  const space = df ? `size ${gib(df.sizeKiB)}, ${gib(df.availKiB)} free (${df.usePercent} used)` : `requested ${requested}; free space could not be read`;
  return {
    message: `the cache volume PersistentVolumeClaim ${namespace}/${pvc} is full (${space})`,
    hint: `grow it: shipwright-cache cache-pvc --name ${pvc} --size <larger> (needs a StorageClass with allowVolumeExpansion), or empty it: shipwright-cache run --cold ...; with buildah, --storage-driver overlay needs far less space than vfs`,
  };
}

/** Removes credentials from text that goes to logs, records and reports: userinfo in URLs, bearer tokens, password=... */
export function redact(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+(:[^/\s@]*)?@/gi, '$1***@')
    .replace(/(authorization:\s*(bearer|basic)\s+)[^\s"']+/gi, '$1***')
    .replace(/\b(password|passwd|token|secret|api[_-]?key)(["']?\s*[=:]\s*["']?)[^\s"',;]+/gi, '$1$2***');
}
