// The Tekton packaging under tasks/: every Task, the Pipeline, the samples and the RBAC, checked
// against the conventions the project follows (Tekton v1, catalog and Artifact Hub metadata,
// parameters through env only, pinned images, non-root steps) and against the CLI itself:
//   - each SHIPWRIGHT_CACHE_* variable and each flag a step script passes is an option of the
//     command that step runs, and a Task default equals the CLI default;
//   - the step scripts run (bash, with a stand-in `node` that records its arguments and
//     environment) and the real CLI parses what they would pass, under its strict mode;
//   - the gate step writes exactly the results the Task declares, within Tekton's 4 KB;
//   - every Task, the Pipeline and the samples validate against the Tekton CRD schemas
//     (tests/fixtures/upstream/tekton-pipelines/<v>/crds, structural openAPIV3Schema);
//   - the RBAC objects grant exactly the table below, which a scan of the Kubernetes calls in the
//     code the Tasks run keeps honest;
//   - the READMEs document every parameter with its default, in catalog order;
//   - the Dockerfile, images/runner and the Tasks agree on entrypoint, user and versions.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { YAML } from 'zx';
import { buildCli, main } from '../../scripts/program.js';
import { commands } from '../../scripts/commands/index.js';
import { DEFAULT_RESET_IMAGE } from '../../scripts/lib/cache-reset.js';
import { encodedResultsBytes, TEKTON_RESULT_NAMES, TERMINATION_MESSAGE_BYTES } from '../../scripts/lib/tekton-results.js';
import { fixturePath, type FixtureName } from '../fixtures/records/load.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TASKS_DIR = join(REPO, 'tasks');
const CLI_PATH = '/app/dist/scripts/cli.js';
const PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
/** The runner image default of every Task and the Pipeline: the org is a placeholder until the first release. */
const RUNNER_IMAGE_DEFAULT = `ghcr.io/example-org/shipwright-cache:${PKG.version}`;
const TEKTON_VERSIONS = ['v1.12.2', 'v1.15.0'];

/** The Tasks, the directories they live in, and the CLI commands their steps run. */
const TASKS: Record<string, string[]> = {
  'shipwright-cache-pvc': ['cache-pvc'],
  'shipwright-cache-patch-strategy': ['patch-strategy'],
  'shipwright-cache-build': ['create-build'],
  'shipwright-cache-measure': ['run', 'report', 'gate'],
};

/** Params without a default: the Task cannot guess them, and Tekton refuses a run that omits them. */
const REQUIRED_PARAMS = new Set(['source-url', 'output-image']);

/** *-image params that name no image the Task runs. */
const NOT_RUN_IMAGES = new Set(['output-image']);

/** Params that are no CLI option (consumed by the step scripts or Tekton itself). */
const NON_CLI_PARAMS = new Set(['runner-image', 'pvc-labels', 'build-params', 'build-labels', 'fail-on-gate', 'reports-subdir']);

// ---------------------------------------------------------------------------------------------
// RBAC: every permission the Tasks need, where it is granted and why. The test below checks the
// YAML grants exactly this, and a scan of the code the Tasks run finds no call outside it.

interface Grant {
  role: string;
  group: string;
  resource: string;
  verbs: string[];
  why: string;
}

const RBAC_TABLE: Grant[] = [
  { role: 'shipwright-cache', group: '', resource: 'persistentvolumeclaims', verbs: ['get', 'create', 'patch'], why: 'cache-pvc reads, creates, grows/relabels (merge patch) and polls the claim; create-build and run read it' },
  { role: 'shipwright-cache', group: '', resource: 'events', verbs: ['list'], why: 'cache-pvc explains a claim that stays Pending with its events' },
  { role: 'shipwright-cache', group: '', resource: 'pods/log', verbs: ['get'], why: 'run counts cache hits in the build pod log' },
  { role: 'shipwright-cache', group: 'shipwright.io', resource: 'builds', verbs: ['get', 'create', 'delete'], why: 'create-build reads and creates the Build, and re-creates it when it changed or failed registration; run reads it' },
  { role: 'shipwright-cache', group: 'shipwright.io', resource: 'buildruns', verbs: ['get', 'create', 'patch'], why: 'run creates and polls each BuildRun and cancels one on timeout or interrupt' },
  { role: 'shipwright-cache', group: 'shipwright.io', resource: 'buildstrategies', verbs: ['get', 'create', 'update', 'patch'], why: 'patch-strategy reads, creates and re-derives the copy, or patches a namespaced strategy in place; create-build and run read it' },
  { role: 'shipwright-cache', group: 'tekton.dev', resource: 'taskruns', verbs: ['get'], why: 'run reads the per-step timings of each BuildRun' },
  { role: 'shipwright-cache', group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update', 'delete'], why: 'run holds a Lease per claim (one run per cache at a time): read, create or take over, renew, release' },
  { role: 'shipwright-cache-cluster-read', group: 'storage.k8s.io', resource: 'storageclasses', verbs: ['list'], why: 'cache-pvc picks the class of a new claim and its binding mode (cluster-scoped)' },
  { role: 'shipwright-cache-cluster-read', group: 'shipwright.io', resource: 'clusterbuildstrategies', verbs: ['get', 'list'], why: 'patch-strategy copy mode reads the source; every command lists them to detect Shipwright (cluster-scoped)' },
  { role: 'shipwright-cache-cluster-read', group: '', resource: 'persistentvolumes', verbs: ['get'], why: "run reads the claim's volume: can a Ready, schedulable node use it (spec.nodeAffinity)? (cluster-scoped; skipped with a warning when forbidden)" },
  { role: 'shipwright-cache-cluster-read', group: '', resource: 'nodes', verbs: ['list'], why: 'run matches the volume node affinity against the nodes and their Ready/cordoned state (cluster-scoped; skipped with a warning when forbidden)' },
  { role: 'shipwright-cache-cluster-patch', group: 'shipwright.io', resource: 'clusterbuildstrategies', verbs: ['patch'], why: 'optional: patch-strategy --mode in-place on a ClusterBuildStrategy' },
  { role: 'shipwright-cache-pods', group: '', resource: 'pods', verbs: ['get', 'create', 'delete'], why: 'optional: run starts short-lived pods on the claim (--cold, repairing a damaged cache, df of a full one)' },
  { role: 'shipwright-cache-pods', group: '', resource: 'pods/log', verbs: ['get'], why: "optional: run reads those pods' output" },
];

/** Calls in the code the Tasks run that no role grants, on purpose. */
const NOT_GRANTED: Record<string, string> = {
  'shipwright.io/buildstrategies delete': 'deleteCopy belongs to unpatch-strategy, which no Task runs',
  'shipwright.io/builds list': 'buildsUsing (is the copy still used?) belongs to unpatch-strategy, which no Task runs',
  '/secrets get': 'create-build checks --clone-secret/--push-secret exist; reading a Secret returns its data, so forbidden is only a warning',
  '/namespaces get': 'a command that found nothing asks whether the namespace exists (cluster-scoped); forbidden means "cannot tell"',
};

/** Kubernetes client methods: core/storage ones by name, custom-object ones by verb (resource from the call). */
const TYPED_METHODS: Record<string, [group: string, resource: string, verb: string]> = {
  readNamespacedPersistentVolumeClaim: ['', 'persistentvolumeclaims', 'get'],
  readNamespacedSecret: ['', 'secrets', 'get'],
  readNamespace: ['', 'namespaces', 'get'],
  createNamespacedPersistentVolumeClaim: ['', 'persistentvolumeclaims', 'create'],
  patchNamespacedPersistentVolumeClaim: ['', 'persistentvolumeclaims', 'patch'],
  listNamespacedEvent: ['', 'events', 'list'],
  readNamespacedPodLog: ['', 'pods/log', 'get'],
  createNamespacedPod: ['', 'pods', 'create'],
  readNamespacedPod: ['', 'pods', 'get'],
  deleteNamespacedPod: ['', 'pods', 'delete'],
  listStorageClass: ['storage.k8s.io', 'storageclasses', 'list'],
  readPersistentVolume: ['', 'persistentvolumes', 'get'],
  listNode: ['', 'nodes', 'list'],
  readNamespacedLease: ['coordination.k8s.io', 'leases', 'get'],
  createNamespacedLease: ['coordination.k8s.io', 'leases', 'create'],
  replaceNamespacedLease: ['coordination.k8s.io', 'leases', 'update'],
  deleteNamespacedLease: ['coordination.k8s.io', 'leases', 'delete'],
};
const CUSTOM_VERBS: Record<string, string> = {
  getNamespacedCustomObject: 'get', getClusterCustomObject: 'get',
  listNamespacedCustomObject: 'list', listClusterCustomObject: 'list',
  createNamespacedCustomObject: 'create', createClusterCustomObject: 'create',
  replaceNamespacedCustomObject: 'update', replaceClusterCustomObject: 'update',
  patchNamespacedCustomObject: 'patch', patchClusterCustomObject: 'patch',
  deleteNamespacedCustomObject: 'delete', deleteClusterCustomObject: 'delete',
};

// ---------------------------------------------------------------------------------------------
// Loading

type Obj = Record<string, unknown>;
interface Doc {
  file: string;
  doc: Obj;
  raw: string;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const YAML_FILES = walk(TASKS_DIR).filter((f) => /\.ya?ml$/.test(f));
const DOCS: Doc[] = YAML_FILES.flatMap((file) => {
  const raw = readFileSync(file, 'utf8');
  const docs = YAML.parseAllDocuments(raw) as unknown as { errors: { message: string }[]; toJS(): unknown }[];
  return docs.map((d) => {
    if (d.errors.length) throw new Error(`${relative(REPO, file)}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { file, raw, doc: d.toJS() as Obj };
  });
});
const rel = (f: string) => relative(REPO, f);
const ofKind = (kind: string) => DOCS.filter((d) => d.doc.kind === kind);

interface Param {
  name: string;
  type?: string;
  description?: string;
  default?: unknown;
}
interface EnvVar {
  name: string;
  value?: string;
}
interface Step {
  name: string;
  image?: string;
  env?: EnvVar[];
  args?: string[];
  script?: string;
  onError?: string;
  securityContext?: Obj;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface TaskSpec {
  displayName?: string;
  description?: string;
  params?: Param[];
  results?: { name: string; description?: string; type?: string }[];
  workspaces?: { name: string; optional?: boolean; description?: string }[];
  volumes?: { name: string; emptyDir?: Obj }[];
  stepTemplate?: Omit<Step, 'name'>;
  steps: Step[];
}
interface Meta {
  name?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const meta = (d: Obj) => (d.metadata ?? {}) as Meta;
const taskSpec = (d: Obj) => d.spec as TaskSpec;

const taskDocs = ofKind('Task');
const taskByName = new Map(taskDocs.map((d) => [meta(d.doc).name!, d]));
const pipelineDocs = ofKind('Pipeline');

/** A step with the stepTemplate merged in (env by name, securityContext and mounts when the step has none). */
function effectiveStep(spec: TaskSpec, step: Step): Step {
  const t = spec.stepTemplate ?? {};
  const env = new Map<string, EnvVar>();
  for (const e of [...(t.env ?? []), ...(step.env ?? [])]) env.set(e.name, e);
  return {
    ...step,
    env: [...env.values()],
    securityContext: { ...(t.securityContext ?? {}), ...(step.securityContext ?? {}) },
    volumeMounts: [...(t.volumeMounts ?? []), ...(step.volumeMounts ?? [])],
  };
}

/** The CLI command a step script runs (`node /app/dist/scripts/cli.js <command>`). */
function commandOf(step: Step): string {
  const m = /node \/app\/dist\/scripts\/cli\.js ([a-z-]+)/.exec(step.script ?? '');
  if (!m) throw new Error(`step ${step.name} runs no 'node ${CLI_PATH} <command>'`);
  return m[1];
}

/** The options (long names) of a CLI command and their defaults, from its yargs builder. */
interface CliOptions {
  keys: Set<string>;
  defaults: Record<string, unknown>;
  arrays: Set<string>;
}
function cliOptions(command: string): CliOptions {
  const mod = (commands as CommandModule[]).find((c) => c.command === command);
  if (!mod) throw new Error(`the CLI has no command ${command}`);
  const builder = mod.builder as (y: Argv) => Argv;
  // getOptions() exists on yargs 18 but not in @types/yargs 17.
  type WithOptions = { getOptions(): { key: Record<string, boolean>; default: Record<string, unknown>; array: string[] } };
  const own = (builder(yargs([])) as unknown as WithOptions).getOptions();
  const global = (buildCli([]) as unknown as WithOptions).getOptions();
  const keys = new Set([...Object.keys(own.key), ...Object.keys(global.key)].filter((k) => k !== 'help' && k !== 'version'));
  return { keys, defaults: { ...global.default, ...own.default }, arrays: new Set(own.array) };
}

const envOption = (name: string) => name.slice('SHIPWRIGHT_CACHE_'.length).toLowerCase().replace(/_/g, '-');
const paramRef = (value: unknown): string | undefined => (typeof value === 'string' ? /^\$\(params\.([a-z0-9-]+)(\[\*\])?\)$/.exec(value)?.[1] : undefined);

// ---------------------------------------------------------------------------------------------
// Running a step script: Tekton's substitutions, bash, a stand-in `node` on PATH.

interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
  /** What the script passed to `node` (without the CLI path), or undefined when it did not call it. */
  args?: string[];
  /** The SHIPWRIGHT_CACHE_* variables `node` saw. */
  env?: Record<string, string>;
}
interface StepContext {
  params?: Record<string, string | string[]>;
  reportsBound?: boolean;
  dir: string;
  runExitCode?: string;
  nodeExit?: number;
}

const scratch = mkdtempSync(join(tmpdir(), 'swc-tasks-test-'));
const fakeBin = join(scratch, 'bin');
mkdirSync(fakeBin);
writeFileSync(
  join(fakeBin, 'node'),
  [
    '#!/usr/bin/env bash',
    '# Stand-in for node in the step scripts: records the arguments and SHIPWRIGHT_CACHE_* variables.',
    'printf \'%s\\0\' "$@" > "${FAKE_NODE_OUT}/args"',
    'env -0 | { grep -z "^SHIPWRIGHT_CACHE_" || true; } > "${FAKE_NODE_OUT}/env"',
    'exit "${FAKE_NODE_EXIT:-0}"',
    '',
  ].join('\n'),
);
chmodSync(join(fakeBin, 'node'), 0o755);

/** Tekton's variable substitution for one Task's step fields. */
function substitute(value: string, task: Doc, ctx: StepContext): string {
  const spec = taskSpec(task.doc);
  return value.replace(/\$\(([^)]+)\)/g, (whole, ref: string) => {
    let m: RegExpExecArray | null;
    if ((m = /^params\.([a-z0-9-]+)$/.exec(ref))) {
      const p = spec.params?.find((x) => x.name === m![1]);
      if (!p) throw new Error(`${whole}: no such param`);
      const v = ctx.params?.[p.name] ?? p.default;
      if (typeof v !== 'string') throw new Error(`${whole}: not a string value`);
      return v;
    }
    if ((m = /^workspaces\.([a-z0-9-]+)\.(bound|path)$/.exec(ref))) {
      if (!spec.workspaces?.some((w) => w.name === m![1])) throw new Error(`${whole}: no such workspace`);
      return m[2] === 'bound' ? String(Boolean(ctx.reportsBound)) : ctx.reportsBound ? join(ctx.dir, 'workspace') : '';
    }
    if ((m = /^results\.([a-z0-9-]+)\.path$/.exec(ref))) {
      if (!spec.results?.some((r) => r.name === m![1])) throw new Error(`${whole}: no such result`);
      return join(ctx.dir, 'results', m[1]);
    }
    if ((m = /^steps\.step-([a-z0-9-]+)\.exitCode\.path$/.exec(ref))) {
      if (!spec.steps.some((s) => s.name === m![1])) throw new Error(`${whole}: no such step`);
      return join(ctx.dir, 'steps', `step-${m[1]}`, 'exitCode');
    }
    throw new Error(`${whole}: a variable this test does not emulate`);
  });
}

function runStep(taskName: string, stepName: string, ctx: StepContext): StepRun {
  const task = taskByName.get(taskName)!;
  const spec = taskSpec(task.doc);
  const raw = spec.steps.find((s) => s.name === stepName)!;
  const step = effectiveStep(spec, raw);
  const env: Record<string, string> = { PATH: `${fakeBin}:${process.env.PATH}`, FAKE_NODE_OUT: ctx.dir, LANG: 'C.UTF-8' };
  if (ctx.nodeExit !== undefined) env.FAKE_NODE_EXIT = String(ctx.nodeExit);
  for (const e of step.env ?? []) env[e.name] = substitute(e.value ?? '', task, ctx);
  const args = (raw.args ?? []).flatMap((a) => {
    const m = /^\$\(params\.([a-z0-9-]+)\[\*\]\)$/.exec(a);
    if (!m) return [substitute(a, task, ctx)];
    const v = ctx.params?.[m[1]] ?? spec.params?.find((p) => p.name === m[1])?.default;
    if (!Array.isArray(v)) throw new Error(`${a}: not an array param`);
    return v as string[];
  });
  mkdirSync(join(ctx.dir, 'results'), { recursive: true });
  mkdirSync(join(ctx.dir, 'steps', 'step-run'), { recursive: true });
  if (ctx.runExitCode !== undefined) writeFileSync(join(ctx.dir, 'steps', 'step-run', 'exitCode'), ctx.runExitCode);
  const scriptFile = join(ctx.dir, `script-${stepName}`);
  writeFileSync(scriptFile, raw.script ?? '');
  rmSync(join(ctx.dir, 'args'), { force: true });
  const r = spawnSync('bash', [scriptFile, ...args], { env, encoding: 'utf8' });
  const out: StepRun = { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  if (existsSync(join(ctx.dir, 'args'))) {
    const argv = readFileSync(join(ctx.dir, 'args'), 'utf8').split('\0').slice(0, -1);
    assert.is(argv[0], CLI_PATH, 'the script runs the CLI at its path in the image');
    out.args = argv.slice(1);
    out.env = Object.fromEntries(
      readFileSync(join(ctx.dir, 'env'), 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
  }
  return out;
}

/** Runs the real CLI in-process with `args` and these SHIPWRIGHT_CACHE_* variables; `parseOnly` swaps the handlers for a recorder. */
async function cli(args: string[], env: Record<string, string>, parseOnly: boolean): Promise<{ code: number; argv?: Record<string, unknown>; stdout: string; stderr: string }> {
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('SHIPWRIGHT_CACHE'));
  for (const [k] of saved) delete process.env[k];
  Object.assign(process.env, env);
  const mods = commands as CommandModule[];
  const handlers = mods.map((c) => c.handler);
  let argv: Record<string, unknown> | undefined;
  if (parseOnly) for (const c of mods) c.handler = (a) => void (argv = a as Record<string, unknown>);
  let stdout = '';
  let stderr = '';
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, argv, stdout, stderr };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.exitCode = undefined;
    mods.forEach((c, i) => (c.handler = handlers[i]));
    for (const k of Object.keys(env)) delete process.env[k];
    for (const [k, v] of saved) process.env[k] = v;
  }
}

const freshDir = (name: string) => mkdtempSync(join(scratch, `${name}-`));

// ---------------------------------------------------------------------------------------------
// A structural openAPIV3Schema validator (what the API server applies to a CRD object, with
// fieldValidation=Strict as kubectl sends it: unknown fields are errors).

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  nullable?: boolean;
  anyOf?: Schema[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
}

function validateSchema(value: unknown, schema: Schema, path: string, errors: string[]): void {
  if (value === null || value === undefined) {
    if (!schema.nullable) errors.push(`${path}: null`);
    return;
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value !== 'string' && !Number.isInteger(value)) errors.push(`${path}: not an int or string`);
    return;
  }
  if (schema.anyOf && !schema.type) {
    const ok = schema.anyOf.some((s) => {
      const e: string[] = [];
      validateSchema(value, s, path, e);
      return e.length === 0;
    });
    if (!ok) errors.push(`${path}: matches none of anyOf`);
    return;
  }
  if (!schema.type) return; // x-kubernetes-preserve-unknown-fields with no type: anything goes
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return void errors.push(`${path}: not an object`);
      const o = value as Obj;
      for (const r of schema.required ?? []) if (!(r in o)) errors.push(`${path}.${r}: required`);
      for (const [k, v] of Object.entries(o)) {
        if (schema.properties?.[k]) validateSchema(v, schema.properties[k], `${path}.${k}`, errors);
        else if (typeof schema.additionalProperties === 'object') validateSchema(v, schema.additionalProperties, `${path}.${k}`, errors);
        else if (schema.additionalProperties === true || schema['x-kubernetes-preserve-unknown-fields']) continue;
        else if (path === '' && k === 'metadata') continue;
        else if (!schema.properties && path.endsWith('.metadata')) continue; // ObjectMeta: the API server validates it itself
        else errors.push(`${path}.${k}: unknown field`);
      }
      return;
    }
    case 'array':
      if (!Array.isArray(value)) return void errors.push(`${path}: not an array`);
      value.forEach((v, i) => schema.items && validateSchema(v, schema.items, `${path}[${i}]`, errors));
      return;
    case 'string':
      if (typeof value !== 'string') return void errors.push(`${path}: not a string (${JSON.stringify(value)})`);
      if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${value} not in ${JSON.stringify(schema.enum)}`);
      return;
    case 'integer':
      if (!Number.isInteger(value)) errors.push(`${path}: not an integer`);
      return;
    case 'number':
      if (typeof value !== 'number') errors.push(`${path}: not a number`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${path}: not a boolean`);
      return;
    default:
      errors.push(`${path}: schema type ${schema.type} unknown to this validator`);
  }
}

function crdSchema(version: string, file: string, apiVersion: string): Schema {
  const crd = YAML.parse(readFileSync(join(REPO, 'tests/fixtures/upstream/tekton-pipelines', version, 'crds', file), 'utf8')) as {
    spec: { versions: { name: string; schema?: { openAPIV3Schema?: Schema } }[] };
  };
  const v = crd.spec.versions.find((x) => x.name === apiVersion);
  if (!v?.schema?.openAPIV3Schema) throw new Error(`${file} (${version}) has no ${apiVersion} schema`);
  return v.schema.openAPIV3Schema;
}

// =============================================================================================

const Layout = suite('tasks: layout and metadata');

Layout('every YAML under tasks/ parses, and each document has apiVersion and kind', () => {
  assert.ok(YAML_FILES.length >= 10, `found ${YAML_FILES.length} YAML files`);
  for (const d of DOCS) {
    assert.type(d.doc.apiVersion, 'string', `${rel(d.file)}: apiVersion`);
    assert.type(d.doc.kind, 'string', `${rel(d.file)}: kind`);
  }
});

Layout('each Task is tasks/<name>/<name>.yaml, one per CLI step, with a README and samples', () => {
  assert.equal(taskDocs.map((d) => meta(d.doc).name).sort(), Object.keys(TASKS).sort());
  for (const d of taskDocs) {
    const name = meta(d.doc).name!;
    assert.is(rel(d.file), `tasks/${name}/${name}.yaml`);
    assert.ok(existsSync(join(TASKS_DIR, name, 'README.md')), `${name}: README.md`);
    assert.ok(readdirSync(join(TASKS_DIR, name, 'samples')).some((f) => f.endsWith('.yaml')), `${name}: samples/*.yaml`);
  }
  assert.is(pipelineDocs.length, 1, 'one Pipeline');
  assert.ok(existsSync(join(dirname(pipelineDocs[0].file), 'README.md')), 'the Pipeline has a README');
});

Layout('Tasks, the Pipeline and samples are tekton.dev/v1', () => {
  for (const d of DOCS.filter((x) => String(x.doc.apiVersion).startsWith('tekton.dev'))) {
    assert.is(d.doc.apiVersion, 'tekton.dev/v1', `${rel(d.file)} ${d.doc.kind}`);
  }
});

Layout('catalog and Artifact Hub metadata on every Task and the Pipeline', () => {
  for (const d of [...taskDocs, ...pipelineDocs]) {
    const m = meta(d.doc);
    const where = `${d.doc.kind} ${m.name}`;
    assert.is(m.labels?.['app.kubernetes.io/version'], PKG.version, `${where}: label app.kubernetes.io/version = package.json version`);
    const a = m.annotations ?? {};
    assert.match(a['tekton.dev/pipelines.minVersion'] ?? '', /^\d+\.\d+\.\d+$/, `${where}: tekton.dev/pipelines.minVersion`);
    for (const k of ['tekton.dev/categories', 'tekton.dev/tags', 'tekton.dev/displayName']) assert.ok(a[k]?.trim(), `${where}: ${k}`);
    assert.match(a['tekton.dev/platforms'] ?? '', /^linux\/[a-z0-9]+(,linux\/[a-z0-9]+)*$/, `${where}: tekton.dev/platforms`);
    assert.is(a['artifacthub.io/category'], 'integration-delivery', `${where}: artifacthub.io/category`);
    assert.is(a['artifacthub.io/license'], 'Apache-2.0', `${where}: artifacthub.io/license`);
    assert.ok(a['artifacthub.io/provider'], `${where}: artifacthub.io/provider`);
    for (const k of ['artifacthub.io/links', 'artifacthub.io/maintainers', 'artifacthub.io/changes']) {
      const list = YAML.parse(a[k] ?? '') as unknown;
      assert.ok(Array.isArray(list) && list.length > 0, `${where}: ${k} is a YAML list`);
    }
    for (const l of YAML.parse(a['artifacthub.io/links']) as { name: string; url: string }[]) assert.match(l.url, /^https:\/\//, `${where}: link ${l.name}`);
    const spec = d.doc.spec as TaskSpec;
    assert.is(spec.displayName, a['tekton.dev/displayName'], `${where}: spec.displayName = tekton.dev/displayName`);
  }
});

Layout('spec.description: a one-line summary, a blank line, then detail', () => {
  for (const d of [...taskDocs, ...pipelineDocs]) {
    const desc = (d.doc.spec as TaskSpec).description ?? '';
    const [summary, blank, ...rest] = desc.split('\n');
    assert.ok(summary.trim().endsWith('.'), `${meta(d.doc).name}: summary line "${summary}"`);
    assert.is(blank, '', `${meta(d.doc).name}: a blank line after the summary`);
    assert.ok(rest.join(' ').trim().length > 40, `${meta(d.doc).name}: detail after the summary`);
  }
});

Layout.run();

// =============================================================================================

const Params = suite('tasks: params, images, scripts');

Params('params: kebab-case, typed, described; a default for all but the required ones', () => {
  for (const d of [...taskDocs, ...pipelineDocs]) {
    const where = meta(d.doc).name;
    for (const p of (d.doc.spec as TaskSpec).params ?? []) {
      assert.match(p.name, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, `${where}: param ${p.name} is kebab-case`);
      assert.ok(p.description?.trim(), `${where}: param ${p.name} has a description`);
      assert.ok(p.type === 'string' || p.type === 'array', `${where}: param ${p.name} type ${p.type}`);
      if (REQUIRED_PARAMS.has(p.name)) {
        assert.is(p.default, undefined, `${where}: required param ${p.name} has no default`);
        continue;
      }
      assert.ok('default' in p, `${where}: param ${p.name} has a default`);
      if (p.type === 'string') assert.type(p.default, 'string', `${where}: param ${p.name} default is a string (quote numbers and booleans)`);
      else assert.ok(Array.isArray(p.default), `${where}: array param ${p.name} default is an array`);
    }
  }
});

Params('every param is used, and every $(params.x) names a declared param', () => {
  for (const d of taskDocs) {
    const spec = taskSpec(d.doc);
    const text = JSON.stringify({ steps: spec.steps, stepTemplate: spec.stepTemplate, volumes: spec.volumes, workspaces: spec.workspaces });
    const names = new Set((spec.params ?? []).map((p) => p.name));
    for (const n of names) assert.ok(text.includes(`$(params.${n})`) || text.includes(`$(params.${n}[*])`), `${meta(d.doc).name}: param ${n} is used`);
    for (const m of text.matchAll(/\$\(params\.([a-z0-9-]+)/g)) assert.ok(names.has(m[1]), `${meta(d.doc).name}: $(params.${m[1]}) is declared`);
  }
});

Params('no Tekton variable inside any script: params reach the CLI through env (and args)', () => {
  for (const d of taskDocs) {
    for (const s of taskSpec(d.doc).steps) {
      assert.not.match(s.script ?? '', /\$\(params\./, `${meta(d.doc).name}/${s.name}: $(params. in script`);
      assert.not.match(s.script ?? '', /\$\((params|context|workspaces|results|steps|tasks|inputs|outputs)\./, `${meta(d.doc).name}/${s.name}: a Tekton variable in script`);
      assert.ok((s.script ?? '').startsWith('#!/usr/bin/env bash\nset -euo pipefail\n'), `${meta(d.doc).name}/${s.name}: bash with set -euo pipefail`);
    }
  }
});

Params('every step image is an image param with a pinned default; the runner default is the release tag', () => {
  const pinned = /^[a-z0-9.-]+(:\d+)?\/[a-z0-9._/-]+(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$/;
  for (const d of taskDocs) {
    const spec = taskSpec(d.doc);
    for (const s of spec.steps) {
      const ref = paramRef(s.image);
      assert.ok(ref && ref.endsWith('-image'), `${meta(d.doc).name}/${s.name}: image ${s.image} is a $(params.*-image) reference`);
    }
    for (const p of (spec.params ?? []).filter((x) => x.name.endsWith('-image') && !NOT_RUN_IMAGES.has(x.name))) {
      const v = String(p.default);
      assert.match(v, pinned, `${meta(d.doc).name}: ${p.name} default ${v} is a full reference with a tag or digest`);
      assert.not.match(v, /:latest$/, `${meta(d.doc).name}: ${p.name} is not :latest`);
    }
    assert.is(spec.params?.find((p) => p.name === 'runner-image')?.default, RUNNER_IMAGE_DEFAULT, `${meta(d.doc).name}: runner-image default`);
  }
  const pipeline = pipelineDocs[0].doc.spec as TaskSpec;
  assert.is(pipeline.params?.find((p) => p.name === 'runner-image')?.default, RUNNER_IMAGE_DEFAULT, 'Pipeline runner-image default');
  const reset = taskSpec(taskByName.get('shipwright-cache-measure')!.doc).params?.find((p) => p.name === 'reset-image');
  assert.is(reset?.default, DEFAULT_RESET_IMAGE, 'reset-image default = the CLI default');
});

Params('each step runs one CLI command; its SHIPWRIGHT_CACHE_* variables and flags are options of that command', () => {
  for (const d of taskDocs) {
    const name = meta(d.doc).name!;
    const spec = taskSpec(d.doc);
    assert.equal(spec.steps.map(commandOf), TASKS[name], `${name}: the commands its steps run`);
    for (const raw of spec.steps) {
      const step = effectiveStep(spec, raw);
      const command = commandOf(step);
      const opts = cliOptions(command);
      for (const e of step.env ?? []) {
        if (!e.name.startsWith('SHIPWRIGHT_CACHE')) continue;
        assert.ok(opts.keys.has(envOption(e.name)), `${name}/${step.name}: ${e.name} is no option of '${command}' (the CLI would reject it: strict mode)`);
      }
      for (const m of (step.script ?? '').matchAll(/"?--([a-z][a-z-]*)=/g)) {
        assert.ok(opts.keys.has(m[1]), `${name}/${step.name}: --${m[1]} is no option of '${command}'`);
      }
      for (const m of (step.script ?? '').matchAll(/SHIPWRIGHT_CACHE_[A-Z_]+/g)) {
        assert.ok(opts.keys.has(envOption(m[0])), `${name}/${step.name}: script names ${m[0]}, no option of '${command}'`);
      }
    }
  }
});

Params('a param that maps to a CLI option has the CLI default (or empty, which means the CLI default)', () => {
  let compared = 0;
  for (const d of taskDocs) {
    const spec = taskSpec(d.doc);
    for (const raw of spec.steps) {
      const step = effectiveStep(spec, raw);
      const opts = cliOptions(commandOf(step));
      for (const e of step.env ?? []) {
        const p = paramRef(e.value);
        if (!e.name.startsWith('SHIPWRIGHT_CACHE') || !p) continue;
        const param = spec.params!.find((x) => x.name === p)!;
        const cliDefault = opts.defaults[envOption(e.name)];
        if (param.default === '' || cliDefault === undefined || param.default === undefined) continue;
        assert.is(param.default, String(cliDefault), `${meta(d.doc).name}: ${p} default vs the CLI's --${envOption(e.name)} default`);
        compared++;
      }
      for (const p of spec.params ?? []) {
        const used = JSON.stringify(step.env ?? []).includes(`$(params.${p.name})`);
        if (used && !NON_CLI_PARAMS.has(p.name)) {
          assert.ok((step.env ?? []).some((e) => e.name.startsWith('SHIPWRIGHT_CACHE') && paramRef(e.value) === p.name), `${p.name}: passed to the CLI`);
        }
      }
    }
  }
  assert.ok(compared >= 15, `compared ${compared} defaults`);
});

Params('steps run as 65532, non-root, read-only root, no privilege escalation, HOME on a writable volume', () => {
  for (const d of taskDocs) {
    const spec = taskSpec(d.doc);
    const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
    for (const raw of spec.steps) {
      const s = effectiveStep(spec, raw);
      const where = `${meta(d.doc).name}/${s.name}`;
      const sc = s.securityContext as { runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] }; privileged?: boolean };
      assert.is(sc.runAsNonRoot, true, `${where}: runAsNonRoot`);
      assert.is(sc.runAsUser, 65532, `${where}: runAsUser`);
      assert.is(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
      assert.is(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
      assert.equal(sc.capabilities?.drop, ['ALL'], `${where}: capabilities drop ALL`);
      assert.not.ok(sc.privileged, `${where}: not privileged`);
      const home = s.env?.find((e) => e.name === 'HOME')?.value;
      assert.ok(home, `${where}: HOME is set`);
      const mount = s.volumeMounts?.find((m) => m.mountPath === home);
      assert.ok(mount && volumes.has(mount.name), `${where}: HOME ${home} is a mounted emptyDir`);
      assert.ok(s.volumeMounts?.some((m) => m.mountPath === '/tmp'), `${where}: /tmp is writable (node's tmpdir)`);
    }
  }
});

Params.run();

// =============================================================================================

const Scripts = suite('tasks: step scripts with the real CLI');

/** Required values for a run of each Task (the others come from the defaults). */
const REQUIRED_VALUES: Record<string, string> = { 'source-url': 'https://git.example.com/app.git', 'output-image': 'registry.example.com/team/app' };

Scripts('with the defaults, every step passes only what the CLI accepts (empty params dropped)', async () => {
  for (const d of taskDocs) {
    const name = meta(d.doc).name!;
    for (const s of taskSpec(d.doc).steps) {
      const dir = freshDir(`${name}-${s.name}`);
      // The reports workspace is bound (the scratch volume /shipwright-cache is not writable
      // here); report and gate find the record where the run step writes it.
      if (s.name === 'report' || s.name === 'gate') {
        mkdirSync(join(dir, 'workspace'), { recursive: true });
        writeFileSync(join(dir, 'workspace', 'record.json'), readFileSync(fixturePath('pass-buildah')));
      }
      const run = runStep(name, s.name, { dir, params: REQUIRED_VALUES, reportsBound: true, runExitCode: '0' });
      assert.is(run.code, 0, `${name}/${s.name}: ${run.stderr}`);
      assert.ok(run.args, `${name}/${s.name}: calls the CLI`);
      for (const [k, v] of Object.entries(run.env!)) assert.ok(v !== '', `${name}/${s.name}: ${k} is empty and still set`);
      const parsed = await cli(run.args!, run.env!, true);
      assert.is(parsed.code, 0, `${name}/${s.name}: the CLI rejects ${JSON.stringify(run.args)} ${JSON.stringify(run.env)}: ${parsed.stderr}`);
      assert.is((parsed.argv?._ as string[])[0], commandOf(s));
    }
  }
});

Scripts('cache-pvc: params become options; pvc-labels become repeated --label', async () => {
  const dir = freshDir('pvc');
  const run = runStep('shipwright-cache-pvc', 'cache-pvc', { dir, params: { 'pvc-name': 'c1', size: '5Gi', 'storage-class': 'fast', namespace: 'team', 'pvc-labels': ['a=b', 'c=-d'] } });
  const { argv, code } = await cli(run.args!, run.env!, true);
  assert.is(code, 0);
  assert.is(argv!.name, 'c1');
  assert.is(argv!.size, '5Gi');
  assert.is(argv!['storage-class'], 'fast');
  assert.is(argv!.namespace, 'team');
  assert.equal(argv!.label, ['a=b', 'c=-d']);
  const defaults = runStep('shipwright-cache-pvc', 'cache-pvc', { dir: freshDir('pvc-defaults') });
  const parsed = await cli(defaults.args!, defaults.env!, true);
  assert.not.ok('storage-class' in parsed.argv!, 'an empty storage-class is left to the CLI (the default class)');
  assert.not.ok('namespace' in parsed.argv!, "an empty namespace is the pod's");
});

Scripts('create-build: build-params become --param, build-labels --label, even after a "--"', async () => {
  const run = runStep('shipwright-cache-build', 'create-build', {
    dir: freshDir('build'),
    params: { ...REQUIRED_VALUES, 'build-params': ['dockerfile=Containerfile', 'build-args=A=1'], 'build-labels': ['team=x'], 'strategy-mode': 'in-place', wait: 'false' },
  });
  const { argv, code, stderr } = await cli(run.args!, run.env!, true);
  assert.is(code, 0, stderr);
  assert.equal(argv!.param, ['dockerfile=Containerfile', 'build-args=A=1']);
  assert.equal(argv!.label, ['team=x']);
  assert.is(argv!.mode, 'in-place');
  assert.is(argv!.wait, false);
  assert.is(argv!['source-url'], REQUIRED_VALUES['source-url']);
  const none = runStep('shipwright-cache-build', 'create-build', { dir: freshDir('build-none'), params: REQUIRED_VALUES });
  const parsed = await cli(none.args!, none.env!, true);
  assert.is(parsed.code, 0, parsed.stderr);
  assert.not.ok(parsed.argv!.param, 'no --param without build-params');
});

Scripts('measure/run: record in the reports workspace (subdir) or the scratch volume; a stale record is removed', () => {
  const dir = freshDir('run');
  const ws = join(dir, 'workspace', 'pr-1');
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'record.json'), '{"stale":true}');
  const run = runStep('shipwright-cache-measure', 'run', { dir, reportsBound: true, params: { 'reports-subdir': 'pr-1', runs: '4', cold: 'true' } });
  assert.is(run.code, 0, run.stderr);
  assert.equal(run.args, ['run', `--record=${ws}/record.json`]);
  assert.not.ok(existsSync(join(ws, 'record.json')), 'the stale record is gone');
  assert.is(run.env!.SHIPWRIGHT_CACHE_RUNS, '4');
  assert.is(run.env!.SHIPWRIGHT_CACHE_COLD, 'true');
  const task = taskSpec(taskByName.get('shipwright-cache-measure')!.doc);
  assert.ok(task.steps[0].script!.includes('out=/shipwright-cache'), 'unbound: the scratch volume');
  assert.ok(task.stepTemplate!.volumeMounts!.some((m) => m.mountPath === '/shipwright-cache'), 'the scratch volume is mounted');
});

Scripts('measure/report: skips without a record, else writes report files into the same directory', () => {
  const dir = freshDir('report');
  const none = runStep('shipwright-cache-measure', 'report', { dir, reportsBound: true });
  assert.is(none.code, 0);
  assert.is(none.args, undefined, 'the CLI is not called without a record');
  assert.match(none.stdout, /nothing to report/);
  const ws = join(dir, 'workspace');
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, 'record.json'), readFileSync(fixturePath('pass-buildah')));
  const run = runStep('shipwright-cache-measure', 'report', { dir, reportsBound: true, params: { 'min-speedup': '2' } });
  assert.equal(run.args, ['report', `--record=${ws}/record.json`, `--out-dir=${ws}`], 'an empty reports-subdir is the workspace root');
  assert.is(run.env!.SHIPWRIGHT_CACHE_MIN_SPEEDUP, '2');
});

/** Runs the gate step, then the real `gate` with what it passed; returns the results written. */
async function gateStep(fixture: FixtureName | undefined, ctx: Omit<StepContext, 'dir' | 'reportsBound'>) {
  const dir = freshDir(`gate-${fixture ?? 'none'}`);
  mkdirSync(join(dir, 'workspace'), { recursive: true });
  if (fixture) writeFileSync(join(dir, 'workspace', 'record.json'), readFileSync(fixturePath(fixture)));
  const step = runStep('shipwright-cache-measure', 'gate', { ...ctx, dir, reportsBound: true });
  let cliCode: number | undefined;
  if (step.args) cliCode = (await cli(step.args, step.env!, false)).code;
  const resultsDir = join(dir, 'results');
  const results = Object.fromEntries(readdirSync(resultsDir).map((f) => [f, readFileSync(join(resultsDir, f), 'utf8')]));
  return { step, cliCode, results };
}

Scripts('measure/gate: the results written are exactly the declared ones, well under 4 KB', async () => {
  const declared = (taskSpec(taskByName.get('shipwright-cache-measure')!.doc).results ?? []).map((r) => r.name);
  assert.equal([...declared].sort(), [...TEKTON_RESULT_NAMES].sort(), 'declared results = what gate writes');
  for (const fixture of ['pass-buildah', 'cache-never-used', 'failed-volume-not-overridable'] as FixtureName[]) {
    const { step, cliCode, results } = await gateStep(fixture, { runExitCode: fixture === 'failed-volume-not-overridable' ? '1' : '0' });
    assert.is(step.code, 0, step.stderr);
    assert.equal(step.args!.slice(0, 1), ['gate']);
    assert.ok(step.args!.some((a) => a.startsWith('--results-dir=') && a.endsWith('/results')), 'results next to $(results.passed.path)');
    assert.equal(Object.keys(results).sort(), [...TEKTON_RESULT_NAMES].sort(), `${fixture}: result files`);
    assert.ok(encodedResultsBytes(results) < TERMINATION_MESSAGE_BYTES - 1024, `${fixture}: ${encodedResultsBytes(results)} bytes encoded`);
    assert.is(results.passed, fixture === 'pass-buildah' ? 'true' : 'false');
    assert.is(cliCode, fixture === 'pass-buildah' ? 0 : 1, `${fixture}: the gate's exit code is the step's`);
  }
});

Scripts('measure/gate: fail-on-gate "false" turns a failed gate into success, not an error', async () => {
  const failed = runStep('shipwright-cache-measure', 'gate', { dir: freshDir('gate-soft'), reportsBound: true, runExitCode: '0', nodeExit: 1, params: { 'fail-on-gate': 'false' } });
  assert.is(failed.code, 1, 'no record here: the fallback fails (exit 1)');
  const dir = freshDir('gate-soft2');
  mkdirSync(join(dir, 'workspace'), { recursive: true });
  writeFileSync(join(dir, 'workspace', 'record.json'), readFileSync(fixturePath('cache-never-used')));
  const soft = runStep('shipwright-cache-measure', 'gate', { dir, reportsBound: true, runExitCode: '0', nodeExit: 1, params: { 'fail-on-gate': 'false' } });
  assert.is(soft.code, 0, soft.stderr);
  assert.match(soft.stdout, /fail-on-gate is false/);
  const broken = runStep('shipwright-cache-measure', 'gate', { dir, reportsBound: true, runExitCode: '0', nodeExit: 2, params: { 'fail-on-gate': 'false' } });
  assert.is(broken.code, 2, 'bad input still fails the Task');
  const hard = runStep('shipwright-cache-measure', 'gate', { dir, reportsBound: true, runExitCode: '0', nodeExit: 1 });
  assert.is(hard.code, 1, 'by default a failed gate fails the Task');
});

Scripts('measure/gate: when the run step failed (e.g. forbidden, exit 4) the results say so and the Task fails with 4', async () => {
  const { step, results } = await gateStep(undefined, { runExitCode: '4' });
  assert.is(step.code, 4);
  assert.is(step.args, undefined, 'no gate without a record');
  assert.equal(Object.keys(results).sort(), [...TEKTON_RESULT_NAMES].sort());
  assert.is(results.passed, 'false');
  assert.match(results.reason, /exit 4, forbidden/);
  assert.is(results.speedup, '');
  assert.is(results.metric, 'build');
  assert.equal(JSON.parse(results.summary), { passed: false });
  // A BuildRun that ran out of --timeout (exit 7) is in the record: the gate reports it.
  const timedOut = await gateStep('failed-volume-not-overridable', { runExitCode: '7' });
  assert.equal(timedOut.step.args?.slice(0, 1), ['gate']);
  assert.is(timedOut.cliCode, 1);
  assert.is(timedOut.results.passed, 'false');
  // A record left over from before, with a run step that failed hard, is not gated either.
  const stale = await gateStep('pass-buildah', { runExitCode: '3' });
  assert.is(stale.step.code, 3);
  assert.is(stale.results.passed, 'false');
});

Scripts.run();

// =============================================================================================

const Pipeline = suite('tasks: the Pipeline and the samples');
const pipeline = pipelineDocs[0].doc as { metadata: Meta; spec: TaskSpec & { tasks: PipelineTask[]; results?: { name: string; value: string }[]; workspaces?: { name: string; optional?: boolean }[] } };
interface PipelineTask {
  name: string;
  taskRef: { name: string };
  runAfter?: string[];
  params?: { name: string; value: unknown }[];
  workspaces?: { name: string; workspace: string }[];
}

Pipeline('it chains the four Tasks: pvc and strategy, then build, then measure', () => {
  const byName = Object.fromEntries(pipeline.spec.tasks.map((t) => [t.name, t]));
  assert.equal(pipeline.spec.tasks.map((t) => t.taskRef.name).sort(), Object.keys(TASKS).sort());
  assert.equal([...(byName.build.runAfter ?? [])].sort(), ['cache-pvc', 'patch-strategy']);
  assert.equal(byName.measure.runAfter, ['build']);
  for (const t of pipeline.spec.tasks) for (const a of t.runAfter ?? []) assert.ok(byName[a], `${t.name}: runAfter ${a}`);
});

Pipeline('pipeline tasks pass only declared params, every required one, from declared pipeline params', () => {
  const pparams = new Map((pipeline.spec.params ?? []).map((p) => [p.name, p]));
  const used = new Set<string>();
  for (const t of pipeline.spec.tasks) {
    const task = taskByName.get(t.taskRef.name);
    assert.ok(task, `${t.name}: Task ${t.taskRef.name} exists`);
    const tparams = new Map((taskSpec(task!.doc).params ?? []).map((p) => [p.name, p]));
    for (const p of t.params ?? []) {
      const tp = tparams.get(p.name);
      assert.ok(tp, `${t.name}: ${p.name} is a param of ${t.taskRef.name}`);
      const text = JSON.stringify(p.value);
      for (const m of text.matchAll(/\$\(params\.([a-z0-9-]+)(\[\*\])?\)/g)) {
        assert.ok(pparams.has(m[1]), `${t.name}: $(params.${m[1]}) is a Pipeline param`);
        used.add(m[1]);
        assert.is(pparams.get(m[1])!.type, tp!.type, `${t.name}: ${p.name} type`);
        if (pparams.get(m[1])!.default !== undefined && m[1] === p.name) {
          assert.equal(pparams.get(m[1])!.default, tp!.default, `Pipeline param ${m[1]} default = the Task's`);
        }
      }
    }
    for (const [n, tp] of tparams) if (!('default' in tp)) assert.ok(t.params?.some((p) => p.name === n), `${t.name}: required ${n} is passed`);
    for (const w of t.workspaces ?? []) {
      assert.ok(taskSpec(task!.doc).workspaces?.some((x) => x.name === w.name), `${t.name}: workspace ${w.name}`);
      assert.ok(pipeline.spec.workspaces?.some((x) => x.name === w.workspace), `${t.name}: pipeline workspace ${w.workspace}`);
    }
  }
  for (const n of pparams.keys()) assert.ok(used.has(n), `Pipeline param ${n} is used`);
  const measure = pipeline.spec.tasks.find((t) => t.name === 'measure')!;
  assert.is(measure.params?.find((p) => p.name === 'reports-subdir')?.value, '$(context.pipelineRun.name)', 'one reports directory per PipelineRun');
});

Pipeline('pipeline results surface the verdict from the measure Task', () => {
  const names = (pipeline.spec.results ?? []).map((r) => r.name);
  for (const n of ['passed', 'speedup', 'cold-seconds', 'warm-seconds']) assert.ok(names.includes(n), `result ${n}`);
  for (const r of pipeline.spec.results ?? []) {
    const m = /^\$\(tasks\.([a-z0-9-]+)\.results\.([a-z0-9-]+)\)$/.exec(r.value);
    assert.ok(m, `${r.name}: ${r.value}`);
    const t = pipeline.spec.tasks.find((x) => x.name === m![1]);
    assert.ok(t, `${r.name}: pipeline task ${m![1]}`);
    assert.ok(taskSpec(taskByName.get(t!.taskRef.name)!.doc).results?.some((x) => x.name === m![2]), `${r.name}: ${m![1]} declares ${m![2]}`);
  }
});

Pipeline('samples: runs reference our Tasks/Pipeline, pass declared params (all required ones), use the shipped ServiceAccount', () => {
  const sa = ofKind('ServiceAccount').map((d) => meta(d.doc).name);
  const runs = [...ofKind('TaskRun'), ...ofKind('PipelineRun')];
  assert.ok(runs.length >= 5, `${runs.length} sample runs`);
  for (const d of runs) {
    const spec = d.doc.spec as { taskRef?: { name: string }; pipelineRef?: { name: string }; params?: { name: string }[]; serviceAccountName?: string; taskRunTemplate?: { serviceAccountName?: string }; workspaces?: { name: string }[] };
    const target = spec.taskRef ? taskSpec(taskByName.get(spec.taskRef.name)!.doc) : spec.pipelineRef?.name === meta(pipeline).name ? pipeline.spec : undefined;
    assert.ok(target, `${rel(d.file)}: references a Task or the Pipeline of tasks/`);
    assert.ok(meta(d.doc).generateName, `${rel(d.file)}: generateName (kubectl create, repeatable)`);
    for (const p of spec.params ?? []) assert.ok(target!.params?.some((x) => x.name === p.name), `${rel(d.file)}: param ${p.name}`);
    for (const p of target!.params ?? []) if (!('default' in p)) assert.ok(spec.params?.some((x) => x.name === p.name), `${rel(d.file)}: required ${p.name}`);
    for (const w of spec.workspaces ?? []) assert.ok(target!.workspaces?.some((x) => x.name === w.name), `${rel(d.file)}: workspace ${w.name}`);
    assert.ok(sa.includes(spec.serviceAccountName ?? spec.taskRunTemplate?.serviceAccountName), `${rel(d.file)}: the shipped ServiceAccount`);
  }
});

Pipeline.run();

// =============================================================================================

const Schemas = suite('tasks: Tekton CRD schemas');

const schemaTargets: [kind: string, file: string][] = [
  ['Task', '300-task.yaml'],
  ['Pipeline', '300-pipeline.yaml'],
  ['TaskRun', '300-taskrun.yaml'],
  ['PipelineRun', '300-pipelinerun.yaml'],
];

for (const version of TEKTON_VERSIONS) {
  Schemas(`every Task, the Pipeline and the samples validate against the v1 schemas of Tekton ${version}`, () => {
    let checked = 0;
    for (const [kind, file] of schemaTargets) {
      const schema = crdSchema(version, file, 'v1');
      assert.ok(schema.properties?.spec?.properties, `${file}: a structural schema (not schemaless)`);
      for (const d of ofKind(kind)) {
        const errors: string[] = [];
        validateSchema(d.doc, schema, '', errors);
        assert.equal(errors, [], `${rel(d.file)} (${kind}) against ${version}/${file}`);
        checked++;
      }
    }
    assert.ok(checked >= 10, `validated ${checked} objects`);
  });
}

Schemas('the validator catches an unknown field and a wrong type', () => {
  const schema = crdSchema('v1.12.2', '300-task.yaml', 'v1');
  const bad = structuredClone(taskByName.get('shipwright-cache-pvc')!.doc) as { spec: { steps: Obj[]; params: Obj[] } };
  bad.spec.steps[0].imagePullPolicyy = 'Always';
  bad.spec.params[0].default = 3;
  const errors: string[] = [];
  validateSchema(bad, schema, '', errors);
  assert.ok(errors.some((e) => e.includes('imagePullPolicyy: unknown field')), errors.join('\n'));
});

Schemas.run();

// =============================================================================================

const Rbac = suite('tasks: RBAC');

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
const grants = (role: string) =>
  [...ofKind('Role'), ...ofKind('ClusterRole')]
    .filter((d) => meta(d.doc).name === role)
    .flatMap((d) => (d.doc.rules as Rule[]).flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res} ${v}`)))));
const tableGrants = (role: string) => RBAC_TABLE.filter((g) => g.role === role).flatMap((g) => g.verbs.map((v) => `${g.group}/${g.resource} ${v}`));

Rbac('the roles grant exactly the table (no wildcards, nothing more, nothing less)', () => {
  const roles = [...ofKind('Role'), ...ofKind('ClusterRole')].map((d) => meta(d.doc).name!);
  assert.equal(roles.sort(), [...new Set(RBAC_TABLE.map((g) => g.role))].sort());
  for (const role of roles) assert.equal(grants(role).sort(), tableGrants(role).sort(), `${role}`);
  for (const d of [...ofKind('Role'), ...ofKind('ClusterRole')]) assert.not.match(JSON.stringify(d.doc.rules), /"\*"/, `${meta(d.doc).name}: no wildcard`);
  const clusterScoped = new Set(['storageclasses', 'clusterbuildstrategies', 'persistentvolumes', 'nodes']);
  for (const g of RBAC_TABLE) {
    const isCluster = ofKind('ClusterRole').some((d) => meta(d.doc).name === g.role);
    assert.is(isCluster, clusterScoped.has(g.resource), `${g.group}/${g.resource}: ${isCluster ? 'ClusterRole' : 'Role'}`);
  }
});

Rbac('every rule has a comment that says which command needs it', () => {
  for (const file of new Set([...ofKind('Role'), ...ofKind('ClusterRole')].map((d) => d.file))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((l, i) => {
      if (/^\s*- apiGroups:/.test(l)) assert.match(lines[i - 1], /^\s*#\s+\S/, `${rel(file)}:${i + 1}: a comment above the rule`);
    });
  }
});

Rbac('the ServiceAccount is bound to the namespaced Roles by RoleBindings of the same files', () => {
  const sa = meta(ofKind('ServiceAccount')[0].doc).name;
  assert.is(sa, 'shipwright-cache');
  for (const role of ofKind('Role')) {
    const binding = ofKind('RoleBinding').find((b) => (b.doc.roleRef as { name: string }).name === meta(role.doc).name);
    assert.ok(binding && binding.file === role.file, `${meta(role.doc).name}: a RoleBinding next to it`);
    assert.equal(binding!.doc.subjects, [{ kind: 'ServiceAccount', name: sa }]);
  }
  assert.is(ofKind('ClusterRoleBinding').length, 0, 'ClusterRoleBindings name the namespace: created with kubectl (see the README)');
});

/** The modules the Tasks' commands load, following relative imports. */
function taskModules(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)\.js'/g)) visit(join(dirname(file), `${m[1]}.ts`));
  };
  const cmds = new Set(Object.values(TASKS).flat());
  for (const f of readdirSync(join(REPO, 'scripts/commands'))) if (cmds.has(basename(f, '.ts'))) visit(join(REPO, 'scripts/commands', f));
  return [...seen];
}

/** The argument text of the call starting at `open` (the index of its '('). */
function callArgs(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

/** The resource a custom-object call addresses, from the helper or the literal plural it passes. */
function customResource(method: string, args: string): string {
  const plural = /plural: '([a-z]+)'/.exec(args)?.[1];
  const group = /group: 'tekton\.dev'/.test(args) ? 'tekton.dev' : 'shipwright.io';
  if (plural) return `${group}/${plural}`;
  if (/brApi\(/.test(args)) return 'shipwright.io/buildruns';
  if (/buildsApi\(|buildApi\(/.test(args)) return 'shipwright.io/builds';
  if (/base\(r\)/.test(args)) return method.includes('Cluster') ? 'shipwright.io/clusterbuildstrategies' : 'shipwright.io/buildstrategies';
  throw new Error(`cannot tell the resource of ${method}(${args.slice(0, 80)}…)`);
}

Rbac('a scan of the code the Tasks run finds no Kubernetes call outside the table', () => {
  const granted = new Set(RBAC_TABLE.flatMap((g) => g.verbs.map((v) => `${g.group}/${g.resource} ${v}`)));
  const found = new Set<string>();
  const files = taskModules();
  assert.ok(files.some((f) => f.endsWith('lib/buildruns.ts')) && !files.some((f) => f.endsWith('demo.ts')), 'the modules of the Tasks commands');
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/kube\.(core|storage|coordination)\s*\.(\w+)\(/g)) {
      const perm = TYPED_METHODS[m[2]];
      assert.ok(perm, `${rel(file)}: kube.${m[1]}.${m[2]} is not in this test's method table: add it and its RBAC`);
      found.add(`${perm[0]}/${perm[1]} ${perm[2]}`);
    }
    for (const m of text.matchAll(/kube\.custom\s*\.(\w+)\(/g)) {
      const verb = CUSTOM_VERBS[m[1]];
      assert.ok(verb, `${rel(file)}: kube.custom.${m[1]} unknown`);
      found.add(`${customResource(m[1], callArgs(text, m.index! + m[0].length - 1))} ${verb}`);
    }
  }
  for (const f of found) assert.ok(granted.has(f) || NOT_GRANTED[f], `the code calls ${f}, which no role grants`);
  for (const g of granted) assert.ok(found.has(g), `${g} is granted but the code the Tasks run never calls it`);
});

Rbac.run();

// =============================================================================================

const Docs = suite('tasks: READMEs');

const SECTIONS = ['## Install', '## Parameters', '## Workspaces', '## Results', '## Platforms', '## Authorizing', '## Usage'];

function readmeParams(text: string): Map<string, string | undefined> {
  const section = text.split('\n## Parameters')[1]?.split('\n## ')[0] ?? '';
  const out = new Map<string, string | undefined>();
  for (const m of section.matchAll(/^\* \*\*([a-z0-9-]+)\*\*: .*?(?:\(_default_: `([^`]*)`\))?$/gm)) out.set(m[1], m[2]);
  return out;
}
const shownDefault = (d: unknown) => (Array.isArray(d) ? JSON.stringify(d) : d === '' ? '""' : String(d));

Docs('each README has the catalog sections in order and documents every param with its default', () => {
  for (const d of [...taskDocs, ...pipelineDocs]) {
    const file = join(dirname(d.file), 'README.md');
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('# '), `${rel(file)}: a title`);
    let at = -1;
    for (const s of SECTIONS) {
      const i = text.indexOf(`\n${s}`);
      assert.ok(i > at, `${rel(file)}: section "${s}" after the previous one`);
      at = i;
    }
    const documented = readmeParams(text);
    const params = (d.doc.spec as TaskSpec).params ?? [];
    assert.equal([...documented.keys()].sort(), params.map((p) => p.name).sort(), `${rel(file)}: the documented params`);
    for (const p of params) {
      if (REQUIRED_PARAMS.has(p.name)) assert.is(documented.get(p.name), undefined, `${rel(file)}: ${p.name} has no default`);
      else assert.is(documented.get(p.name), shownDefault(p.default), `${rel(file)}: default of ${p.name}`);
    }
    const results = (d.doc.spec as TaskSpec).results ?? [];
    const resultsSection = text.split('\n## Results')[1]?.split('\n## ')[0] ?? '';
    for (const r of results) assert.match(resultsSection, new RegExp(`^\\* \\*\\*${r.name}\\*\\*: `, 'm'), `${rel(file)}: result ${r.name}`);
  }
});

Docs('tasks/README.md documents the four ways to reference the Tasks', () => {
  const text = readFileSync(join(TASKS_DIR, 'README.md'), 'utf8');
  for (const re of [/kubectl apply .*-f https:\/\/raw\.githubusercontent\.com\//, /resolver: git/, /resolver: http/, /name: digest/, /resolver: bundles/, /tkn bundle push/, /dev\.tekton\.image\.name/]) {
    assert.match(text, re, `tasks/README.md mentions ${re}`);
  }
});

Docs.run();

// =============================================================================================

const Image = suite('tasks: the runner image definitions agree');

const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const runnerConf = (v: string) => spawnSync('bash', ['-c', `source images/runner/image.conf; printf '%s\\n' "\${${v}[@]}"`], { cwd: REPO, encoding: 'utf8' }).stdout.trim();

Image('Dockerfile and images/runner: same entrypoint, the one the Task scripts call; user 65532', () => {
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  assert.equal(JSON.parse(entry ?? 'null'), ['node', CLI_PATH]);
  assert.equal(JSON.parse(runnerConf('IMAGE_ENTRYPOINT')), ['node', CLI_PATH]);
  assert.match(dockerfile, /^USER 65532:65532$/m);
  assert.is(runnerConf('IMAGE_USER'), '65532:65532');
  assert.ok(runnerConf('IMAGE_ENV').split('\n').includes('HOME=/tmp'), 'runner HOME=/tmp');
  assert.match(dockerfile, /HOME=\/tmp/);
});

Image('the Node.js version of the Dockerfile is the one hack/ensure-node.sh pins (and the runner uses)', () => {
  const pinned = /SWC_NODE_VERSION:-([0-9.]+)/.exec(readFileSync(join(REPO, 'hack/ensure-node.sh'), 'utf8'))?.[1];
  assert.ok(pinned);
  assert.match(dockerfile, new RegExp(`^ARG NODE_IMAGE=docker\\.io/library/node:${pinned!.replace(/\./g, '\\.')}-`, 'm'));
});

Image('the build context (.dockerignore) and the runner inputs are the sources the Dockerfile copies', () => {
  const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
  assert.equal([...new Set(copied)].sort(), ['package-lock.json', 'package.json', 'scripts', 'tsconfig.json']);
  const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  assert.is(ignore[0], '*', '.dockerignore starts by excluding everything');
  for (const c of copied) assert.ok(ignore.includes(`!${c}`) || ignore.includes(`!${c}/`), `.dockerignore lets ${c} in`);
  const inputs = readFileSync(join(REPO, 'images/runner/inputs'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  for (const c of copied) assert.ok(inputs.some((i) => i === c || i.startsWith(`${c}/`)), `images/runner/inputs hashes ${c}`);
});

Image.run();

process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
