// Cache profiles: where each build tool keeps what is worth keeping between
// builds, declared once per tool. Adding a strategy is one entry here plus a
// test; the patcher (patch.ts) does the rest.
import { posix } from 'node:path';
import type { Step, StrategySpec } from './strategy-types.js';

/** One directory a tool reads its cache from. */
export interface CacheLocation {
  /** What lives there, for people: shown by the CLI and the README matrix. */
  what: string;
  kind: 'layers' | 'dependencies';
  /** Absolute path inside the tool's step container; for people when `pathFor` is set. */
  mountPath: string;
  /**
   * Where the location is in a given step, when that depends on the step (its env, its user).
   * Returns the path, or why it cannot be told (the location is then left out, with a note).
   */
  pathFor?: (step: Step, spec: StrategySpec) => { path?: string; why?: string };
  /** Sub-path of the shared cache volume when the strategy has no volume there and one is added. */
  subPath: string;
}

/** A tool the patcher knows. Either it has cache locations, or it is refused with a reason. */
export interface CacheProfile {
  id: string;
  /** Human name of the tool. */
  tool: string;
  /** True for steps that run this tool. */
  matchStep: (step: Step, spec: StrategySpec) => boolean;
  /** Why this step matched, for `--explain` output. */
  matchReason: string;
  locations: CacheLocation[];
  /**
   * Per-build directories beside a cache location that the tool's step creates itself. Mounting
   * the cache volume makes the container runtime create the mount point's missing parents owned
   * by root, so a step that runs as another user could no longer create these; each gets an
   * emptyDir volume of its own (per build, as before), mounted in the steps that got the cache.
   */
  scratch?: { volume: string; mountPath: string; what: string }[];
  /** Environment the tool steps need for cache reuse (added only when the step does not set the name). */
  env?: Record<string, string>;
  /** Parameter that selects the tool's storage driver, settable by --storage-driver. */
  storageDriverParam?: string;
  /** What limits the cache in this strategy although the patch is right, for `patch-strategy` to say. */
  caveat?: (spec: StrategySpec) => string | undefined;
  /** Set when the tool keeps no cache on local disk that a volume could keep. */
  refusal?: string;
  /** How the tool's log shows cache use: one match per cache hit, one per cacheable step. */
  log?: { hit: RegExp; step: RegExp };
}

/** Name of the volume added where a strategy declares none at a cache location. */
export const CACHE_VOLUME = 'build-cache';

/** The image, then command and args as one command line (scripts keep their own lines). */
const text = (step: Step): string => `${step.image ?? ''}\n${[...(step.command ?? []), ...(step.args ?? [])].join(' ')}`;
const imageMatches = (step: Step, re: RegExp) => re.test(step.image ?? '');
const runs = (step: Step, re: RegExp) => re.test(text(step));
const envValue = (step: Step, name: string): string | undefined => (step.env ?? []).find((e) => e.name === name)?.value;
type SecurityContext = { runAsUser?: unknown } | undefined;
/** The uid a step runs as, as far as the strategy says (step over pod); undefined when unsaid. */
export function stepRunAsUser(step: Step, spec: StrategySpec): number | undefined {
  const uid = (step.securityContext as SecurityContext)?.runAsUser ?? (spec.securityContext as SecurityContext)?.runAsUser;
  return typeof uid === 'number' ? uid : undefined;
}

/**
 * buildah keeps RUN --mount=type=cache directories under $TMPDIR (default /var/tmp): in
 * buildah-cache-<uid> since v1.29, in buildah-cache up to v1.28 (Debian 12's buildah). Both
 * are mounted, on one sub-path, because the version is not known from the strategy.
 */
function buildahCacheParent(suffixed: boolean) {
  return (step: Step, spec: StrategySpec): { path?: string; why?: string } => {
    const tmp = envValue(step, 'TMPDIR') ?? '/var/tmp';
    if (!tmp.startsWith('/') || tmp.includes('$(')) return { why: `TMPDIR is ${JSON.stringify(tmp)}, which is only known at run time` };
    // The buildah steps of the sample strategies run as root (privileged, no runAsUser).
    return { path: suffixed ? `${tmp}/buildah-cache-${stepRunAsUser(step, spec) ?? 0}` : `${tmp}/buildah-cache` };
  };
}

/**
 * buildkitd's state directory (its --root: layers, cache records, RUN --mount=type=cache
 * directories), found as buildkitd finds it (cmd/buildkitd, util/appdefaults): a --root in
 * BUILDKITD_FLAGS; rootful (uid 0) /var/lib/buildkit; rootless $XDG_DATA_HOME/buildkit, else
 * $HOME/.local/share/buildkit. HOME is the step's env, else /home/user (moby/buildkit's rootless
 * image). The upstream sample sets HOME=/tekton/home, so its state is in Tekton's per-TaskRun
 * home emptyDir, not on its volume buildkitd-1 at /home/user/.local/share/buildkit.
 */
function buildkitRoot(step: Step, spec: StrategySpec): { path?: string; why?: string } {
  const unknown = (what: string, v: string) => (!v.startsWith('/') || v.includes('$(') ? { why: `${what} is ${JSON.stringify(v)}, which is only known at run time` } : undefined);
  const root = /(?:^|\s)--root(?:=|\s+)(\S+)/.exec(envValue(step, 'BUILDKITD_FLAGS') ?? '')?.[1];
  if (root !== undefined) return unknown('buildkitd --root', root) ?? { path: root };
  if (stepRunAsUser(step, spec) === 0) return { path: '/var/lib/buildkit' };
  const xdg = envValue(step, 'XDG_DATA_HOME')?.split(':')[0];
  if (xdg) return unknown('XDG_DATA_HOME', xdg) ?? { path: `${xdg}/buildkit` };
  const home = envValue(step, 'HOME') ?? '/home/user';
  return unknown('HOME', home) ?? { path: `${home}/.local/share/buildkit` };
}

/**
 * Ordered most specific first: the first profile with a matching step wins.
 * Paths come from the upstream sample strategies (Shipwright v0.20.13).
 */
export const PROFILES: readonly CacheProfile[] = [
  {
    id: 'multiarch-native-buildah',
    tool: 'buildah (multi-arch, native nodes)',
    matchStep: (s) => s.name === 'package-manifest-list-and-push' || runs(s, /oci-archive-storage[\s\S]*manifest/),
    matchReason: 'step packages a manifest list from per-architecture OCI archives',
    locations: [],
    refusal:
      'the multi-arch strategy builds each architecture in separate Jobs outside the strategy pod; its only overridable volume holds temporary OCI archives, not a cache',
  },
  {
    id: 'kaniko',
    tool: 'kaniko',
    matchStep: (s) => imageMatches(s, /kaniko-project\/executor|\/kaniko(:|@|$)/) || runs(s, /\/kaniko\/executor/),
    matchReason: 'step runs /kaniko/executor',
    locations: [],
    refusal:
      'kaniko keeps its layer cache in a registry (--cache=true --cache-repo=...), not on a local volume; use its registry cache, or the buildah or buildkit strategy for a PVC cache',
  },
  {
    id: 'buildkit',
    tool: 'BuildKit',
    matchStep: (s) => imageMatches(s, /moby\/buildkit|buildkit/) || runs(s, /\bbuildctl(-daemonless\.sh)?\b/),
    matchReason: 'step runs buildctl / the moby/buildkit image',
    locations: [
      { what: 'buildkitd state: layer and RUN --mount=type=cache caches', kind: 'layers', mountPath: '$HOME/.local/share/buildkit', subPath: 'buildkit', pathFor: buildkitRoot },
    ],
    // buildctl plain progress: "#7 [3/5] RUN make" ... "#7 CACHED". A vertex's header line is
    // printed again each time its output resumes after another vertex's (and a cache hit
    // imported from a registry prints its layer pulls under it), so each vertex is counted
    // once: at its last header line, and at its last CACHED line.
    log: { hit: /^#(\d+) CACHED$(?![\s\S]*^#\1 CACHED$)/gm, step: /^#(\d+) \[[^\]\n]*\d+\/\d+\] (?!FROM\b)(?![\s\S]*^#\1 \[)/gm },
  },
  {
    id: 'buildpacks',
    tool: 'Cloud Native Buildpacks',
    matchStep: (s) => runs(s, /\/cnb\/lifecycle\//),
    matchReason: 'step runs the /cnb/lifecycle phases',
    locations: [
      { what: 'lifecycle cache dir (-cache-dir): buildpack layers and dependencies', kind: 'dependencies', mountPath: '/tmp/.shp/cache', subPath: 'buildpacks' },
    ],
    // The strategy's script runs `mkdir -p /tmp/.shp/cache /tmp/.shp/layers` as uid 1001; with
    // the cache mounted at /tmp/.shp/cache, /tmp/.shp is root's ("mkdir: cannot create
    // directory '/tmp/.shp/layers': Permission denied").
    scratch: [{ volume: 'buildpacks-layers', mountPath: '/tmp/.shp/layers', what: 'lifecycle layers dir (-layers), new for every build' }],
    // lifecycle (phase/restorer.go, phase/cache.go): the restorer prints `Restoring data for
    // "<buildpack>:<layer>" from cache` for each cache layer it finds in the cache dir; the
    // exporter prints `Adding cache layer '<id>'` or `Reusing cache layer '<id>'` once for each
    // cache layer a build ends with, so those are the cacheable steps.
    log: { hit: /^Restoring data for "[^"\n]+:[^"\n]+" from cache$/gm, step: /^(?:Adding|Reusing) cache layer '[^'\n]+'$/gm },
  },
  {
    id: 'ko',
    tool: 'ko (Go)',
    matchStep: (s) => (s.env ?? []).some((e) => e.name === 'GOCACHE') && runs(s, /\bko\b/),
    matchReason: 'step sets GOCACHE and runs ko',
    locations: [
      { what: 'Go build and module caches (GOCACHE, GOMODCACHE)', kind: 'dependencies', mountPath: '/gocache', subPath: 'gocache' },
    ],
  },
  {
    id: 'buildah',
    tool: 'buildah',
    matchStep: (s) => imageMatches(s, /(^|\/)buildah(:|@|$)/) || runs(s, /\bbuildah\b[^\n]*\b(bud|build)\b/),
    matchReason: 'step runs buildah bud/build',
    locations: [
      { what: 'container storage: base images and build layers', kind: 'layers', mountPath: '/var/lib/containers', subPath: 'containers' },
      {
        what: 'RUN --mount=type=cache directories: npm, Maven, pip, Go downloads (buildah >= 1.29)',
        kind: 'dependencies',
        mountPath: '$TMPDIR/buildah-cache-<uid>',
        subPath: 'buildah-cache',
        pathFor: buildahCacheParent(true),
      },
      {
        what: 'RUN --mount=type=cache directories (buildah <= 1.28)',
        kind: 'dependencies',
        mountPath: '$TMPDIR/buildah-cache',
        subPath: 'buildah-cache',
        pathFor: buildahCacheParent(false),
      },
    ],
    env: { BUILDAH_LAYERS: 'true' },
    storageDriverParam: 'storage-driver',
    // source-to-image-redhat: buildah builds the Dockerfile `s2i build --as-dockerfile` writes.
    // s2i (v1.5.1, pkg/build/strategies/dockerfile) writes its LABEL instruction from a Go map,
    // so in a random order, and with the commit's id/date/message: buildah's layer cache misses
    // from that instruction on (measured: 0/7 hits, 0.98x). Only the builder image is kept.
    caveat: (spec) =>
      spec.steps.some((s) => /\bs2i\b/.test(text(s)) && /--as-dockerfile/.test(text(s)))
        ? "the Dockerfile comes from 's2i build --as-dockerfile', whose LABEL instruction lists the labels in a random order and names the commit: buildah's layer cache misses from that line on (COPY, assemble), so the cache keeps only the builder image; expect little speedup"
        : undefined,
    // buildah bud: "STEP 3/5: RUN npm ci" then, on a hit, "--> Using cache 3f2a...".
    log: { hit: /^--> Using cache [0-9a-f]+/gm, step: /^STEP \d+\/\d+: (?!FROM\b)/gm },
  },
];

export interface ProfileMatch {
  profile: CacheProfile;
  /** Indexes into spec.steps of the steps that run the tool. */
  stepIndexes: number[];
  /** Human explanation of the choice. */
  why: string;
}

/** Finds the profile for a strategy: the first profile (in PROFILES order) that matches one of its steps. */
export function detectProfile(spec: StrategySpec, profiles: readonly CacheProfile[] = PROFILES): ProfileMatch | undefined {
  for (const profile of profiles) {
    const stepIndexes = spec.steps.map((s, i) => (profile.matchStep(s, spec) ? i : -1)).filter((i) => i >= 0);
    if (stepIndexes.length > 0) {
      const names = stepIndexes.map((i) => spec.steps[i].name).join(', ');
      return { profile, stepIndexes, why: `profile '${profile.id}': ${profile.matchReason} (step ${names})` };
    }
  }
  return undefined;
}

/** Where `loc` is in `step`: normalized absolute path, or why it cannot be told. */
export function locationPath(loc: CacheLocation, step: Step, spec: StrategySpec): { path?: string; why?: string } {
  const where = loc.pathFor ? loc.pathFor(step, spec) : { path: loc.mountPath };
  return where.path === undefined ? where : { path: posix.normalize(where.path).replace(/(.)\/+$/, '$1') };
}

export function profileById(id: string): CacheProfile | undefined {
  return PROFILES.find((p) => p.id === id);
}

/** The sentence used when no profile matches: names the supported tools. */
export function supportedToolsSentence(): string {
  const ok = PROFILES.filter((p) => !p.refusal).map((p) => `${p.id} (${p.locations.map((l) => l.mountPath).join(', ')})`);
  return `supported tools: ${ok.join('; ')}`;
}
