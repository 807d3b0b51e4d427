// A kubeconfig that reaches no cluster, and assertions on the CliError a pure function throws:
// for tests of checks that must happen before any API call.
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../../scripts/lib/errors.js';

/**
 * Writes DIR/kubeconfig naming an API server on a port nobody listens on (namespace ci) and
 * returns its path: a check that reaches the API server through it fails with exit 3.
 */
export function unreachableKubeconfig(dir: string): string {
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: ci}}]\ncurrent-context: x\n',
  );
  return kubeconfig;
}

/** `fn` throws a CliError with exit code `code` and a message matching `message`; returns it. */
export function throwsCli(fn: () => unknown, code: number, message: RegExp): CliError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, CliError, String(err));
    assert.is((err as CliError).exitCode, code, (err as Error).message);
    assert.match((err as Error).message, message);
    return err as CliError;
  }
  throw new Error('expected a CliError');
}
