// PLACEHOLDER: being written.
import type { CommandModule } from 'yargs';
export const unpatchStrategyCommand: CommandModule = {
  command: 'unpatch-strategy',
  describe: 'not implemented yet',
  handler: () => {
    throw new Error('unpatch-strategy: not implemented yet');
  },
};
