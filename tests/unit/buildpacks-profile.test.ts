// Cloud Native Buildpacks: the offline buildpacks-v3 strategy (e2e/install/strategies/
// buildpacks-v3.yaml) differs from upstream only where marked "swc:" and patches like it, and
// the lifecycle's log is counted per cache layer. Log excerpts are from BuildRuns of
// images/sample-go-app with that strategy on the offline cluster (lifecycle v0.20.12).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, offlineStrategy, upstreamStrategy } from '../helpers/fixtures.js';
import { applyChanges, planCachePatch } from '../../scripts/lib/patch.js';
import { CACHE_VOLUME, detectProfile, profileById } from '../../scripts/lib/profiles.js';
import { countCacheHits } from '../../scripts/lib/timing.js';
import type { StrategyObject } from '../../scripts/lib/strategy-types.js';

const FILE = join(REPO_ROOT, 'e2e/install/strategies/buildpacks-v3.yaml');
const offline = (): StrategyObject => offlineStrategy('buildpacks-v3');

test('offline buildpacks-v3 differs from upstream only where marked swc: (builder image, run image)', () => {
  const up = upstreamStrategy('buildpacks-v3');
  const s = offline();
  assert.is(s.metadata.name, 'buildpacks-v3');
  assert.equal(s.spec.parameters, up.spec.parameters);
  assert.equal(s.spec.volumes, up.spec.volumes);
  assert.equal(s.spec.securityContext, up.spec.securityContext);
  const [step] = s.spec.steps;
  const [upStep] = up.spec.steps;
  assert.match(step.image ?? '', /^10\.88\.0\.1:5000\/offline\/buildpacks-builder[:@]/);
  const { image: _i, env, ...rest } = step;
  const { image: _ui, env: upEnv, ...upRest } = upStep;
  assert.equal(rest, upRest, 'script, args, mounts and resources as upstream');
  const added = (env ?? []).filter((e) => !(upEnv ?? []).some((u) => u.name === e.name));
  assert.equal(added.map((e) => e.name), ['CNB_RUN_IMAGE']);
  assert.match(String(added[0].value), /^10\.88\.0\.1:5000\/offline\/ko-app[:@]/);
  assert.equal((env ?? []).filter((e) => !added.includes(e)), upEnv);
  const swc = readFileSync(FILE, 'utf8').split('\n').filter((l) => l.includes('# swc:'));
  assert.is(swc.length, 2, 'each change is marked');
});

test('offline and upstream buildpacks-v3 get the same cache patch: build-cache at the lifecycle cache dir', () => {
  for (const s of [offline(), upstreamStrategy('buildpacks-v3')]) {
    assert.is(detectProfile(s.spec)?.profile.id, 'buildpacks');
    const plan = planCachePatch(s.spec, 'buildpacks');
    assert.equal(plan.cacheVolumes, [CACHE_VOLUME]);
    const after = applyChanges(s.spec, plan.changes);
    assert.equal(after.steps[0].volumeMounts!.find((m) => m.name === CACHE_VOLUME), { name: CACHE_VOLUME, mountPath: '/tmp/.shp/cache', subPath: 'buildpacks' });
    assert.equal(after.steps[0].volumeMounts!.find((m) => m.name === 'buildpacks-layers'), { name: 'buildpacks-layers', mountPath: '/tmp/.shp/layers' });
    // The script passes exactly that directory to the restorer and the exporter.
    assert.match(String(after.steps[0].args?.[1]), /CACHE_DIR=\/tmp\/\.shp\/cache\n[\s\S]*restorer -cache-dir="\$CACHE_DIR"[\s\S]*-cache-dir="\$CACHE_DIR"/);
  }
});

const bp = profileById('buildpacks')!;

test('lifecycle log: a cold build adds its cache layer (0 of 1), a warm one restores it (1 of 1)', () => {
  const cold = [
    '===> RESTORING',
    '===> BUILDING',
    'shipwright-cache/go-build: go-cache: empty (no cache layer restored)',
    '===> EXPORTING',
    "Adding layer 'shipwright-cache/go-build:app'",
    "Adding layer 'buildpacksio/lifecycle:launcher'",
    "Adding cache layer 'shipwright-cache/go-build:go-cache'",
  ].join('\n');
  // Warm: GOCACHE was restored and used; Go added entries, so the exporter writes the layer anew.
  const warm = [
    '===> RESTORING',
    'Restoring metadata for "shipwright-cache/go-build:app" from app image',
    'Restoring metadata for "shipwright-cache/go-build:go-cache" from cache',
    'Restoring data for "shipwright-cache/go-build:go-cache" from cache',
    '===> BUILDING',
    'go-cache: reusing the restored cache layer (101M)',
    'go build: 2 s',
    '===> EXPORTING',
    "Reusing layers from image '10.88.0.1:5000/demo/sample-go-app@sha256:62b7eb33c9e167b6a9bc719ac82a5b627e5ad52a066edfbc0ab981479448d4b0'",
    "Reusing layer 'shipwright-cache/go-build:app'",
    "Reusing layer 'buildpacksio/lifecycle:launch.sbom'",
    "Adding cache layer 'shipwright-cache/go-build:go-cache'",
  ].join('\n');
  assert.equal(countCacheHits(cold, bp), { hits: 0, steps: 1 });
  assert.equal(countCacheHits(warm, bp), { hits: 1, steps: 1 });
  // An unchanged cache layer is reused by the exporter: still one cacheable layer.
  assert.equal(countCacheHits(warm.replace('Adding cache layer', 'Reusing cache layer'), bp), { hits: 1, steps: 1 });
  // Launch layers and SBOM restores are not cache layers.
  assert.equal(countCacheHits("Restoring data for SBOM from cache\nReusing layer 'a:b'", bp), { hits: 0, steps: 0 });
});

test.run();
