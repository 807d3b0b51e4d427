// PLACEHOLDER: being written.
import type { CommandModule } from 'yargs';
export const createBuildCommand: CommandModule = {
  command: 'create-build',
  describe: 'not implemented yet',
  handler: () => {
    throw new Error('create-build: not implemented yet');
  },
};
