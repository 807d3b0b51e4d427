// `npm run selftest` (or the image with CMD ["npm", "run", "selftest"]): starts the app on a
// loopback port, exercises the API and checks the browser bundle is served. Exit 0 = OK.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { createApp } from "./app.js";
import { NoteStore, seed } from "./notes.js";

const server = createApp(seed(new NoteStore())).listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
try {
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  const summary = (await (await fetch(`${base}/api/summary`)).json()) as Array<{ component: string; latest: string }>;
  assert.deepEqual(summary.map((s) => [s.component, s.latest]), [["cache", "0.2.1"], ["sample-app", "1.0.0"]]);
  const created = await fetch(`${base}/api/notes`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ component: "cache", version: "0.3.0", kind: "security", date: "2026-12-04", title: "Redacted secrets", body: "*no* tokens in logs" }),
  });
  assert.equal(created.status, 201);
  assert.match(((await created.json()) as { html: string }).html, /<em>no<\/em>/);
  const bad = await fetch(`${base}/api/notes`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(bad.status, 400);
  const bundle = await fetch(`${base}/static/app.js`);
  assert.equal(bundle.status, 200);
  assert.ok((await bundle.text()).length > 10_000, "the browser bundle is served");
  console.log("selftest: ok");
} finally {
  server.close();
}
