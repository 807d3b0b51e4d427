// Helpers for integration tests against the real kube-apiserver that
// hack/test.sh starts (KUBECONFIG points at it). No API server is mocked.
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import * as k8s from '@kubernetes/client-node';
import { connect, type Kube } from '../../scripts/lib/kube.js';
import { REPO_ROOT, upstreamStrategy } from './fixtures.js';
import type { StrategyObject } from '../../scripts/lib/strategy-types.js';

export function requireCluster(): Kube {
  if (!process.env.KUBECONFIG) {
    throw new Error('integration tests need a cluster: run them with hack/test.sh (it starts a test control plane), or set KUBECONFIG');
  }
  return connect();
}

export const rand = () => randomBytes(3).toString('hex');

export async function newNamespace(kube: Kube, prefix: string): Promise<string> {
  const name = `swc-${prefix}-${rand()}`;
  await kube.core.createNamespace({ body: { metadata: { name, labels: { 'shipwright-cache.io/test': 'true' } } } });
  // The ServiceAccount controller does not run in control-plane mode; nothing here needs 'default'.
  return name;
}

export async function deleteNamespace(kube: Kube, name: string): Promise<void> {
  await kube.core.deleteNamespace({ name }).catch(() => undefined);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a user would, in a child process. */
export async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const p = await $({ cwd: REPO_ROOT, nothrow: true, quiet: true, env: { ...process.env, ...env } })`node --import tsx scripts/cli.ts ${args}`;
  return { code: p.exitCode ?? -1, stdout: p.stdout, stderr: p.stderr };
}

export const json = <T = Record<string, unknown>>(r: CliResult): T => {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\nstderr: ${r.stderr}`);
  }
};

const SW = { group: 'shipwright.io', version: 'v1beta1' };

/** Installs an upstream ClusterBuildStrategy (or a BuildStrategy into ns) under a unique name; returns it as stored. */
export async function installStrategy(kube: Kube, upstreamName: string, opts: { kind?: 'ClusterBuildStrategy' | 'BuildStrategy'; namespace?: string; name?: string } = {}): Promise<StrategyObject> {
  const kind = opts.kind ?? 'ClusterBuildStrategy';
  const obj = upstreamStrategy(upstreamName, kind);
  obj.metadata = { name: opts.name ?? `${upstreamName}-${rand()}` };
  if (kind === 'ClusterBuildStrategy') return (await kube.custom.createClusterCustomObject({ ...SW, plural: 'clusterbuildstrategies', body: obj })) as StrategyObject;
  obj.metadata.namespace = opts.namespace;
  return (await kube.custom.createNamespacedCustomObject({ ...SW, plural: 'buildstrategies', namespace: opts.namespace!, body: obj })) as StrategyObject;
}

export async function getClusterStrategy(kube: Kube, name: string): Promise<StrategyObject> {
  return (await kube.custom.getClusterCustomObject({ ...SW, plural: 'clusterbuildstrategies', name })) as StrategyObject;
}

export async function getBuildStrategy(kube: Kube, namespace: string, name: string): Promise<StrategyObject | undefined> {
  return (await kube.custom.getNamespacedCustomObject({ ...SW, plural: 'buildstrategies', namespace, name }).catch(() => undefined)) as StrategyObject | undefined;
}

export async function deleteClusterStrategy(kube: Kube, name: string): Promise<void> {
  await kube.custom.deleteClusterCustomObject({ ...SW, plural: 'clusterbuildstrategies', name }).catch(() => undefined);
}

/**
 * A kubeconfig for a ServiceAccount token (TokenRequest API), for RBAC tests.
 * The ServiceAccount controller does not run in control-plane mode, so the account is created here.
 */
export async function serviceAccountKubeconfig(kube: Kube, namespace: string, sa: string): Promise<string> {
  await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: sa } } }).catch(() => undefined);
  const tr = await kube.core.createNamespacedServiceAccountToken({ name: sa, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = kube.config.getCurrentCluster()!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: 'test' }],
    users: [{ name: sa, token: tr.status!.token }],
    contexts: [{ name: 'sa', cluster: 'test', user: sa, namespace }],
    currentContext: 'sa',
  });
  const dir = mkdtempSync(join(tmpdir(), 'swc-kc-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}
