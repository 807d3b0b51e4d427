// The offline ko strategy (e2e/install/strategies/ko.yaml): detected and patched like the upstream
// sample (no change; its gocache volume is the cache), and different from upstream only in the
// places marked "swc:" (image, pull policy, two env variables, the script's ko selection).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { offlineStrategy, upstreamStrategy } from '../helpers/fixtures.js';
import { planCachePatch } from '../../scripts/lib/patch.js';
import { detectProfile } from '../../scripts/lib/profiles.js';
import type { StrategyObject } from '../../scripts/lib/strategy-types.js';

const offline = (): StrategyObject => offlineStrategy('ko');

test('offline ko strategy: profile ko, already cache-ready (gocache)', () => {
  const s = offline();
  assert.is(s.metadata.name, 'ko');
  assert.is(detectProfile(s.spec)?.profile.id, 'ko');
  const plan = planCachePatch(s.spec, 'ko');
  assert.equal(plan.changes, []);
  assert.equal(plan.cacheVolumes, ['gocache']);
});

test('offline ko strategy differs from upstream only where marked swc:', () => {
  const up = upstreamStrategy('ko');
  const s = offline();
  assert.equal(s.spec.parameters, up.spec.parameters);
  assert.equal(s.spec.volumes, up.spec.volumes);
  assert.equal(s.spec.securityContext, up.spec.securityContext);
  const [step] = s.spec.steps;
  const [upStep] = up.spec.steps;
  assert.match(step.image ?? '', /^10\.88\.0\.1:5000\/offline\/golang-ko[:@]/);
  assert.is(step.imagePullPolicy, 'IfNotPresent');
  const { image: _i, imagePullPolicy: _p, env, args, ...rest } = step;
  const { image: _ui, imagePullPolicy: _up, env: upEnv, args: upArgs, ...upRest } = upStep;
  assert.equal(rest, upRest);
  const added = (env ?? []).filter((e) => !(upEnv ?? []).some((u) => u.name === e.name));
  assert.equal(added.map((e) => e.name), ['KO_DEFAULTBASEIMAGE', 'GOPROXY']);
  assert.match(String(added[0].value), /^10\.88\.0\.1:5000\/offline\/ko-app[:@]/);
  assert.is(added[1].value, 'off');
  assert.equal((env ?? []).filter((e) => added.indexOf(e) < 0), upEnv);
  // The script: upstream's lines are all still there (the download is the fallback), plus lines
  // that are marked or only select ${KO}.
  const lines = (a?: string[]) => (a?.[1] ?? '').split('\n');
  const ours = lines(args);
  for (const l of lines(upArgs)) {
    if (l.includes('/ko-tmp/ko version') || l.includes('/ko-tmp/ko build')) continue;
    assert.ok(ours.includes(l), `upstream line missing: ${l}`);
  }
  assert.ok(ours.some((l) => l.includes('"${KO}" build')));
});

test.run();
