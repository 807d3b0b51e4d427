// The static file server behind e2e/install/npm-server.sh: GET/HEAD of the files under --root,
// nothing else (no publish, no search, no audit). It exists instead of busybox httpd because npm
// asks for scoped packuments as /@scope%2fname, and busybox answers 404 to any URL with an encoded
// "/". Here the path is percent-decoded as a whole, so /@types%2fnode is the file @types/node.
// One request per log line on stdout: time, address, method, path, status, bytes.
//
// Usage: node npm-registry.mjs --listen HOST:PORT --root DIR
import http from "node:http";
import fs from "node:fs";
import path from "node:path";

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || !process.argv[i + 1]) {
    console.error(`usage: node npm-registry.mjs --listen HOST:PORT --root DIR (missing ${name})`);
    process.exit(2);
  }
  return process.argv[i + 1];
}

const listen = arg("--listen");
const root = path.resolve(arg("--root"));
const sep = listen.lastIndexOf(":");
const host = listen.slice(0, sep);
const port = Number(listen.slice(sep + 1));

function log(req, status, bytes) {
  console.log(`${new Date().toISOString()} ${req.socket.remoteAddress} ${req.method} ${req.url} ${status} ${bytes}`);
}

function fail(req, res, status) {
  const body = JSON.stringify({ error: http.STATUS_CODES[status] ?? String(status) }) + "\n";
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(req.method === "HEAD" ? undefined : body);
  log(req, status, 0);
}

const server = http.createServer((req, res) => {
  if (req.method !== "GET" && req.method !== "HEAD") return fail(req, res, 405);
  let rel;
  try {
    rel = decodeURIComponent(new URL(req.url ?? "/", "http://registry.invalid").pathname);
  } catch {
    return fail(req, res, 400);
  }
  const file = path.join(root, path.normalize(rel));
  if (rel.includes("\0") || (file !== root && !file.startsWith(root + path.sep))) return fail(req, res, 400);
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) return fail(req, res, 404);
    const type = file.endsWith(".tgz") ? "application/octet-stream" : "application/json";
    res.writeHead(200, { "content-type": type, "content-length": st.size, "cache-control": "no-cache" });
    if (req.method === "HEAD") {
      res.end();
      log(req, 200, 0);
      return;
    }
    const stream = fs.createReadStream(file);
    stream.on("error", () => res.destroy());
    stream.on("end", () => log(req, 200, st.size));
    stream.pipe(res);
  });
});

server.on("error", (err) => {
  console.error(`npm-registry: ${err.message}`);
  process.exit(1);
});
server.listen(port, host, () => {
  console.log(`${new Date().toISOString()} npm-registry listening on http://${listen}/ root ${root}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
