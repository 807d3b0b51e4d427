// Loads the upstream Shipwright sample strategies (unmodified copies of v0.20.13).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { YAML } from 'zx';
import type { StrategyObject } from '../../scripts/lib/strategy-types.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const UPSTREAM = join(REPO_ROOT, 'tests', 'fixtures', 'upstream');
export const SHIPWRIGHT = join(UPSTREAM, 'shipwright', 'v0.20.13');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.yaml') ? [p] : [];
  });
}

export interface StrategyFixture {
  file: string;
  object: StrategyObject;
}

/** Every BuildStrategy / ClusterBuildStrategy object in the upstream samples. */
export function upstreamStrategies(): StrategyFixture[] {
  return walk(join(SHIPWRIGHT, 'samples', 'buildstrategy'))
    .sort()
    .flatMap((file) =>
      YAML.parseAllDocuments(readFileSync(file, 'utf8'))
        .map((d) => d.toJS() as StrategyObject)
        .filter((o) => o && (o.kind === 'BuildStrategy' || o.kind === 'ClusterBuildStrategy'))
        .map((object) => ({ file: file.slice(SHIPWRIGHT.length + 1), object })),
    );
}

export function upstreamStrategy(name: string, kind = 'ClusterBuildStrategy'): StrategyObject {
  const f = upstreamStrategies().find((s) => s.object.metadata.name === name && s.object.kind === kind);
  if (!f) throw new Error(`no upstream ${kind} ${name}`);
  return structuredClone(f.object);
}

/** The offline copy of a sample strategy (e2e/install/strategies/NAME.yaml): its ClusterBuildStrategy. */
export function offlineStrategy(name: string): StrategyObject {
  const file = join(REPO_ROOT, 'e2e', 'install', 'strategies', `${name}.yaml`);
  const s = YAML.parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as StrategyObject)
    .find((o) => o?.kind === 'ClusterBuildStrategy');
  if (!s) throw new Error(`no ClusterBuildStrategy in ${file}`);
  return s;
}
