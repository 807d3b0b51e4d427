// PLACEHOLDER: being written.
import type { CommandModule } from 'yargs';
export const cachePvcCommand: CommandModule = {
  command: 'cache-pvc',
  describe: 'not implemented yet',
  handler: () => {
    throw new Error('cache-pvc: not implemented yet');
  },
};
