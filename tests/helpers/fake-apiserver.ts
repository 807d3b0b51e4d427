// An HTTP server on loopback that answers like a kube-apiserver with recorded
// responses, for faults the test cluster cannot produce on demand (throttling,
// an unavailable server, a webhook down, an expired list, a proxy's HTML page,
// a token that expires mid-run). The real @kubernetes/client-node talks to it,
// so the responses go through the same parsing as in production.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON (application/json); a string as it is (Content-Type from headers). */
  body?: unknown;
}

export interface Route {
  method?: string;
  /** Matched against the path and query. */
  path: RegExp;
  /** Replies in order; the last one repeats. */
  replies: Reply[];
}

export class FakeApiServer {
  private server?: Server;
  readonly requests: { method: string; url: string }[] = [];
  private routes: (Route & { used: number })[] = [];
  url = '';

  on(route: Route): this {
    this.routes.push({ ...route, used: 0 });
    return this;
  }

  reset(): void {
    this.routes = [];
    this.requests.length = 0;
  }

  hits(method: string, path: RegExp): number {
    return this.requests.filter((r) => r.method === method && path.test(r.url)).length;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      this.requests.push({ method, url });
      req.resume();
      req.on('end', () => {
        const route = this.routes.find((r) => (!r.method || r.method === method) && r.path.test(url));
        const reply: Reply = route
          ? route.replies[Math.min(route.used++, route.replies.length - 1)]
          : { status: 404, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `the server could not find the requested resource (${method} ${url})`, reason: 'NotFound', details: {}, code: 404 } };
        const text = typeof reply.body === 'string' ? reply.body : reply.body === undefined ? '' : JSON.stringify(reply.body);
        const headers = { ...(typeof reply.body === 'string' ? {} : { 'Content-Type': 'application/json' }), ...(reply.headers ?? {}) };
        res.writeHead(reply.status, headers);
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** A kubeconfig for this server (plain HTTP: insecure-skip-tls-verify), with a bearer token. */
  kubeconfig(namespace = 'ci'): string {
    const dir = mkdtempSync(join(tmpdir(), 'swc-fake-api-'));
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', 'current-context: fake',
      'clusters:', `- name: fake`, '  cluster:', `    server: ${this.url}`, '    insecure-skip-tls-verify: true',
      'users:', '- name: fake', '  user:', '    token: fake-token',
      'contexts:', '- name: fake', '  context:', '    cluster: fake', '    user: fake', `    namespace: ${namespace}`,
      '',
    ].join('\n'), { mode: 0o600 });
    return path;
  }
}
