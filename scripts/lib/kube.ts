// Thin Kubernetes I/O: a client from KUBECONFIG / the current context / the
// in-cluster service account, and one error translation so every command
// reports API failures the same way (object, verb, reason, fix).
import { existsSync, readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { CliError, ExitCode } from './errors.js';

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
  details?: { name?: string; group?: string; kind?: string; causes?: { message?: string; field?: string }[] };
}

export function statusOf(err: unknown): { code?: number; body?: StatusBody } {
  if (err instanceof k8s.ApiException) {
    let body: StatusBody | undefined;
    if (typeof err.body === 'string') {
      try {
        body = JSON.parse(err.body) as StatusBody;
      } catch {
        body = { message: err.body };
      }
    } else body = err.body as StatusBody;
    return { code: err.code, body };
  }
  return {};
}

export const isNotFound = (err: unknown) => statusOf(err).code === 404;

/**
 * Runs one API call; on failure throws a CliError that says what was being
 * done (`what`, e.g. "get ClusterBuildStrategy buildah") and how to fix it.
 */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translate(what, err);
  }
}

/** Like call(), but a 404 (the object does not exist) gives undefined instead of an error. */
export async function callOptional<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw translate(what, err);
  }
}

export function translate(what: string, err: unknown): Error {
  if (err instanceof CliError) return err;
  const { code, body } = statusOf(err);
  const msg = body?.message ?? (err as Error)?.message ?? String(err);
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
      return err instanceof Error ? err : new Error(m);
    }
    case 401:
      return new CliError(`${what}: the API server rejected the credentials (401 Unauthorized)`, {
        exitCode: ExitCode.unreachable,
        hint: 'refresh the kubeconfig credentials or the service account token',
        cause: err,
      });
    case 403:
      return new CliError(`${what}: forbidden: ${msg}`, {
        exitCode: ExitCode.forbidden,
        hint: 'grant the missing verb on that resource to this user/service account (see tasks/rbac for the Role the tasks need)',
        cause: err,
      });
    case 404:
      return new CliError(`${what}: not found${body?.message ? ` (${body.message})` : ''}`, { exitCode: ExitCode.notFound, cause: err });
    case 409:
      return new CliError(`${what}: conflict: ${msg}`, { exitCode: ExitCode.conflict, hint: 'the object changed meanwhile; run the command again', cause: err });
    case 422:
    case 400: {
      const causes = (body?.details?.causes ?? []).map((c) => `${c.field ? c.field + ': ' : ''}${c.message}`).join('; ');
      return new CliError(`${what}: rejected by the API server: ${msg}${causes && !msg.includes(causes) ? ` (${causes})` : ''}`, { exitCode: ExitCode.usage, cause: err });
    }
    default:
      return new CliError(`${what}: API error ${code}: ${msg}`, { exitCode: ExitCode.failed, cause: err });
  }
}

/** Fails with a clear message when Shipwright's CRDs are not served by the cluster. */
export async function requireShipwright(kube: Kube, plural = 'builds'): Promise<void> {
  try {
    await kube.custom.listClusterCustomObject({ group: SHIPWRIGHT_GROUP, version: SHIPWRIGHT_VERSION, plural: 'clusterbuildstrategies', limit: 1 });
  } catch (err) {
    const { code } = statusOf(err);
    if (code === 404) {
      throw new CliError(`Shipwright Build is not installed: the cluster serves no ${SHIPWRIGHT_API} ${plural}`, {
        exitCode: ExitCode.notFound,
        hint: 'install Shipwright Build v0.20.x (see the README, "Installing Tekton and Shipwright")',
      });
    }
    if (code === 403) return; // listing cluster strategies may be forbidden to a namespaced role; the real call will tell.
    throw translate(`list ${SHIPWRIGHT_API} clusterbuildstrategies`, err);
  }
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
