// PLACEHOLDER: being written.
import type { CommandModule } from 'yargs';
export const patchStrategyCommand: CommandModule = {
  command: 'patch-strategy',
  describe: 'not implemented yet',
  handler: () => {
    throw new Error('patch-strategy: not implemented yet');
  },
};
