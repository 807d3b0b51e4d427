// unpatch-strategy: undo patch-strategy (restore in place, or delete the copy).
import type { Argv, CommandModule } from 'yargs';
import { connect, requireShipwright } from '../lib/kube.js';
import { emit, setQuiet } from '../lib/log.js';
import { withDryRun, withNamespace, type GlobalArgs, type NamespaceArgs } from '../lib/common-options.js';
import { resolveStrategyRefs, withStrategy, type StrategyArgs } from '../lib/strategy-options.js';
import { deleteCopy, unpatchInPlace } from '../lib/strategies.js';
import { validateLabelName } from '../lib/validate.js';
import { renderOutcome } from './patch-strategy.js';

export interface UnpatchStrategyArgs extends GlobalArgs, NamespaceArgs, StrategyArgs {
  'dry-run': boolean;
  force: boolean;
}

export const unpatchStrategyCommand: CommandModule<GlobalArgs, UnpatchStrategyArgs> = {
  command: 'unpatch-strategy',
  describe: 'Undo patch-strategy: restore the strategy exactly (in-place) or delete the derived copy',
  builder: (y: Argv<GlobalArgs>) =>
    withDryRun(withStrategy(withNamespace(y))).option('force', {
      type: 'boolean',
      default: false,
      describe: 'in-place: only drop the patch record, leave the spec; copy: delete a copy that was edited since',
    }) as unknown as Argv<UnpatchStrategyArgs>,
  handler: async (argv) => {
    setQuiet(argv.quiet);
    const kube = connect();
    const namespace = validateLabelName('--namespace', argv.namespace ?? kube.defaultNamespace);
    const { source, target } = resolveStrategyRefs(argv, namespace);
    await requireShipwright(kube);
    const opts = { dryRun: argv['dry-run'], force: argv.force };
    const result = argv.mode === 'in-place' ? await unpatchInPlace(kube, source, opts) : await deleteCopy(kube, target, opts);
    emit(argv.output, result, renderOutcome(result, argv['dry-run']));
  },
};
