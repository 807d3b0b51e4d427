// Validation of user input: names, sizes, durations. Each failure is a usage
// error that names the flag, the bad value and what a good one looks like.
import { usageError } from './errors.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Object names (PVC, Build, strategy): DNS-1123 subdomain, at most 253 characters. */
export function validateName(flag: string, value: unknown, maxLength = 253): string {
  const v = String(value ?? '');
  if (!v || v.length > maxLength || !DNS1123_SUBDOMAIN.test(v)) {
    throw usageError(
      `${flag} '${v}' is not a valid Kubernetes name`,
      `use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most ${maxLength} characters`,
    );
  }
  return v;
}

/** Namespaces and label-like names: DNS-1123 label, at most 63 characters. */
export function validateLabelName(flag: string, value: unknown): string {
  const v = String(value ?? '');
  if (!v || v.length > 63 || !DNS1123_LABEL.test(v)) {
    throw usageError(`${flag} '${v}' is not a valid name`, "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit");
  }
  return v;
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** Parses a Kubernetes storage quantity (3Gi, 500Mi, 1G, 1073741824) to bytes. */
export function parseQuantity(value: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? '';
  const mult = BINARY[unit] ?? DECIMAL[unit];
  return Number.isFinite(n) ? n * mult : undefined;
}

export function validateSize(flag: string, value: unknown): string {
  const v = String(value ?? '').trim();
  const bytes = parseQuantity(v);
  if (bytes === undefined || bytes <= 0 || /m$/.test(v)) {
    throw usageError(`${flag} '${v}' is not a storage size`, 'use a Kubernetes quantity such as 3Gi, 500Mi or 10G');
  }
  if (!Number.isInteger(bytes) || bytes > Number.MAX_SAFE_INTEGER) {
    throw usageError(`${flag} '${v}' is not a whole number of bytes (${bytes})`, 'use a size in whole Mi or Gi, e.g. 1126Mi instead of 1.1Gi');
  }
  return v;
}

/** Parses 90s, 10m, 1h30m, 2h, 500ms, or a plain number of seconds, to milliseconds. */
export function parseDuration(value: string): number | undefined {
  const v = value.trim();
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v) * 1000;
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/y;
  let total = 0;
  let pos = 0;
  while (pos < v.length) {
    re.lastIndex = pos;
    const m = re.exec(v);
    if (!m) return undefined;
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    pos = re.lastIndex;
  }
  return v.length > 0 ? total : undefined;
}

export function validateDuration(flag: string, value: unknown): number {
  const v = String(value ?? '');
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) throw usageError(`${flag} '${v}' is not a duration`, 'use e.g. 90s, 10m or 1h30m');
  return ms;
}

export const ACCESS_MODES = ['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany', 'ReadOnlyMany'] as const;

export function validateAccessMode(flag: string, value: unknown): (typeof ACCESS_MODES)[number] {
  const v = String(value ?? '');
  if (!(ACCESS_MODES as readonly string[]).includes(v)) throw usageError(`${flag} '${v}' is not an access mode`, `use one of: ${ACCESS_MODES.join(', ')}`);
  return v as (typeof ACCESS_MODES)[number];
}

/** Parses repeated or comma-separated key=value pairs (labels). */
export function parseLabels(flag: string, values: unknown): Record<string, string> {
  const items = (Array.isArray(values) ? values : values === undefined || values === '' ? [] : [values]).flatMap((v) => String(v).split(',')).filter(Boolean);
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf('=');
    const k = i < 0 ? item : item.slice(0, i);
    const val = i < 0 ? '' : item.slice(i + 1);
    const name = k.includes('/') ? k.slice(k.indexOf('/') + 1) : k;
    const prefix = k.includes('/') ? k.slice(0, k.indexOf('/')) : '';
    if (i < 0 || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/.test(name) || name.length > 63 || (prefix && !DNS1123_SUBDOMAIN.test(prefix)) || (val && (!/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/.test(val) || val.length > 63))) {
      throw usageError(`${flag} '${item}' is not a valid label`, 'use key=value with a key like app.kubernetes.io/part-of and a value of at most 63 letters, digits, -, _ and .');
    }
    out[k] = val;
  }
  return out;
}
