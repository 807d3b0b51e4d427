// patch-strategy: make a build strategy cache-ready (copy or in place).
import type { Argv, CommandModule } from 'yargs';
import { connect, requireShipwright } from '../lib/kube.js';
import { emit, setQuiet } from '../lib/log.js';
import { withDryRun, withNamespace, type GlobalArgs, type NamespaceArgs } from '../lib/common-options.js';
import { resolveStrategyRefs, withStrategy, type StrategyArgs } from '../lib/strategy-options.js';
import { patchAsCopy, patchInPlace, refLabel, type PatchOutcome } from '../lib/strategies.js';
import { validateLabelName } from '../lib/validate.js';

export interface PatchStrategyArgs extends GlobalArgs, NamespaceArgs, StrategyArgs {
  'storage-driver'?: string;
  profile?: string;
  'dry-run': boolean;
  force: boolean;
}

export const patchStrategyCommand: CommandModule<GlobalArgs, PatchStrategyArgs> = {
  command: 'patch-strategy',
  describe: 'Make a build strategy cache-ready: an overridable cache volume where the tool keeps layers or dependencies',
  builder: (y: Argv<GlobalArgs>) =>
    withDryRun(withStrategy(withNamespace(y)))
      .option('storage-driver', { type: 'string', describe: "Default storage driver of the strategy's tool (buildah: overlay or vfs)" })
      .option('profile', { type: 'string', describe: 'Use this cache profile instead of detecting it from the steps' })
      .option('force', { type: 'boolean', default: false, describe: 'copy mode: re-derive a copy that was edited since it was written' }) as unknown as Argv<PatchStrategyArgs>,
  handler: async (argv) => {
    setQuiet(argv.quiet);
    const kube = connect();
    const namespace = validateLabelName('--namespace', argv.namespace ?? kube.defaultNamespace);
    const { source, target } = resolveStrategyRefs(argv, namespace);
    await requireShipwright(kube);
    const opts = { storageDriver: argv['storage-driver'], profileId: argv.profile, dryRun: argv['dry-run'], force: argv.force };
    const result = argv.mode === 'in-place' ? await patchInPlace(kube, source, opts) : await patchAsCopy(kube, source, target, opts);
    emit(argv.output, result, renderOutcome(result, argv['dry-run']));
  },
};

/** Human text of a patch/unpatch outcome. */
export function renderOutcome(r: PatchOutcome, dryRun: boolean): string {
  const lines = [r.message];
  if (r.why) lines.push(`  ${r.why}`);
  if (r.cacheVolumes.length) lines.push(`  cache volume(s) a Build must point at the PVC: ${r.cacheVolumes.join(', ')}; reference ${refLabel(r.target)}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  if (dryRun && r.diff) lines.push('', r.diff);
  return lines.join('\n');
}
