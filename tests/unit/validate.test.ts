import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDuration, parseLabels, parseQuantity, validateAccessMode, validateDuration, validateName, validateSize, validateLabelName } from '../../scripts/lib/validate.js';
import { CliError, ExitCode } from '../../scripts/lib/errors.js';

const usage = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.usage && re.test(e.message));

test('names: DNS-1123', () => {
  assert.is(validateName('--name', 'buildah-cache'), 'buildah-cache');
  assert.is(validateName('--name', 'a.b-c'), 'a.b-c');
  usage(() => validateName('--name', 'Bad_Name'), /--name 'Bad_Name' is not a valid Kubernetes name/);
  usage(() => validateName('--name', ''), /--name ''/);
  usage(() => validateName('--name', '-x'), /not a valid/);
  usage(() => validateName('--name', 'a'.repeat(254)), /not a valid/);
  usage(() => validateLabelName('--namespace', 'a.b'), /--namespace 'a.b' is not a valid name/);
});

test('sizes: Kubernetes quantities', () => {
  assert.is(parseQuantity('3Gi'), 3 * 2 ** 30);
  assert.is(parseQuantity('500Mi'), 500 * 2 ** 20);
  assert.is(parseQuantity('1G'), 1e9);
  assert.is(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
  assert.is(parseQuantity('1024'), 1024);
  assert.is(parseQuantity('3GB'), undefined);
  assert.is(parseQuantity('-1Gi'), undefined);
  usage(() => validateSize('--size', '3 gigs'), /--size '3 gigs' is not a storage size/);
  usage(() => validateSize('--size', '0'), /not a storage size/);
  usage(() => validateSize('--size', '1.1Gi'), /--size '1.1Gi' is not a whole number of bytes/);
  usage(() => validateSize('--size', '500m'), /not a storage size/);
  usage(() => validateSize('--size', '99999999999999999999Ei'), /is too large: at most 8191Ti/);
  assert.is(validateSize('--size', '1.5Gi'), '1.5Gi');
  // what the API server stores for 1.1Gi reads back as the same number of bytes
  assert.is(parseQuantity('1181116006400m'), 1181116006.4);
});

test('durations', () => {
  assert.is(parseDuration('90s'), 90_000);
  assert.is(parseDuration('10m'), 600_000);
  assert.is(parseDuration('1h30m'), 5_400_000);
  assert.is(parseDuration('250ms'), 250);
  assert.is(parseDuration('45'), 45_000);
  assert.is(parseDuration('10 minutes'), undefined);
  assert.is(parseDuration('5x'), undefined);
  assert.is(parseDuration(''), undefined);
  usage(() => validateDuration('--timeout', 'soon'), /--timeout 'soon' is not a duration/);
  usage(() => validateDuration('--timeout', '0s'), /--timeout '0s' is zero; it must be longer than that/);
});

test('access modes', () => {
  assert.is(validateAccessMode('--access-mode', 'ReadWriteMany'), 'ReadWriteMany');
  usage(() => validateAccessMode('--access-mode', 'RWO'), /--access-mode 'RWO' is not an access mode/);
});

test('labels', () => {
  assert.equal(parseLabels('--label', ['a=b', 'app.kubernetes.io/part-of=ci,x=']), { a: 'b', 'app.kubernetes.io/part-of': 'ci', x: '' });
  assert.equal(parseLabels('--label', undefined), {});
  usage(() => parseLabels('--label', ['novalue']), /--label 'novalue' is not a valid label/);
  usage(() => parseLabels('--label', ['a=b c']), /not a valid label/);
});

test.run();
