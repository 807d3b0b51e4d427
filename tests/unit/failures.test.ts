import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classifyFailure, diskFullMessage, parseDf, redact } from '../../scripts/lib/failures.js';
import { leaseFree, microTime } from '../../scripts/lib/lease.js';

test('disk full wins over everything, with the line as evidence', () => {
  const c = classifyFailure('build failed', 'STEP 3/5: RUN npm ci\nerror: write /var/lib/containers/storage/overlay/abc/diff/x: no space left on device\n');
  assert.is(c.kind, 'disk-full');
  assert.match(c.evidence!, /no space left on device/);
});

test('corrupted or stale-locked stores of buildah and BuildKit are recognised', () => {
  const cases = [
    'Error: creating build container: layer not known',
    'error mounting layer 7a3c: readlink /var/lib/containers/storage/overlay/l/ABCD: no such file or directory',
    'Error: readlink /var/lib/containers/storage/overlay/5f2a/link: no such file or directory',
    'error locating item named "manifest" for image with ID "1234": file does not exist',
    'time="..." level=error msg="reading layers.json: unexpected end of JSON input"',
    'error: failed to solve: failed to compute cache key: parent snapshot sha256:abcd does not exist: not found',
    'buildkitd: failed to open bolt database: timeout',
  ];
  for (const line of cases) assert.is(classifyFailure(undefined, `noise\n${line}\nmore`).kind, 'cache-corrupt', line);
});

test('ordinary build failures are "other"', () => {
  assert.equal(classifyFailure('step build failed', 'npm ERR! 404 Not Found - GET http://registry/left-pad\nexit status 1'), { kind: 'other' });
  assert.equal(classifyFailure(undefined, undefined), { kind: 'other' });
});

test('df output and the full-volume message', () => {
  const df = parseDf('Filesystem     1K-blocks    Used Available Use% Mounted on\n/dev/vda       3145728 3140000      5728 100% /cache\n');
  assert.equal(df, { sizeKiB: 3145728, availKiB: 5728, usePercent: '100%' });
  const m = diskFullMessage('cache', 'ci', '3Gi', df);
  assert.match(m.message, /PersistentVolumeClaim ci\/cache is full \(size 3.00 GiB, 0.01 GiB free \(100% used\)\)/);
  assert.match(m.hint, /cache-pvc --name cache --size <larger>/);
  assert.match(diskFullMessage('cache', 'ci', '3Gi').message, /requested 3Gi; free space could not be read/);
  assert.is(parseDf('garbage'), undefined);
});

test('secrets are removed from text', () => {
  assert.is(redact('cloning https://bot:ghp_abc123@github.com/org/repo.git failed'), 'cloning https://***@github.com/org/repo.git failed');
  assert.is(redact('Authorization: Bearer eyJhbGciOi.x.y'), 'Authorization: Bearer ***');
  assert.is(redact('--password=hunter2 token: abc'), '--password=*** token: ***');
  assert.is(redact('http://10.88.0.1:5000/offline/app'), 'http://10.88.0.1:5000/offline/app');
});

test('a lease is free when unheld or not renewed within its duration', () => {
  const now = new Date('2026-12-03T10:01:00Z');
  assert.ok(leaseFree({}, now));
  assert.ok(leaseFree({ holder: 'a' }, now), 'never renewed');
  assert.not.ok(leaseFree({ holder: 'a', renewTime: new Date('2026-12-03T10:00:30Z'), durationSeconds: 60 }, now));
  assert.ok(leaseFree({ holder: 'a', renewTime: new Date('2026-12-03T09:59:59Z'), durationSeconds: 60 }, now));
});

test('MicroTime has six fractional digits', () => {
  assert.is(microTime(new Date('2026-12-03T10:00:00.123Z')), '2026-12-03T10:00:00.123000Z');
});

test.run();
