// BuildKit: where buildkitd keeps its state in a given strategy step (its --root), and how its
// plain progress log is counted. Log excerpts are from BuildRuns of images/sample-app with the
// offline buildkit strategy (e2e/install/strategies/buildkit.yaml) on the offline cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { offlineStrategy, upstreamStrategy } from '../helpers/fixtures.js';
import { applyChanges, planCachePatch } from '../../scripts/lib/patch.js';
import { CACHE_VOLUME, locationPath, profileById } from '../../scripts/lib/profiles.js';
import { countCacheHits } from '../../scripts/lib/timing.js';
import type { Step, StrategySpec } from '../../scripts/lib/strategy-types.js';

const bk = profileById('buildkit')!;
const root = (step: Partial<Step>, spec: Partial<StrategySpec> = {}) =>
  locationPath(bk.locations[0], { name: 's', image: 'moby/buildkit', ...step } as Step, { steps: [], ...spec } as StrategySpec);
const env = (o: Record<string, string>) => Object.entries(o).map(([name, value]) => ({ name, value }));

test('buildkitd root: --root flag, rootful, XDG_DATA_HOME, HOME, image default', () => {
  assert.equal(root({ env: env({ HOME: '/tekton/home', BUILDKITD_FLAGS: '--oci-worker-no-process-sandbox --root /cache/bk' }) }), { path: '/cache/bk' });
  assert.equal(root({ env: env({ BUILDKITD_FLAGS: '--root=/cache/bk/' }) }), { path: '/cache/bk' });
  assert.equal(root({}, { securityContext: { runAsUser: 0 } } as Partial<StrategySpec>), { path: '/var/lib/buildkit' });
  assert.equal(root({ env: env({ HOME: '/tekton/home', XDG_DATA_HOME: '/data:/other' }) }), { path: '/data/buildkit' });
  assert.equal(root({ env: env({ HOME: '/tekton/home' }) }), { path: '/tekton/home/.local/share/buildkit' });
  assert.equal(root({}), { path: '/home/user/.local/share/buildkit' });
  assert.match(root({ env: env({ HOME: '$(params.home)' }) }).why ?? '', /only known at run time/);
});

test("upstream sample: HOME=/tekton/home, so the cache goes there, not on buildkitd-1", () => {
  const s = upstreamStrategy('buildkit');
  const plan = planCachePatch(s.spec, 'buildkit');
  assert.equal(plan.cacheVolumes, [CACHE_VOLUME]);
  const after = applyChanges(s.spec, plan.changes);
  const step = after.steps.find((x) => x.name === 'build-and-push')!;
  assert.equal(step.volumeMounts!.find((m) => m.name === CACHE_VOLUME), { name: CACHE_VOLUME, mountPath: '/tekton/home/.local/share/buildkit', subPath: 'buildkit' });
  // buildkitd-1 is left as upstream has it (an emptyDir nothing writes to).
  assert.equal(after.volumes!.find((v) => v.name === 'buildkitd-1'), s.spec.volumes!.find((v) => v.name === 'buildkitd-1'));
});

test('offline strategy (e2e/install/strategies/buildkit.yaml) patches like the upstream one', () => {
  const s = offlineStrategy('buildkit');
  assert.is(s.metadata.name, 'buildkit');
  const plan = planCachePatch(s.spec, 'buildkit');
  const mount = applyChanges(s.spec, plan.changes).steps[0].volumeMounts!.find((m) => m.name === CACHE_VOLUME);
  assert.equal(mount, { name: CACHE_VOLUME, mountPath: '/tekton/home/.local/share/buildkit', subPath: 'buildkit' });
});

// A warm run whose hits came from the registry cache (--import-cache type=registry) and not
// from local state: the RUN vertex is reported CACHED, then again with its layer pulls.
const registryHitLog = `#4 [stage-0 1/6] FROM 10.88.0.1:5000/offline/node-base:ce273537b4ad@sha256:a0e5
#4 DONE 0.0s

#5 importing cache manifest from 10.88.0.1:5000/swc-buildkit/bug-app
#5 DONE 0.0s

#7 [stage-0 3/6] COPY package.json package-lock.json .npmrc ./
#7 CACHED

#8 [stage-0 2/6] WORKDIR /app
#8 CACHED

#9 [stage-0 4/6] RUN --mount=type=cache,id=npm,target=/root/.npm npm ci --prefer-offline
#9 CACHED

#9 [stage-0 4/6] RUN --mount=type=cache,id=npm,target=/root/.npm npm ci --prefer-offline
#9 sha256:8545c253 35.65MB / 35.65MB 4.3s done
#9 DONE 4.5s

#9 [stage-0 4/6] RUN --mount=type=cache,id=npm,target=/root/.npm npm ci --prefer-offline
#9 extracting sha256:8545c253 11.1s done
#9 DONE 20.2s

#10 [stage-0 5/6] COPY . .
#10 DONE 0.1s

#11 [stage-0 6/6] RUN npm run build
#11 0.236 > tsc -p tsconfig.json && webpack --config webpack.config.cjs
#11 DONE 23.2s
`;

test('buildkit log: each vertex counted once, however often its header repeats', () => {
  assert.equal(countCacheHits(registryHitLog, bk), { hits: 3, steps: 5 });
  const cold = '#8 [2/3] WORKDIR /app\n#8 DONE 0.0s\n#9 [3/3] RUN make\n#9 0.1 x\n#10 [internal] load\n#9 [3/3] RUN make\n#9 DONE 3.0s\n';
  assert.equal(countCacheHits(cold, bk), { hits: 0, steps: 2 });
});

test.run();
