// Thin Kubernetes I/O: a client from KUBECONFIG / the current context / the
// in-cluster service account, and one error translation so every command
// reports API failures the same way (object, verb, reason, fix).
import { existsSync, readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { CliError, ExitCode } from './errors.js';
import { progress } from './log.js';

export const SHIPWRIGHT_GROUP = 'shipwright.io';
export const SHIPWRIGHT_VERSION = 'v1beta1';
export const SHIPWRIGHT_API = `${SHIPWRIGHT_GROUP}/${SHIPWRIGHT_VERSION}`;

export interface Kube {
  config: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  storage: k8s.StorageV1Api;
  custom: k8s.CustomObjectsApi;
  coordination: k8s.CoordinationV1Api;
  /** Namespace of the current context (or the in-cluster one), used when --namespace is absent. */
  defaultNamespace: string;
}

export function connect(): Kube {
  const home = process.env.HOME ?? '';
  if (!process.env.KUBECONFIG && !existsSync(`${home}/.kube/config`) && !process.env.KUBERNETES_SERVICE_HOST) {
    throw new CliError('no Kubernetes credentials: KUBECONFIG is not set, ~/.kube/config does not exist, and this is not running in a pod', {
      exitCode: ExitCode.unreachable,
      hint: 'export KUBECONFIG=<path to a kubeconfig> (the offline cluster prints its path: e2e/cluster/up.sh)',
    });
  }
  const config = new k8s.KubeConfig();
  try {
    config.loadFromDefault();
  } catch (err) {
    throw new CliError(`cannot load Kubernetes credentials: ${(err as Error).message}`, {
      exitCode: ExitCode.unreachable,
      hint: 'set KUBECONFIG to a valid kubeconfig file, or run inside a pod with a service account',
    });
  }
  if (!config.getCurrentCluster()) {
    throw new CliError('no Kubernetes cluster configured (no current context in KUBECONFIG or ~/.kube/config)', {
      exitCode: ExitCode.unreachable,
      hint: 'set KUBECONFIG, or `kubectl config use-context <name>`',
    });
  }
  const ctx = config.getContextObject(config.getCurrentContext());
  return {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    storage: config.makeApiClient(k8s.StorageV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
    coordination: config.makeApiClient(k8s.CoordinationV1Api),
    defaultNamespace: ctx?.namespace || inClusterNamespace() || 'default',
  };
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function inClusterNamespace(): string | undefined {
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

interface StatusBody {
  reason?: string;
  message?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { message?: string; field?: string }[]; retryAfterSeconds?: number };
}

/**
 * A body that is not a Status (the 429 of the API server's max-in-flight and
 * priority-and-fairness filters is plain text; a proxy in front of it answers
 * with an HTML page) as one short line: tags and blank runs removed.
 */
export function summarizeBody(text: string): string {
  const t = text.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

export function statusOf(err: unknown): { code?: number; body?: StatusBody; headers?: Record<string, string> } {
  if (err instanceof k8s.ApiException) {
    let body: StatusBody | undefined;
    if (typeof err.body === 'string') {
      try {
        const parsed = JSON.parse(err.body) as unknown;
        body = parsed && typeof parsed === 'object' ? (parsed as StatusBody) : { message: summarizeBody(err.body) };
      } catch {
        body = { message: summarizeBody(err.body) };
      }
    } else body = err.body as StatusBody;
    return { code: err.code, body, headers: (err.headers ?? {}) as Record<string, string> };
  }
  return {};
}

export const isNotFound = (err: unknown) => statusOf(err).code === 404;

/**
 * Retries of transient API errors. 429 (the API server's max-in-flight or
 * priority-and-fairness filter rejected the request before handling it) is
 * retried for every verb; 503/504 (unavailable, timed out: a write may have
 * happened) and 410 (expired list/watch position) only for reads: calls whose
 * `what` starts with get/list/read. The wait honours Retry-After (header, or
 * details.retryAfterSeconds), capped; tests replace `sleep`.
 */
export const retryPolicy = {
  attempts: 5,
  maxWaitMs: 10_000,
  sleep: (ms: number) => sleep(ms),
};

const isRead = (what: string) => /^(get|list|read)\b/i.test(what);

export function retryable(what: string, err: unknown): boolean {
  const code = statusOf(err).code;
  return code === 429 || (isRead(what) && (code === 503 || code === 504 || code === 410));
}

/** Milliseconds to wait before attempt `attempt + 1`: Retry-After when given, else 0.5 s doubling; capped. */
export function retryDelayMs(err: unknown, attempt: number): number {
  const { headers, body } = statusOf(err);
  const header = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  const seconds = header !== undefined && /^\d+$/.test(String(header).trim()) ? Number(header) : body?.details?.retryAfterSeconds;
  const ms = typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 500 * 2 ** (attempt - 1);
  return Math.min(ms, retryPolicy.maxWaitMs);
}

/**
 * A 2xx answer that is no Kubernetes object: a proxy's HTML page (a login form,
 * an error page) reaches the typed clients as a string, or as a model object
 * with no fields set. Taken for an object it would read as "empty".
 */
export function notAnApiObject(v: unknown): boolean {
  if (typeof v === 'string') return /^\s*</.test(v);
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    // Every API answer has at least kind/apiVersion or metadata; a model built from a string has nothing.
    return Object.values(v).every((x) => x === undefined);
  }
  return false;
}

async function withRetries<T>(what: string, fn: () => Promise<T>, onError: (err: unknown, attempts: number) => T | Error): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const v = await fn();
      if (notAnApiObject(v)) {
        throw new CliError(`${what}: the API server answered with a body that is not JSON${typeof v === 'string' ? ` (${summarizeBody(v)})` : ''}`, {
          exitCode: ExitCode.unreachable,
          hint: 'something between here and the API server (a proxy, a load balancer) answers instead of it: check the server URL in KUBECONFIG',
        });
      }
      return v;
    } catch (err) {
      if (retryable(what, err) && attempt < retryPolicy.attempts) {
        const ms = retryDelayMs(err, attempt);
        const { code, body } = statusOf(err);
        progress('api', `${what}: ${code}${body?.reason ? ` ${body.reason}` : ''} (${body?.message ?? ''}); retrying in ${(ms / 1000).toFixed(1)}s (attempt ${attempt + 1}/${retryPolicy.attempts})`);
        await retryPolicy.sleep(ms);
        continue;
      }
      const r = onError(err, attempt);
      if (r instanceof Error) throw r;
      return r;
    }
  }
}

/**
 * Runs one API call; on failure throws a CliError that says what was being
 * done (`what`, e.g. "get ClusterBuildStrategy buildah") and how to fix it.
 * Transient errors are retried first (retryPolicy).
 */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  return withRetries(what, fn, (err, attempts) => translate(what, err, attempts));
}

/** Like call(), but a 404 (the object does not exist) gives undefined instead of an error. */
export async function callOptional<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  return withRetries<T | undefined>(what, fn, (err, attempts) => (isNotFound(err) ? undefined : translate(what, err, attempts)));
}

const RUN_AGAIN = 'every command is idempotent: run it again';

export function translate(what: string, err: unknown, attempts = 1): Error {
  if (err instanceof CliError) return err;
  const { code, body } = statusOf(err);
  const msg = body?.message ?? (err as Error)?.message ?? String(err);
  const after = attempts > 1 ? ` after ${attempts} attempts` : '';
  switch (code) {
    case undefined: {
      const m = String((err as Error)?.message ?? err);
      const cause = String(((err as Error)?.cause as Error | undefined)?.message ?? '');
      if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|fetch failed|socket|certificate|self.signed|ECONNRESET|HTTP protocol is not allowed/i.test(m + ' ' + cause)) {
        return new CliError(`${what}: cannot reach the Kubernetes API server (${cause || m})`, {
          exitCode: ExitCode.unreachable,
          hint: 'check KUBECONFIG / the current context and that the cluster is running (kubectl cluster-info)',
          cause: err,
        });
      }
      if (err instanceof SyntaxError || /Unexpected token|is not valid JSON|JSON at position/i.test(m)) {
        return new CliError(`${what}: the API server answered with a body that is not JSON (${m.slice(0, 200)})`, {
          exitCode: ExitCode.unreachable,
          hint: 'something between here and the API server (a proxy, a load balancer) answers instead of it: check the server URL in KUBECONFIG',
          cause: err,
        });
      }
      return err instanceof Error ? err : new Error(m);
    }
    case 401:
      return new CliError(`${what}: the API server rejected the credentials (401 Unauthorized${body?.message && body.message !== 'Unauthorized' ? `: ${body.message}` : ''})`, {
        exitCode: ExitCode.unreachable,
        hint: 'refresh the kubeconfig credentials or the service account token (a token can expire during a long run: use a token that outlives the run, or run --resume with a fresh one)',
        cause: err,
      });
    case 403:
      return new CliError(`${what}: forbidden: ${msg}`, {
        exitCode: ExitCode.forbidden,
        hint: 'grant the missing verb on that resource to this user/service account (see tasks/rbac for the Role the tasks need)',
        cause: err,
      });
    case 404:
      // Writing into a namespace that does not exist: the NamespaceLifecycle admission answers for the namespace.
      if (body?.details?.kind === 'namespaces' && body.details.name) return namespaceNotFoundError(body.details.name, what, err);
      return new CliError(`${what}: not found${body?.message ? ` (${body.message})` : ''}`, { exitCode: ExitCode.notFound, cause: err });
    case 409:
      return new CliError(`${what}: conflict: ${msg}`, { exitCode: ExitCode.conflict, hint: 'the object changed meanwhile; run the command again', cause: err });
    case 410:
      return new CliError(`${what}: expired (410 Gone: ${msg})${after}`, { exitCode: ExitCode.failed, hint: `the API server no longer has that list or watch position (etcd compacted it); ${RUN_AGAIN}, it reads afresh`, cause: err });
    case 422:
    case 400: {
      const causes = (body?.details?.causes ?? []).map((c) => `${c.field ? c.field + ': ' : ''}${c.message}`).join('; ');
      return new CliError(`${what}: rejected by the API server: ${msg}${causes && !msg.includes(causes) ? ` (${causes})` : ''}`, { exitCode: ExitCode.usage, cause: err });
    }
    case 429:
      return new CliError(`${what}: the API server is overloaded (429 Too Many Requests: ${msg})${after}`, {
        exitCode: ExitCode.unreachable,
        hint: `the cluster throttles requests (API Priority and Fairness, --max-requests-inflight); run again when it is less busy; ${RUN_AGAIN}`,
        cause: err,
      });
    case 502:
    case 503:
    case 504:
      return new CliError(`${what}: the API server is unavailable (${code}${body?.reason ? ` ${body.reason}` : ''}: ${msg})${after}`, {
        exitCode: ExitCode.unreachable,
        hint: `the API server, etcd or a proxy in front of them is down or restarting (kubectl get --raw /readyz); ${RUN_AGAIN}`,
        cause: err,
      });
    case 500: {
      const webhook = /failed calling webhook "([^"]+)"/.exec(msg)?.[1];
      return new CliError(`${what}: the API server failed (500${body?.reason ? ` ${body.reason}` : ''}: ${msg})`, {
        exitCode: ExitCode.failed,
        hint: webhook
          ? `the admission webhook ${webhook} does not answer: check its pods (for Tekton: kubectl get pods -n tekton-pipelines; for Shipwright: -n shipwright-build), then run again`
          : `see the API server log; ${RUN_AGAIN}`,
        cause: err,
      });
    }
    default:
      return new CliError(`${what}: API error ${code}: ${msg}`, { exitCode: ExitCode.failed, cause: err });
  }
}

/** The one message for a namespace that does not exist, whichever command meets it. */
export function namespaceNotFoundError(namespace: string, what?: string, cause?: unknown): CliError {
  return new CliError(`namespace '${namespace}' does not exist${what ? ` (${what})` : ''}`, {
    exitCode: ExitCode.notFound,
    hint: `create it (kubectl create namespace ${namespace}), or pass the namespace you meant with --namespace`,
    cause,
  });
}

/**
 * True when the namespace surely does not exist. Reading a namespace is cluster-scoped and the
 * Tasks' Role does not grant it: forbidden (or any other failure) answers false, "cannot tell".
 * Reads of namespaced objects in a missing namespace are plain 404s; a command that has only
 * read (and found nothing) asks this before blaming the objects.
 */
export async function namespaceMissing(kube: Kube, namespace: string): Promise<boolean> {
  try {
    await kube.core.readNamespace({ name: namespace });
    return false;
  } catch (err) {
    return statusOf(err).code === 404;
  }
}

/** Fails with a clear message when Shipwright's CRDs are not served by the cluster. */
export async function requireShipwright(kube: Kube, plural = 'builds'): Promise<void> {
  const what = `list ${SHIPWRIGHT_API} clusterbuildstrategies`;
  await withRetries<unknown>(what, () => kube.custom.listClusterCustomObject({ group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: 'clusterbuildstrategies', limit: 1 }), (err, attempts) => {
    const { code } = statusOf(err);
    if (code === 404) {
      return new CliError(`Shipwright Build is not installed: the cluster serves no ${SHIPWRIGHT_API} ${plural}`, {
        exitCode: ExitCode.notFound,
        hint: 'install Tekton Pipelines and Shipwright Build v0.20.x: https://shipwright.io/docs/getting-started/installation/ (offline: e2e/install/README.md)',
      });
    }
    if (code === 403) return undefined; // listing cluster strategies may be forbidden to a namespaced role; the real call will tell.
    return translate(what, err, attempts);
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `probe` every `intervalMs` until it returns a value (not undefined),
 * or throws a timeout CliError naming what was awaited. Client-node watches
 * drop on quiet streams, so polling is the reliable wait.
 */
let interrupted = false;
process.on('shipwright-cache:interrupt' as never, () => (interrupted = true));

export async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, opts: { intervalMs?: number; onWait?: (elapsedMs: number) => void } = {}): Promise<T> {
  const start = Date.now();
  const interval = opts.intervalMs ?? 2000;
  let lastReport = 0;
  for (;;) {
    if (interrupted) throw new CliError(`interrupted while waiting for ${what}`, { exitCode: ExitCode.interrupted });
    const v = await probe();
    if (v !== undefined) return v;
    const el = Date.now() - start;
    if (el >= timeoutMs) throw new CliError(`timed out after ${Math.round(el / 1000)}s waiting for ${what}`, { exitCode: ExitCode.timeout });
    if (opts.onWait && el - lastReport >= 10_000) {
      lastReport = el;
      opts.onWait(el);
    }
    await sleep(Math.min(interval, Math.max(50, timeoutMs - el)));
  }
}

/** Per-call option: send a JSON merge patch (the generated clients default to JSON Patch). */
export const mergePatch = () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
/** Per-call option: send a JSON Patch (RFC 6902). */
export const jsonPatch = () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch);
