// Builds a Tekton Bundle (docs/tekton-bundle-contracts.md in tektoncd/pipeline) of the Tasks and
// the Pipeline as an OCI image layout: one gzipped tar layer per resource, holding one YAML file,
// annotated with dev.tekton.image.{apiVersion,kind,name}. Push it with any OCI tool, e.g.
//   skopeo copy oci:DIR:TAG docker://REGISTRY/shipwright-cache/bundle:TAG
// (`tkn bundle push` produces the same shape.)
// Usage: node hack/bundle.mjs OUT_DIR TAG FILE.yaml...
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { YAML } from 'zx';

const [out, tag, ...files] = process.argv.slice(2);
if (!out || !tag || files.length === 0) {
  process.stderr.write('usage: node hack/bundle.mjs OUT_DIR TAG FILE.yaml...\n');
  process.exit(2);
}
const blobs = join(out, 'blobs', 'sha256');
mkdirSync(blobs, { recursive: true });
const put = (buf) => {
  const digest = createHash('sha256').update(buf).digest('hex');
  writeFileSync(join(blobs, digest), buf);
  return { digest: `sha256:${digest}`, size: buf.length };
};

/** A one-file ustar archive (fixed mode and time, so the same input gives the same digest). */
function tar(name, content) {
  const h = Buffer.alloc(512);
  const field = (off, len, s) => h.write(s, off, len, 'ascii');
  const octal = (off, len, n) => field(off, len, n.toString(8).padStart(len - 1, '0') + '\0');
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, content.length);
  octal(136, 12, 0);
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  field(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([h, content, pad, Buffer.alloc(1024)]);
}

const layers = [];
const seen = new Set();
for (const f of files) {
  const doc = YAML.parse(readFileSync(f, 'utf8'));
  const kind = String(doc.kind).toLowerCase();
  const key = `${doc.apiVersion}/${kind}/${doc.metadata.name}`;
  if (!doc.apiVersion || !doc.kind || !doc.metadata?.name) throw new Error(`${f}: not a Tekton resource (apiVersion, kind, metadata.name)`);
  if (seen.has(key)) throw new Error(`${f}: ${key} is already in the bundle`);
  seen.add(key);
  const blob = put(gzipSync(tar(basename(f), Buffer.from(YAML.stringify(doc))), { level: 9 }));
  layers.push({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    ...blob,
    annotations: { 'dev.tekton.image.apiVersion': doc.apiVersion, 'dev.tekton.image.kind': kind, 'dev.tekton.image.name': doc.metadata.name },
  });
}
if (layers.length > 20) throw new Error(`a bundle holds at most 20 resources, not ${layers.length}`);
const config = put(Buffer.from('{}'));
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers }));
const m = put(manifest);
writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(join(out, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }] }));
process.stdout.write(`${m.digest}\n`);
