// Options naming a strategy, shared by patch-strategy, unpatch-strategy and create-build.
import type { Argv } from 'yargs';
import { usageError } from './errors.js';
import { STRATEGY_KINDS, type StrategyKind } from './strategy-types.js';
import { validateLabelName, validateName } from './validate.js';
import type { StrategyRef } from './strategies.js';

export interface StrategyArgs {
  strategy: string;
  kind: string;
  'source-namespace'?: string;
  mode: 'copy' | 'in-place';
  name?: string;
}

export const withStrategy = <T>(y: Argv<T>) =>
  y
    .option('strategy', { alias: 's', type: 'string', demandOption: true, describe: 'Name of the source build strategy' })
    .option('kind', { type: 'string', default: 'ClusterBuildStrategy', describe: 'Kind of the source strategy: ClusterBuildStrategy or BuildStrategy' })
    .option('source-namespace', { type: 'string', describe: 'Namespace of a source BuildStrategy (default: --namespace)' })
    .option('mode', { choices: ['copy', 'in-place'] as const, default: 'copy' as const, describe: 'How the strategy was (or is to be) made cache-ready: copy, a namespaced BuildStrategy <strategy>-cached; in-place, the strategy itself patched' })
    .option('name', { type: 'string', describe: 'Name of the derived copy (default: <strategy>-cached)' });

export function validateKind(value: unknown): StrategyKind {
  const v = String(value ?? '');
  if (!(STRATEGY_KINDS as readonly string[]).includes(v)) throw usageError(`--kind '${v}' is not a strategy kind`, `use ${STRATEGY_KINDS.join(' or ')}`);
  return v as StrategyKind;
}

/** The source strategy and the strategy that Builds should reference after the patch. */
export function resolveStrategyRefs(argv: StrategyArgs, namespace: string): { source: StrategyRef; target: StrategyRef } {
  const kind = validateKind(argv.kind);
  const name = validateName('--strategy', argv.strategy);
  const source: StrategyRef = kind === 'ClusterBuildStrategy' ? { kind, name } : { kind, name, namespace: validateLabelName('--source-namespace', argv['source-namespace'] ?? namespace) };
  if (argv.mode === 'in-place') {
    if (argv.name !== undefined) throw usageError('--name applies to --mode copy only', 'drop --name, or use --mode copy');
    return { source, target: source };
  }
  const copyName = validateName('--name', argv.name ?? `${name}-cached`);
  if (kind === 'BuildStrategy' && copyName === name && source.namespace === namespace) {
    throw usageError(`the copy would replace its own source BuildStrategy ${namespace}/${name}`, 'pass another --name, or use --mode in-place');
  }
  return { source, target: { kind: 'BuildStrategy', name: copyName, namespace } };
}
