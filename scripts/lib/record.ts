// The JSON record that `run` writes and `gate` / `report` read.
// Times are seconds (floating point), timestamps RFC 3339 strings.

export const RECORD_SCHEMA_VERSION = 1;

/** Which kind of run: the first run on an empty cache, a later run on the warm cache, or a run with no cache volume at all (A/B baseline). */
export type RunKind = 'cold' | 'warm' | 'baseline';

export type RunOutcome = 'Succeeded' | 'Failed' | 'TimedOut' | 'Canceled' | 'Interrupted';

/** Where the time of one BuildRun went, in seconds; a phase that could not be measured is absent. */
export interface Phases {
  /** TaskRun start to the pod's first step start: scheduling, volume binding, image pulls, init containers. */
  setup?: number;
  /** Source step(s): git clone, bundle pull, local source wait. */
  source?: number;
  /** The strategy's build step(s), the part a cache speeds up. */
  build?: number;
  /** Image push / processing after the build. */
  push?: number;
}

export interface RunEntry {
  /** 0-based position in the sequence of runs. */
  index: number;
  kind: RunKind;
  buildRunName: string;
  outcome: RunOutcome;
  /** Shipwright condition reason, e.g. Succeeded, Failed, BuildRunTimeout. */
  reason?: string;
  message?: string;
  startTime?: string;
  completionTime?: string;
  /** completionTime - startTime of the BuildRun; null when it never completed. */
  totalSeconds: number | null;
  phases: Phases;
  /** Cache hits counted in the build step log (e.g. buildah "--> Using cache"); null when the tool prints none or logs were unreadable. */
  cacheHits: number | null;
  /** Cacheable steps seen in the log (hits + misses), when the tool reports them. */
  cacheableSteps?: number | null;
  /** The cache was reset before this run (corruption, --cold); it counts as cold. */
  cacheReset?: boolean;
  /** For a failed run: what the failure looked like (cache-corrupt, disk-full, other) and the log line that says so. */
  failure?: { class: 'cache-corrupt' | 'disk-full' | 'other'; evidence?: string };
}

export interface RunRecord {
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  tool: 'shipwright-cache';
  createdAt: string;
  updatedAt?: string;
  namespace: string;
  build: string;
  strategy?: { name: string; kind: 'BuildStrategy' | 'ClusterBuildStrategy'; profile?: string; /** Hash of the strategy spec the runs used. */ specHash?: string };
  cache?: { pvc: string; storageClass?: string; accessModes?: string[]; size?: string; volume: string };
  /** Set when the sequence did not finish (interrupt, timeout). */
  interrupted?: boolean;
  runs: RunEntry[];
}
