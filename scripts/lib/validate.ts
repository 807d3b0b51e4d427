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

/**
 * Parses a Kubernetes storage quantity (3Gi, 500Mi, 1G, 1073741824, 1e3, 5E9) to bytes: a
 * decimal number with a binary-SI suffix, a decimal-SI suffix or a decimal exponent (e/E).
 */
export function parseQuantity(value: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E))?$/.exec(value.trim());
  if (!m) return undefined;
  const n = m[2] ? Number(m[1] + m[2]) : Number(m[1]);
  const unit = m[3] ?? '';
  const mult = BINARY[unit] ?? DECIMAL[unit];
  return Number.isFinite(n) ? n * mult : undefined;
}

/** The largest size taken: whole bytes must stay exact in a JavaScript number (2^53 - 1, just under 8Pi). */
export const MAX_SIZE_BYTES = Number.MAX_SAFE_INTEGER;
export const MAX_SIZE_TEXT = '8191Ti';

export function validateSize(flag: string, value: unknown): string {
  const v = String(value ?? '').trim();
  const bytes = parseQuantity(v);
  if (bytes === undefined || bytes <= 0 || /m$/.test(v)) {
    throw usageError(`${flag} '${v}' is not a storage size`, 'use a Kubernetes quantity such as 3Gi, 500Mi, 10G or 5e9');
  }
  if (bytes > MAX_SIZE_BYTES) {
    throw usageError(`${flag} '${v}' is too large: at most ${MAX_SIZE_TEXT} (${MAX_SIZE_BYTES} bytes, just under 8Pi) is accepted`, `use a size up to ${MAX_SIZE_TEXT}, e.g. 100Gi or 2Ti`);
  }
  if (!Number.isInteger(bytes)) {
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
  if (ms === undefined) throw usageError(`${flag} '${v}' is not a duration`, 'use e.g. 90s, 10m or 1h30m');
  if (ms <= 0) throw usageError(`${flag} '${v}' is zero; it must be longer than that`, 'use e.g. 90s, 10m or 1h30m');
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

// Image references as the container tools take them: [host[:port]/]path[:tag][@sha256:<hex>].
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Why `ref` is not an image reference, or undefined when it is one. */
export function imageRefProblem(ref: string): string | undefined {
  if (/\s/.test(ref)) return 'it contains white space';
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return 'the digest after @ must be sha256: and 64 lower-case hex digits';
  }
  const slash = rest.indexOf('/');
  let host: string | undefined;
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    host = first;
    rest = rest.slice(slash + 1);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return `the tag '${tag}' must be at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'`;
  }
  if (host !== undefined && !HOST.test(host)) return `the registry '${host}' is not a host name with an optional :port`;
  if (!rest) return 'the repository path is empty';
  if (rest !== rest.toLowerCase()) return `the repository path '${rest}' must be lower-case`;
  const bad = rest.split('/').find((c) => !PATH_COMPONENT.test(c));
  if (bad !== undefined) return `the path component '${bad}' must be lower-case letters and digits, separated by '.', '_', '__' or '-'`;
  if ((host ? host.length + 1 : 0) + rest.length > 255) return 'the name is longer than 255 characters';
  return undefined;
}

export function validateImageRef(flag: string, value: unknown): string {
  const v = String(value ?? '').trim();
  const problem = imageRefProblem(v);
  if (problem) {
    throw usageError(`${flag} '${v}' is not a valid image reference: ${problem}`, 'use [registry[:port]/]repository[:tag] or ...@sha256:<digest>, with a lower-case repository, e.g. registry.example.com/team/app:latest');
  }
  return v;
}

/** A Git URL for the Build: no credentials in it (everyone who can read the Build would see them). */
export function validateSourceUrl(flag: string, value: unknown): string {
  const v = String(value ?? '').trim();
  let url: URL | undefined;
  try {
    url = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? new URL(v) : undefined;
  } catch {
    throw usageError(`${flag} is not a valid URL`, 'give the Git URL of the sources, e.g. https://github.com/org/repo or git@github.com:org/repo.git');
  }
  // In http(s) the user part alone is often a token (https://<token>@github.com/...); in ssh:// the user is 'git'.
  const creds = url && (url.password !== '' || (url.username !== '' && /^https?:$/.test(url.protocol)));
  if (creds) {
    const shown = `${url!.protocol}//***@${url!.host}${url!.pathname}`;
    throw usageError(
      `${flag} '${shown}' carries credentials in the URL; the Build would keep them in plain text for everyone who can read it`,
      `put them in a Secret and pass --clone-secret <name> with the URL without them (kubectl create secret generic <name> --type=kubernetes.io/basic-auth --from-literal=username=... --from-literal=password=...); and revoke the exposed token`,
    );
  }
  return v;
}

/** Labels the tool sets itself on the objects it makes; --label cannot set them. */
export const RESERVED_LABEL_PREFIX = 'shipwright-cache.io/';

export function refuseReservedLabels(flag: string, labels: Record<string, string>, reserved: readonly string[]): void {
  const taken = Object.keys(labels).filter((k) => reserved.includes(k) || k.startsWith(RESERVED_LABEL_PREFIX));
  if (taken.length) {
    throw usageError(
      `${flag} ${taken.map((k) => `'${k}=${labels[k]}'`).join(', ')}: ${taken.length > 1 ? 'these labels are' : 'that label is'} the tool's own; shipwright-cache sets ${taken.length > 1 ? 'them' : 'it'} to find and check its objects`,
      `drop it; reserved: ${[...reserved, `${RESERVED_LABEL_PREFIX}*`].join(', ')}`,
    );
  }
}
