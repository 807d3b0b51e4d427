// source-to-image-redhat: the offline copy (e2e/install/strategies/source-to-image-redhat.yaml)
// differs from upstream only where marked "swc:" and patches like it; and the patch says why its
// layer cache will not help (s2i's generated LABEL line), as measured on the offline cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, offlineStrategy, upstreamStrategy } from '../helpers/fixtures.js';
import { applyChanges, planCachePatch } from '../../scripts/lib/patch.js';
import { CACHE_VOLUME } from '../../scripts/lib/profiles.js';

const NAME = 'source-to-image-redhat';

test('offline source-to-image-redhat differs from upstream only where marked swc:', () => {
  const up = upstreamStrategy(NAME);
  const s = offlineStrategy(NAME);
  assert.equal(s.spec.parameters, up.spec.parameters);
  assert.equal(s.spec.volumes, up.spec.volumes);
  assert.equal(s.spec.securityContext, up.spec.securityContext);
  const [gen, bah] = s.spec.steps;
  const [upGen, upBah] = up.spec.steps;
  assert.match(gen.image ?? '', /^10\.88\.0\.1:5000\/offline\/s2i[:@]/);
  assert.equal({ ...gen, image: upGen.image }, upGen);
  assert.match(bah.image ?? '', /^10\.88\.0\.1:5000\/offline\/buildah[:@]/);
  assert.is(bah.imagePullPolicy, 'IfNotPresent');
  const sc = bah.securityContext as { seccompProfile?: unknown };
  assert.equal(sc.seccompProfile, { type: 'Unconfined' });
  const { seccompProfile: _s, ...restSc } = sc;
  assert.equal({ ...bah, image: upBah.image, imagePullPolicy: upBah.imagePullPolicy, securityContext: restSc }, upBah);
  const swc = readFileSync(join(REPO_ROOT, 'e2e/install/strategies', `${NAME}.yaml`), 'utf8').split('\n').filter((l) => l.includes('# swc:'));
  assert.is(swc.length, 4, 'each change is marked');
});

test('both copies: the buildah step gets the cache at its storage; the s2i step is left alone; the caveat is said', () => {
  for (const s of [offlineStrategy(NAME), upstreamStrategy(NAME)]) {
    const plan = planCachePatch(s.spec, NAME);
    const after = applyChanges(s.spec, plan.changes);
    const bah = after.steps.find((x) => x.name === 'buildah')!;
    assert.ok(bah.volumeMounts!.some((m) => m.name === CACHE_VOLUME && m.mountPath === '/var/lib/containers'));
    assert.equal(after.steps.find((x) => x.name === 's2i-generate'), s.spec.steps.find((x) => x.name === 's2i-generate'));
    assert.match(plan.notes.join('\n'), /s2i build --as-dockerfile.*random order.*keeps only the builder image/);
  }
  // Not said for a buildah strategy that builds the user's own Dockerfile.
  assert.not.match(planCachePatch(upstreamStrategy('buildah-strategy-managed-push').spec, 'b').notes.join('\n'), /s2i/);
});

test.run();
