// Strategies the patcher must refuse rather than patch: a volume of the author's that carries
// one of our volume names (build-cache, buildpacks-layers), and duplicates that make the pod
// invalid (two volumes or two steps of one name, two mounts at one path in a step).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { upstreamStrategy } from '../helpers/fixtures.js';
import { applyChanges, duplicateInStrategy, isReusableVolume, planCachePatch } from '../../scripts/lib/patch.js';
import { cacheVolumesOf } from '../../scripts/lib/build.js';
import { CACHE_VOLUME } from '../../scripts/lib/profiles.js';
import { CliError, ExitCode, formatError } from '../../scripts/lib/errors.js';
import type { StrategyObject, StrategySpec } from '../../scripts/lib/strategy-types.js';

const buildah = () => upstreamStrategy('buildah-shipwright-managed-push');
const buildpacks = () => upstreamStrategy('buildpacks-v3');

function refused(spec: StrategySpec, re: RegExp): CliError {
  try {
    planCachePatch(spec, 'ClusterBuildStrategy x');
  } catch (err) {
    assert.instance(err, CliError);
    assert.is((err as CliError).exitCode, ExitCode.conflict, formatError(err));
    assert.match(formatError(err), re);
    return err as CliError;
  }
  throw new Error('expected planCachePatch to refuse the strategy');
}

test("a configMap volume named build-cache is the author's: refused (exit 6) naming it and the rename", () => {
  const s = buildah();
  s.spec.volumes = [...(s.spec.volumes ?? []), { name: CACHE_VOLUME, configMap: { name: 'settings' } } as never];
  const err = refused(s.spec, /volume 'build-cache' \(configMap\) that is not an emptyDir/);
  assert.match(String(err.hint), /rename the strategy's volume 'build-cache'/);
});

test('an emptyDir named build-cache (or one with our description) is reused, and made overridable', () => {
  for (const vol of [{ name: CACHE_VOLUME, emptyDir: {} }, { name: CACHE_VOLUME, description: 'x (added by shipwright-cache)', overridable: true, emptyDir: {} }]) {
    const s = buildah();
    s.spec.volumes = [...(s.spec.volumes ?? []), vol as never];
    const plan = planCachePatch(s.spec, 'x');
    assert.ok(!plan.changes.some((c) => c.type === 'volume-added' && c.volume.name === CACHE_VOLUME));
    assert.ok(plan.cacheVolumes.includes(CACHE_VOLUME));
    const after = applyChanges(s.spec, plan.changes);
    assert.is(after.volumes!.filter((v) => v.name === CACHE_VOLUME).length, 1);
    assert.is(after.volumes!.find((v) => v.name === CACHE_VOLUME)!.overridable, true);
  }
  assert.ok(isReusableVolume({ name: 'a', emptyDir: { medium: 'Memory' } } as never));
  assert.not.ok(isReusableVolume({ name: 'a', emptyDir: {}, hostPath: { path: '/x' } } as never));
  assert.not.ok(isReusableVolume({ name: 'a', persistentVolumeClaim: { claimName: 'c' } } as never));
});

test('buildpacks: a secret volume named buildpacks-layers (the scratch volume) is refused; an emptyDir of that name is reused', () => {
  const s = buildpacks();
  s.spec.volumes = [...(s.spec.volumes ?? []), { name: 'buildpacks-layers', secret: { secretName: 's' } } as never];
  refused(s.spec, /volume 'buildpacks-layers' \(secret\) that is not an emptyDir; .*lifecycle layers dir/);
  const ok = buildpacks();
  ok.spec.volumes = [...(ok.spec.volumes ?? []), { name: 'buildpacks-layers', emptyDir: {} }];
  const plan = planCachePatch(ok.spec, 'x');
  assert.ok(!plan.changes.some((c) => c.type === 'volume-added' && c.volume.name === 'buildpacks-layers'));
  const after = applyChanges(ok.spec, plan.changes);
  assert.equal(after.steps[0].volumeMounts!.filter((m) => m.name === 'buildpacks-layers'), [{ name: 'buildpacks-layers', mountPath: '/tmp/.shp/layers' }]);
});

test('two volumes of one name: refused before patching (exit 6), naming the volume', () => {
  const s = buildah();
  s.spec.volumes = [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }];
  refused(s.spec, /spec\.volumes declares volume 'v' more than once/);
});

test('two steps of one name: refused, naming the step', () => {
  const s = buildah();
  s.spec.steps = [...s.spec.steps, { ...s.spec.steps[0] }];
  refused(s.spec, new RegExp(`more than one step named '${s.spec.steps[0].name}'`));
});

test('a step with two mounts at one path (also written differently): refused, naming both', () => {
  const s = buildah();
  s.spec.volumes = [...(s.spec.volumes ?? []), { name: 'a', emptyDir: {} }, { name: 'b', emptyDir: {} }];
  s.spec.steps[0].volumeMounts = [...(s.spec.steps[0].volumeMounts ?? []), { name: 'a', mountPath: '/work' }, { name: 'b', mountPath: '/work/' }];
  refused(s.spec, new RegExp(`step '${s.spec.steps[0].name}' mounts 'a' and 'b' at the same path /work`));
});

test('create-build refuses a Build on such a strategy too (cacheVolumesOf goes through the same check)', () => {
  const s: StrategyObject = buildah();
  s.spec.volumes = [...(s.spec.volumes ?? []), { name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }];
  assert.throws(() => cacheVolumesOf(s, 'x'), (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.conflict);
});

test('the upstream strategies have no duplicates', () => {
  for (const n of ['buildah-shipwright-managed-push', 'buildkit', 'buildpacks-v3', 'ko']) assert.is(duplicateInStrategy(upstreamStrategy(n).spec), undefined, n);
});

test.run();
