// PLACEHOLDER: being written.
import type { CommandModule } from 'yargs';
export const runCommand: CommandModule = {
  command: 'run',
  describe: 'not implemented yet',
  handler: () => {
    throw new Error('run: not implemented yet');
  },
};
