// Who writes the cache, where, and what a user is told when that user cannot:
// the pure half of the non-root write check (cache-access.ts), on the upstream strategies.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { upstreamStrategy } from '../helpers/fixtures.js';
import { applyChanges, planCachePatch } from '../../scripts/lib/patch.js';
import { cacheWriters, fixPod, notWritableError, planProbes, probeFailures, probePod, type CacheWriter } from '../../scripts/lib/cache-access.js';
import { endedPodStatus } from '../helpers/fake-controller.js';
import { ExitCode } from '../../scripts/lib/errors.js';
import type { StrategySpec } from '../../scripts/lib/strategy-types.js';

const S = suite('cache-access: the build user and the cache path');

/** The strategy as patch-strategy leaves it, and the cache volumes a Build points at the claim. */
function patched(name: string): { spec: StrategySpec; volumes: string[] } {
  const spec = upstreamStrategy(name).spec;
  const plan = planCachePatch(spec, name);
  return { spec: applyChanges(spec, plan.changes), volumes: plan.cacheVolumes };
}

S('ko and BuildKit run their cache steps as 1000:1000 (strategy securityContext), buildah as root', () => {
  const ko = patched('ko');
  assert.equal(cacheWriters(ko.spec, ko.volumes), [{ step: 'build', volume: 'gocache', mountPath: '/gocache', uid: 1000, gid: 1000 }]);
  const bk = patched('buildkit');
  assert.equal(cacheWriters(bk.spec, bk.volumes).map((w) => [w.step, w.mountPath, w.uid, w.gid]), [['build-and-push', '/tekton/home/.local/share/buildkit', 1000, 1000]]);
  const bh = patched('buildah-shipwright-managed-push');
  const w = cacheWriters(bh.spec, bh.volumes);
  assert.ok(w.length >= 1);
  for (const x of w) assert.equal([x.step, x.uid, x.gid], ['build', 0, 0]);
  assert.equal(planProbes(w).probe, [], 'root needs no probe');
});

S('buildpacks: the added cache volume is probed at its sub-path as 1001:1000', () => {
  const bp = patched('buildpacks-v3');
  const w = cacheWriters(bp.spec, bp.volumes);
  assert.ok(w.length >= 1);
  for (const x of w) assert.equal([x.subPath, x.uid, x.gid], ['buildpacks', 1001, 1000]);
  assert.is(planProbes(w).probe.length, 1, 'one probe per user and sub-path');
});

S('a step securityContext overrides the strategy one, field by field; read-only mounts and other volumes are ignored', () => {
  const spec: StrategySpec = {
    securityContext: { runAsUser: 1000, runAsGroup: 1000 },
    steps: [
      { name: 'a', securityContext: { runAsUser: 2000 }, volumeMounts: [{ name: 'cache', mountPath: '/c', subPath: 'x' }] },
      { name: 'b', securityContext: { runAsUser: 0, runAsGroup: 0 }, volumeMounts: [{ name: 'cache', mountPath: '/c' }] },
      { name: 'c', volumeMounts: [{ name: 'cache', mountPath: '/c', readOnly: true }, { name: 'other', mountPath: '/o' }] },
      { name: 'd', volumeMounts: [{ name: 'cache', mountPath: '/d', subPath: 'x' }] },
    ],
  };
  const w = cacheWriters(spec, ['cache']);
  assert.equal(w.map((x) => [x.step, x.uid, x.gid, x.subPath]), [['a', 2000, 1000, 'x'], ['b', 0, 0, undefined], ['d', 1000, 1000, 'x']]);
  const plan = planProbes(w);
  assert.equal(plan.probe.map((x) => x.step), ['a', 'd'], 'distinct users on one sub-path are each probed');
  assert.equal(plan.skipped.map((x) => x.why), ["step 'b' runs as root"]);
});

S('no runAsUser anywhere: not probed, and the reason says the image user is unknown', () => {
  const plan = planProbes(cacheWriters({ steps: [{ name: 's', volumeMounts: [{ name: 'cache', mountPath: '/c' }] }] }, ['cache']));
  assert.equal(plan.probe, []);
  assert.match(plan.skipped[0].why, /sets no runAsUser .* image's user/);
});

const KO: CacheWriter = { step: 'build', volume: 'gocache', mountPath: '/gocache', subPath: 'gocache', uid: 1000, gid: 1000 };

S('the probe pod: labelled, one container per user, that user, the same mount and sub-path, paths passed as env', () => {
  const other: CacheWriter = { ...KO, step: 'x', mountPath: '/cache dir; rm -rf /', subPath: undefined, uid: 1001, gid: undefined };
  const p = probePod('ns', 'cache', 'busybox', 'run1', [KO, other]);
  assert.is(p.metadata!.name, 'cache-probe-run1');
  assert.equal(p.metadata!.labels, { 'app.kubernetes.io/managed-by': 'shipwright-cache', 'shipwright-cache.io/access-check': 'probe' });
  assert.is(p.spec!.restartPolicy, 'Never');
  assert.equal(p.spec!.volumes, [{ name: 'cache', persistentVolumeClaim: { claimName: 'cache' } }]);
  const [c0, c1] = p.spec!.containers;
  assert.equal(c0.securityContext, { runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, allowPrivilegeEscalation: false });
  assert.equal(c1.securityContext, { runAsUser: 1001, runAsNonRoot: true, allowPrivilegeEscalation: false });
  assert.equal(c0.volumeMounts, [{ name: 'cache', mountPath: '/gocache', subPath: 'gocache' }]);
  assert.equal(c1.volumeMounts, [{ name: 'cache', mountPath: '/cache dir; rm -rf /' }]);
  assert.equal(c1.env, [{ name: 'PROBE_DIR', value: '/cache dir; rm -rf /' }]);
  assert.not.match(c1.command!.join(' '), /rm -rf \//, 'the path never becomes shell text');
  assert.match(c0.command![2], /touch "\$f"/);
  assert.match(c0.command![2], /\/dev\/termination-log/);
});

S('the fix pod runs as root and chowns only what differs (idempotent), uid only when the group is unknown', () => {
  const p = fixPod('ns', 'cache', 'busybox', 'run1', [KO, { ...KO, gid: undefined, subPath: undefined, mountPath: '/c' }]);
  assert.is(p.metadata!.name, 'cache-chown-run1');
  const [c0, c1] = p.spec!.containers;
  assert.equal(c0.securityContext, { runAsUser: 0, runAsGroup: 0 });
  assert.equal(c0.env, [{ name: 'FIX_DIR', value: '/gocache' }, { name: 'FIX_UID', value: '1000' }, { name: 'FIX_GID', value: '1000' }]);
  assert.equal(c1.env![2], { name: 'FIX_GID', value: '' });
  assert.match(c0.command![2], /! -user \$FIX_UID -o ! -group \$FIX_GID/);
  assert.match(c0.command![2], /-exec chown -h "\$owner" \{\} \+/);
});

S('probe failures are read from the container statuses the kubelet writes', () => {
  const p = probePod('ns', 'cache', 'busybox', 'r', [KO, { ...KO, uid: 1001 }]);
  p.status = endedPodStatus(p, { c1: { exitCode: 13, message: "touch: /gocache/.shipwright-cache-write-probe-x: Permission denied\n" } });
  const f = probeFailures(p, [KO, { ...KO, uid: 1001 }]);
  assert.equal(f.map((x) => [x.writer.uid, x.detail]), [[1001, 'touch: /gocache/.shipwright-cache-write-probe-x: Permission denied']]);
  p.status = endedPodStatus(p, {});
  assert.equal(probeFailures(p, [KO]), []);
  p.status = endedPodStatus(p, { c0: { exitCode: 1 } });
  assert.is(probeFailures(p, [KO])[0].detail, 'exit code 1 (Error)');
});

S('the error names the claim, the path, the user, and the fix; exit code 6', () => {
  const e = notWritableError('ci', 'go-cache', 'BuildStrategy ci/ko-cached', [{ writer: KO, detail: 'touch: /gocache/x: Permission denied' }]);
  assert.is(e.exitCode, ExitCode.conflict);
  assert.is(e.message, "the cache volume PersistentVolumeClaim ci/go-cache is not writable by the build: step 'build' of BuildStrategy ci/ko-cached runs as uid 1000, gid 1000 and mounts it at /gocache (sub-path 'gocache' of the volume); writing a file there failed: touch: /gocache/x: Permission denied");
  assert.match(e.hint!, /^run again with --fix-permissions: a short root pod \(--reset-image\) changes the owner of the directory 'gocache' on the volume to 1000:1000 once/);
  const after = notWritableError('ci', 'go-cache', 'BuildStrategy ci/ko-cached', [{ writer: { ...KO, subPath: undefined }, detail: 'd' }], true);
  assert.match(after.message, /still, after --fix-permissions .* root_squash/);
  assert.match(after.hint!, /on the storage side/);
});

S.run();
