// Input checks found missing by an adversarial tester: huge and exponent sizes, image
// references, credentials in the source URL, labels the tool sets itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_SIZE_BYTES, imageRefProblem, parseQuantity, refuseReservedLabels, validateImageRef, validateName, validateSize, validateSourceUrl } from '../../scripts/lib/validate.js';
import { PVC_OWN_LABELS } from '../../scripts/lib/pvc.js';
import { CliError, ExitCode, formatError } from '../../scripts/lib/errors.js';

const usage = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.usage && re.test(formatError(e)));

test('sizes: 100Ei is whole but too large, and the message gives the maximum', () => {
  usage(() => validateSize('--size', '100Ei'), /--size '100Ei' is too large: at most 8191Ti \(9007199254740991 bytes/);
  usage(() => validateSize('--size', '8Pi'), /too large/);
  assert.is(validateSize('--size', '8191Ti'), '8191Ti');
  assert.ok(parseQuantity('8191Ti')! <= MAX_SIZE_BYTES);
});

test('sizes: decimal exponents (Kubernetes quantity e/E forms) are taken', () => {
  assert.is(parseQuantity('1e3'), 1000);
  assert.is(parseQuantity('5E9'), 5e9);
  assert.is(parseQuantity('2e+3'), 2000);
  assert.is(parseQuantity('1E'), 1e18, 'E alone is still exa');
  assert.is(validateSize('--size', '1e3'), '1e3');
  assert.is(validateSize('--size', '3e9'), '3e9');
  usage(() => validateSize('--size', '1e-3'), /not a whole number of bytes/);
  usage(() => validateSize('--size', '1e'), /not a storage size/);
});

test('image references: upper case, bad tags and digests refused (exit 2, with the form)', () => {
  usage(() => validateImageRef('--output-image', 'UPPER/Case:tag'), /--output-image 'UPPER\/Case:tag' is not a valid image reference: the repository path 'UPPER\/Case' must be lower-case\n  fix: use \[registry\[:port\]\/\]repository/);
  for (const bad of ['reg.io/app:', 'reg.io/app:-x', 'app@sha256:abc', 'reg.io//app', 'reg.io/app name', 'reg.io:port/app', ':tag', 'a/B']) {
    assert.ok(imageRefProblem(bad), bad);
  }
  for (const ok of ['app', 'team/app', 'registry.example.com/team/app', 'Registry.Example.com:5000/team/app:v1.2_3', 'localhost/app:latest', '10.88.0.1:5000/offline/app', 'ghcr.io/a/b__c-d.e/f', `reg.io/app:v1@sha256:${'a'.repeat(64)}`, `reg.io/app@sha256:${'0'.repeat(64)}`, '[::1]:5000/app']) {
    assert.is(imageRefProblem(ok), undefined, ok);
  }
});

test('secret names: DNS-1123 subdomains', () => {
  usage(() => validateName('--push-secret', 'BAD_'), /--push-secret 'BAD_' is not a valid Kubernetes name/);
  assert.is(validateName('--clone-secret', 'git-creds'), 'git-creds');
});

test('source URL: credentials refused (exit 2) without echoing them; plain and ssh URLs taken', () => {
  for (const u of ['https://user:secret@github.com/x/y', 'https://secret@github.com/x/y', 'ssh://git:secret@github.com/x/y']) {
    let msg = '';
    try {
      validateSourceUrl('--source-url', u);
    } catch (err) {
      assert.is((err as CliError).exitCode, ExitCode.usage);
      msg = formatError(err);
    }
    assert.match(msg, /carries credentials in the URL/, u);
    assert.match(msg, /--clone-secret/);
    assert.not.match(msg, /secret@|:secret|user:/, u);
  }
  for (const u of ['https://github.com/x/y', 'git@github.com:x/y.git', 'ssh://git@github.com/x/y.git', 'http://10.0.0.1:3000/x/y']) assert.is(validateSourceUrl('--source-url', u), u);
});

test('reserved labels: app.kubernetes.io/managed-by and shipwright-cache.io/* refused, naming the reserved ones', () => {
  usage(() => refuseReservedLabels('--label', { 'app.kubernetes.io/managed-by': 'me' }, PVC_OWN_LABELS), /--label 'app.kubernetes.io\/managed-by=me': that label is the tool's own[\s\S]*reserved: app.kubernetes.io\/managed-by, app.kubernetes.io\/component, shipwright-cache.io\/\*/);
  usage(() => refuseReservedLabels('--label', { 'shipwright-cache.io/pvc': 'x' }, ['app.kubernetes.io/managed-by']), /shipwright-cache.io\/pvc=x/);
  refuseReservedLabels('--label', { team: 'ci', 'app.kubernetes.io/part-of': 'ci' }, PVC_OWN_LABELS);
});

test.run();
