import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { upstreamStrategies, upstreamStrategy } from '../helpers/fixtures.js';
import { applyChanges, changesToOps, planCachePatch, revertChanges, revertOps, specHash } from '../../scripts/lib/patch.js';
import { PROFILES, detectProfile, locationPath, CACHE_VOLUME } from '../../scripts/lib/profiles.js';
import { applyJsonPatch, deepEqual } from '../../scripts/lib/jsonpatch.js';
import { CliError, ExitCode } from '../../scripts/lib/errors.js';
import type { StrategySpec } from '../../scripts/lib/strategy-types.js';

const all = upstreamStrategies();

/** Every leaf path where a and b differ (arrays compared index by index). */
function diffPaths(a: unknown, b: unknown, path = ''): string[] {
  if (deepEqual(a, b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    return [...keys].flatMap((k) => diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}/${k}`));
  }
  return [path];
}

// What the refusals and the patchable ones are, per upstream file (12 objects).
const EXPECTED: Record<string, string> = {
  'buildah-shipwright-managed-push': 'buildah',
  'buildah-strategy-managed-push': 'buildah',
  buildkit: 'buildkit',
  'buildpacks-v3': 'buildpacks',
  'buildpacks-v3-heroku': 'buildpacks',
  kaniko: 'kaniko',
  ko: 'ko',
  'multiarch-native-buildah': 'multiarch-native-buildah',
  'source-to-image-redhat': 'buildah',
  'source-to-image': 'kaniko',
};

test('the fixtures hold the 12 upstream strategy objects', () => {
  assert.is(all.length, 12);
  assert.is(all.filter((s) => s.object.kind === 'BuildStrategy').length, 2);
});

test('each upstream strategy gets the expected profile', () => {
  for (const { object, file } of all) {
    const m = detectProfile(object.spec);
    assert.ok(m, `${file}: no profile`);
    assert.is(m!.profile.id, EXPECTED[object.metadata.name], file);
  }
});

for (const { object, file } of all) {
  const label = `${object.kind}/${object.metadata.name} (${file})`;
  const profile = detectProfile(object.spec)!.profile;
  if (profile.refusal) {
    test(`${label}: refused with a reason that names the supported tools`, () => {
      try {
        planCachePatch(object.spec, label);
        assert.unreachable('should refuse');
      } catch (err) {
        assert.instance(err, CliError);
        assert.is((err as CliError).exitCode, ExitCode.usage);
        assert.match((err as CliError).message, profile.tool);
        assert.match((err as CliError).hint ?? '', /supported tools: .*buildah \(\/var\/lib\/containers, /);
      }
    });
    continue;
  }

  test(`${label}: patch, then unpatch, round-trips exactly; a second patch changes nothing`, () => {
    const original = structuredClone(object.spec);
    const plan = planCachePatch(object.spec, label);
    const patched = applyChanges(object.spec, plan.changes);
    assert.equal(object.spec, original, 'input not mutated');
    assert.equal(revertChanges(patched, plan.changes), original);
    const again = planCachePatch(patched, label);
    assert.equal(again.changes, [], 'second patch is a no-op');
    assert.equal(again.cacheVolumes, plan.cacheVolumes);
  });

  test(`${label}: the patched strategy mounts an overridable cache volume where the tool reads its cache`, () => {
    const plan = planCachePatch(object.spec, label);
    const patched = applyChanges(object.spec, plan.changes);
    const toolSteps = detectProfile(patched)!.stepIndexes.map((i) => patched.steps[i]);
    assert.ok(plan.cacheVolumes.length > 0);
    for (const loc of profile.locations) {
      for (const step of toolSteps) {
        const where = locationPath(loc, step, patched).path;
        assert.ok(where, `${loc.what}: a path in step ${step.name}`);
        const m = (step.volumeMounts ?? []).find((vm) => vm.mountPath === where);
        assert.ok(m, `step ${step.name} mounts ${where}`);
        const vol = (patched.volumes ?? []).find((v) => v.name === m!.name);
        assert.ok(vol, `volume ${m!.name} declared`);
        assert.is(vol!.overridable, true);
        assert.ok(plan.cacheVolumes.includes(m!.name));
      }
    }
    for (const [k, v] of Object.entries(profile.env ?? {})) {
      for (const step of toolSteps) assert.ok((step.env ?? []).some((e) => e.name === k && e.value === v), `${step.name} has ${k}=${v}`);
    }
    // Each scratch directory beside the cache is a per-build emptyDir a Build cannot point elsewhere.
    for (const dir of profile.scratch ?? []) {
      for (const step of toolSteps) {
        const m = (step.volumeMounts ?? []).find((vm) => vm.mountPath === dir.mountPath);
        assert.ok(m, `step ${step.name} mounts ${dir.mountPath}`);
        const vol = (patched.volumes ?? []).find((v) => v.name === m!.name);
        assert.equal(vol?.emptyDir, {});
        assert.ok(vol?.overridable !== true && !plan.cacheVolumes.includes(m!.name));
      }
    }
  });

  test(`${label}: nothing outside the cache fields changes`, () => {
    const plan = planCachePatch(object.spec, label);
    const patched = applyChanges(object.spec, plan.changes);
    const toolNames = new Set(detectProfile(object.spec)!.stepIndexes.map((i) => object.spec.steps[i].name));
    const nVol = (object.spec.volumes ?? []).length;
    // Volumes a patch may add: the cache volume, and the profile's per-build scratch directories.
    const added = [CACHE_VOLUME, ...(profile.scratch ?? []).map((d) => d.volume)];
    for (const p of diffPaths(object.spec, patched)) {
      const ok =
        /^\/volumes\/\d+\/overridable$/.test(p) ||
        (/^\/volumes(\/\d+)?$/.test(p) && added.includes(patched.volumes?.[Number(p.split('/')[2] ?? 0)]?.name ?? '') && Number(p.split('/')[2] ?? 0) >= nVol) ||
        (/^\/steps\/(\d+)\/(volumeMounts|env)(\/\d+)?$/.test(p) && toolNames.has(patched.steps[Number(p.split('/')[2])].name));
      assert.ok(ok, `unexpected change at ${p}`);
    }
  });

  test(`${label}: the JSON Patch guards every indexed operation with a name test`, () => {
    const plan = planCachePatch(object.spec, label);
    const ops = changesToOps(object.spec, plan.changes);
    ops.forEach((op, i) => {
      if (op.op === 'test' || /\/-$/.test(op.path) || /^\/spec\/volumes$/.test(op.path)) return;
      const guard = ops.slice(0, i).reverse().find((o) => o.op === 'test' && o.path.endsWith('/name'));
      assert.ok(guard, `op ${i} ${op.op} ${op.path} has a preceding name test`);
    });
    // and the ops, applied to the whole object, touch only spec
    const obj = applyJsonPatch(object, ops);
    assert.equal(obj.metadata, object.metadata);
  });
}

test('buildah: container storage on its own volume made overridable; RUN --mount=type=cache dirs under $TMPDIR on the cache volume; layers on', () => {
  const s = upstreamStrategy('buildah-shipwright-managed-push');
  const plan = planCachePatch(s.spec, 'buildah', { storageDriver: 'overlay' });
  assert.equal(plan.cacheVolumes, ['shp-buildah-container-storage', CACHE_VOLUME]);
  assert.equal(plan.changes, [
    { type: 'volume-overridable', volume: 'shp-buildah-container-storage', before: undefined },
    { type: 'volume-added', volume: { name: CACHE_VOLUME, description: 'Build cache kept between BuildRuns; point it at a PersistentVolumeClaim in the Build (added by shipwright-cache)', overridable: true, emptyDir: {} }, createdList: false },
    // upstream sets TMPDIR=/shp-tmp and runs buildah as root: buildah's cache parent is
    // /shp-tmp/buildah-cache-0 (v1.29 on) or /shp-tmp/buildah-cache (up to v1.28); one sub-path
    { type: 'mount-added', step: 'build', mount: { name: CACHE_VOLUME, mountPath: '/shp-tmp/buildah-cache-0', subPath: 'buildah-cache' }, createdList: false },
    { type: 'mount-added', step: 'build', mount: { name: CACHE_VOLUME, mountPath: '/shp-tmp/buildah-cache', subPath: 'buildah-cache' }, createdList: false },
    { type: 'env-added', step: 'build', env: { name: 'BUILDAH_LAYERS', value: 'true' }, createdList: false },
    { type: 'param-default', param: 'storage-driver', before: 'vfs', after: 'overlay' },
  ]);
  const patched = applyChanges(s.spec, plan.changes);
  assert.is(patched.parameters!.find((p) => p.name === 'storage-driver')!.default, 'overlay');
  assert.equal(revertChanges(patched, plan.changes), s.spec);
});

test('source-to-image-redhat: adds a build-cache volume and mounts it at /var/lib/containers in the buildah step only', () => {
  const s = upstreamStrategy('source-to-image-redhat');
  const plan = planCachePatch(s.spec, 's2i');
  assert.equal(plan.cacheVolumes, [CACHE_VOLUME]);
  const patched = applyChanges(s.spec, plan.changes);
  const buildah = patched.steps.find((x) => x.name === 'buildah')!;
  // both locations on the one cache volume, under their own sub-paths
  assert.equal(buildah.volumeMounts!.slice(-3), [
    { name: CACHE_VOLUME, mountPath: '/var/lib/containers', subPath: 'containers' },
    { name: CACHE_VOLUME, mountPath: '/var/tmp/buildah-cache-0', subPath: 'buildah-cache' },
    { name: CACHE_VOLUME, mountPath: '/var/tmp/buildah-cache', subPath: 'buildah-cache' },
  ]);
  assert.equal(patched.steps.find((x) => x.name === 's2i-generate')!.volumeMounts, s.spec.steps[0].volumeMounts);
});

test('buildpacks: a strategy without cache volume gets one at the lifecycle cache dir', () => {
  const s = upstreamStrategy('buildpacks-v3', 'BuildStrategy');
  const patched = applyChanges(s.spec, planCachePatch(s.spec, 'bp').changes);
  assert.ok(patched.steps[0].volumeMounts!.some((m) => m.mountPath === '/tmp/.shp/cache' && m.name === CACHE_VOLUME));
  // The script's `mkdir -p /tmp/.shp/layers` runs as uid 1001; with the cache mounted below
  // /tmp/.shp that parent is root's, so the layers dir gets an emptyDir of its own.
  assert.equal(patched.steps[0].volumeMounts!.find((m) => m.mountPath === '/tmp/.shp/layers'), { name: 'buildpacks-layers', mountPath: '/tmp/.shp/layers' });
  assert.match(String(s.spec.steps[0].args?.[1]), /LAYERS_DIR=\/tmp\/\.shp\/layers\n\s*CACHE_DIR=\/tmp\/\.shp\/cache\n\s*mkdir -p "\$CACHE_DIR" "\$LAYERS_DIR"/);
});

test('scratch directories: not added where the step already mounts something there, nor without a cache mount', () => {
  const s = upstreamStrategy('buildpacks-v3');
  s.spec.volumes!.push({ name: 'my-layers', emptyDir: {} });
  s.spec.steps[0].volumeMounts!.push({ name: 'my-layers', mountPath: '/tmp/.shp/layers/' });
  const plan = planCachePatch(s.spec, 'bp');
  assert.ok(!plan.changes.some((c) => c.type === 'volume-added' && c.volume.name === 'buildpacks-layers'));
  assert.is(plan.changes.filter((c) => c.type === 'mount-added').length, 1);
  // Already mounting a cache volume at the cache dir (made cache-ready by hand): nothing added.
  const t = upstreamStrategy('buildpacks-v3');
  t.spec.volumes!.push({ name: 'cache', overridable: true, emptyDir: {} });
  t.spec.steps[0].volumeMounts!.push({ name: 'cache', mountPath: '/tmp/.shp/cache' });
  assert.equal(planCachePatch(t.spec, 'bp').changes, []);
});

test('ko is already cache-ready: no change, its gocache volume is the cache', () => {
  const s = upstreamStrategy('ko');
  const plan = planCachePatch(s.spec, 'ko');
  assert.equal(plan.changes, []);
  assert.equal(plan.cacheVolumes, ['gocache']);
});

test('an existing BUILDAH_LAYERS is respected and reported', () => {
  const s = upstreamStrategy('buildah-strategy-managed-push');
  s.spec.steps[0].env!.push({ name: 'BUILDAH_LAYERS', value: 'false' });
  const plan = planCachePatch(s.spec, 'x');
  assert.ok(!plan.changes.some((c) => c.type === 'env-added'));
  assert.match(plan.notes.join('\n'), /already sets BUILDAH_LAYERS="false"/);
});

test('a strategy whose tool is unknown is refused, naming the supported tools', () => {
  const spec: StrategySpec = { steps: [{ name: 'make', image: 'docker.io/library/gcc:14', command: ['make'] }] };
  try {
    planCachePatch(spec, 'BuildStrategy/custom');
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /BuildStrategy\/custom: no known cache location/);
    assert.match((err as CliError).hint!, /buildah.*buildkit|buildkit.*buildah/);
  }
});

test('--storage-driver validation names the flag and the choices', () => {
  const s = upstreamStrategy('buildah-shipwright-managed-push');
  assert.throws(() => planCachePatch(s.spec, 'b', { storageDriver: 'zfs' }), /--storage-driver 'zfs' is not supported/);
  assert.throws(() => planCachePatch(upstreamStrategy('buildkit').spec, 'k', { storageDriver: 'overlay' }), /has no 'storage driver' parameter|has no/);
});

test('--profile forces a profile, and refuses one that matches no step', () => {
  const s = upstreamStrategy('buildah-shipwright-managed-push');
  assert.is(planCachePatch(s.spec, 'b', { profileId: 'buildah' }).profile.id, 'buildah');
  assert.throws(() => planCachePatch(s.spec, 'b', { profileId: 'buildkit' }), /matches no step/);
  assert.throws(() => planCachePatch(s.spec, 'b', { profileId: 'nope' }), /unknown profile 'nope'/);
});

test('undo refuses when someone changed what the patch added', () => {
  const s = upstreamStrategy('buildah-shipwright-managed-push');
  const plan = planCachePatch(s.spec, 'b');
  const patched = applyChanges(s.spec, plan.changes);
  patched.steps[0].env = patched.steps[0].env!.filter((e) => e.name !== 'BUILDAH_LAYERS');
  assert.throws(() => revertOps(patched, plan.changes), (err: unknown) => err instanceof CliError && err.exitCode === ExitCode.conflict && /BUILDAH_LAYERS/.test(err.message));
});

test('undo locates entries by name, so unrelated edits made since do not block it', () => {
  const s = upstreamStrategy('source-to-image-redhat');
  const plan = planCachePatch(s.spec, 's2i');
  const patched = applyChanges(s.spec, plan.changes);
  patched.volumes!.unshift({ name: 'extra', emptyDir: {} });
  const reverted = revertChanges(patched, plan.changes);
  assert.equal(reverted.volumes!.slice(1), s.spec.volumes);
  assert.equal(reverted.steps, s.spec.steps);
});

test('the ops fail on a strategy changed between read and write (stale index)', () => {
  const s = upstreamStrategy('buildah-shipwright-managed-push');
  const plan = planCachePatch(s.spec, 'b');
  const ops = changesToOps(s.spec, plan.changes);
  const moved = structuredClone(s.spec);
  moved.volumes!.unshift({ name: 'other', emptyDir: {} });
  assert.throws(() => applyJsonPatch({ spec: moved }, ops), /test failed at \/spec\/volumes\/0\/name/);
});

test('specHash is stable across key order and changes with content', () => {
  assert.is(specHash({ a: 1, b: [1, { c: 2, d: 3 }] }), specHash({ b: [1, { d: 3, c: 2 }], a: 1 }));
  assert.is.not(specHash({ a: 1 }), specHash({ a: 2 }));
  assert.is(specHash({ a: 1, u: undefined }), specHash({ a: 1 }));
});

test('every profile has either cache locations or a refusal', () => {
  for (const p of PROFILES) assert.ok((p.locations.length > 0) !== Boolean(p.refusal), p.id);
});

test('buildah found from command and args (not only the image); mount paths compared normalized', () => {
  const spec: StrategySpec = {
    steps: [{ name: 'build', image: 'registry.example.com/ci/builder:1', command: ['buildah'], args: ['bud', '--layers', '-t', 'img', '.'], volumeMounts: [{ name: 'storage', mountPath: '/var/lib/containers/' }] }],
    volumes: [{ name: 'storage', emptyDir: {} }],
  };
  const plan = planCachePatch(spec, 'custom');
  assert.is(plan.profile.id, 'buildah');
  assert.equal(plan.cacheVolumes, ['storage', CACHE_VOLUME], 'the trailing-slash mount is the storage location; the cache volume only for RUN caches');
  assert.equal(plan.changes.filter((c) => c.type === 'mount-added').map((c) => c.type === 'mount-added' && c.mount.mountPath), ['/var/tmp/buildah-cache-0', '/var/tmp/buildah-cache']);
});

test('buildah RUN cache dir follows the step: TMPDIR, then the runAsUser of the step over the pod', () => {
  const step = { name: 'build', image: 'quay.io/containers/buildah:v1', command: ['buildah', 'bud', '.'], env: [{ name: 'TMPDIR', value: '/work/tmp/' }], securityContext: { runAsUser: 1001 } };
  const plan = planCachePatch({ steps: [step], securityContext: { runAsUser: 1000 } }, 'custom');
  assert.ok(plan.changes.some((c) => c.type === 'mount-added' && c.mount.mountPath === '/work/tmp/buildah-cache-1001' && c.mount.subPath === 'buildah-cache'));
  assert.ok(plan.changes.some((c) => c.type === 'mount-added' && c.mount.mountPath === '/work/tmp/buildah-cache' && c.mount.subPath === 'buildah-cache'));
  const podUser = planCachePatch({ steps: [{ ...step, securityContext: undefined, env: [] }], securityContext: { runAsUser: 1000 } }, 'custom');
  assert.ok(podUser.changes.some((c) => c.type === 'mount-added' && c.mount.mountPath === '/var/tmp/buildah-cache-1000'));
});

test('buildah with TMPDIR known only at run time: the RUN cache is left out, with a note; layers are still cached', () => {
  const step = { name: 'build', image: 'quay.io/containers/buildah:v1', command: ['buildah', 'bud', '.'], env: [{ name: 'TMPDIR', value: '$(params.tmp)' }] };
  const plan = planCachePatch({ steps: [step] }, 'custom');
  assert.equal(plan.changes.filter((c) => c.type === 'mount-added').map((c) => c.type === 'mount-added' && c.mount.mountPath), ['/var/lib/containers']);
  assert.match(plan.notes.join('\n'), /RUN --mount=type=cache directories.*not cached: TMPDIR is "\$\(params.tmp\)"/);
});

test('a volume mounted inside the cache location is refused (it would bypass the cache)', () => {
  const spec: StrategySpec = {
    steps: [{ name: 'build', image: 'quay.io/containers/buildah:v1', command: ['buildah', 'bud', '.'], volumeMounts: [{ name: 'inner', mountPath: '/var/lib/containers/storage' }] }],
    volumes: [{ name: 'inner', emptyDir: {} }],
  };
  assert.throws(() => planCachePatch(spec, 'custom'), (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.conflict && /mounts volume 'inner' at \/var\/lib\/containers\/storage, inside the cache location/.test(e.message));
});

test.run();
