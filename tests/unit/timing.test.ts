import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildRunDone, countCacheHits, phasesFrom, strategyStepContainers, totalSeconds, type BuildRunLike, type TaskRunLike } from '../../scripts/lib/timing.js';
import { profileById } from '../../scripts/lib/profiles.js';

// Shaped like a TaskRun that Shipwright v0.20 created for a buildah BuildRun (shipwright-managed push).
const taskRun: TaskRunLike = {
  metadata: { name: 'app-cold-x2x9z-6d8kq' },
  status: {
    startTime: '2026-12-03T10:00:00Z',
    podName: 'app-cold-x2x9z-6d8kq-pod',
    steps: [
      { name: 'source-default', container: 'step-source-default', terminated: { startedAt: '2026-12-03T10:00:12Z', finishedAt: '2026-12-03T10:00:14Z', exitCode: 0 } },
      { name: 'build', container: 'step-build', terminated: { startedAt: '2026-12-03T10:00:14Z', finishedAt: '2026-12-03T10:00:34.5Z', exitCode: 0 } },
      { name: 'image-processing', container: 'step-image-processing', terminated: { startedAt: '2026-12-03T10:00:34.5Z', finishedAt: '2026-12-03T10:00:36Z', exitCode: 0 } },
    ],
  },
};

test('phases: setup until the first step, then source, build and push', () => {
  assert.equal(phasesFrom(taskRun), { setup: 12, source: 2, build: 20.5, push: 1.5 });
});

test('phases: a strategy-managed push has no image-processing step; unfinished steps are ignored', () => {
  const tr = structuredClone(taskRun);
  tr.status!.steps = tr.status!.steps!.slice(0, 2);
  tr.status!.steps!.push({ name: 'extra', running: { startedAt: '2026-12-03T10:00:40Z' } });
  assert.equal(phasesFrom(tr), { setup: 12, source: 2, build: 20.5 });
  assert.equal(phasesFrom(undefined), {});
  assert.equal(phasesFrom({ metadata: { name: 'x' }, status: { steps: [] } }), {});
});

test('strategy step containers exclude Shipwright\'s own steps', () => {
  assert.equal(strategyStepContainers(taskRun), ['step-build']);
});

const br = (status: string, reason: string, extra: Partial<NonNullable<BuildRunLike['status']>> = {}): BuildRunLike => ({
  metadata: { name: 'b' },
  status: { conditions: [{ type: 'Succeeded', status, reason, message: 'm' }], startTime: '2026-12-03T10:00:00Z', completionTime: '2026-12-03T10:00:40Z', ...extra },
});

test('outcome of a BuildRun from its Succeeded condition', () => {
  assert.is(buildRunDone(br('Unknown', 'Running')), undefined);
  assert.is(buildRunDone({ metadata: { name: 'b' } }), undefined);
  assert.equal(buildRunDone(br('True', 'Succeeded')), { outcome: 'Succeeded', reason: 'Succeeded', message: 'm' });
  assert.is(buildRunDone(br('False', 'BuildRunTimeout'))!.outcome, 'TimedOut');
  assert.is(buildRunDone(br('False', 'BuildRunCanceled'))!.outcome, 'Canceled');
  const f = buildRunDone(br('False', 'Failed', { failureDetails: { message: 'buildah: no space left on device' } }))!;
  assert.equal(f, { outcome: 'Failed', reason: 'Failed', message: 'buildah: no space left on device' });
  assert.is(totalSeconds(br('True', 'Succeeded')), 40);
  assert.is(totalSeconds({ metadata: { name: 'b' }, status: { startTime: '2026-12-03T10:00:00Z' } }), null);
});

const warmLog = `[INFO] Building image 10.88.0.1:5000/demo/app
STEP 1/4: FROM 10.88.0.1:5000/offline/debian-base:abc
STEP 2/4: RUN apt-get install -y make
--> Using cache 3f2a1b7c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a
--> 3f2a1b7c9d0e
STEP 3/4: COPY . /src
--> Using cache 9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b
STEP 4/4: RUN make -C /src
[1/2] compiling
COMMIT 10.88.0.1:5000/demo/app
`;

test('buildah cache hits counted from the build log', () => {
  assert.equal(countCacheHits(warmLog, profileById('buildah')), { hits: 2, steps: 3 });
  assert.equal(countCacheHits('STEP 1/2: FROM x\nSTEP 2/2: RUN y\n', profileById('buildah')), { hits: 0, steps: 1 });
  assert.equal(countCacheHits(warmLog, profileById('ko')), { hits: null, steps: null });
  assert.equal(countCacheHits(warmLog, undefined), { hits: null, steps: null });
});

test('buildkit CACHED lines', () => {
  const log = '#5 [1/3] FROM docker.io/library/alpine\n#6 [2/3] RUN apk add make\n#6 CACHED\n#7 [3/3] COPY . .\n#7 DONE 0.1s\n';
  assert.equal(countCacheHits(log, profileById('buildkit')), { hits: 1, steps: 2 });
});

test.run();
