// PLACEHOLDER: being written.
import type { CommandModule } from 'yargs';
export const reportCommand: CommandModule = {
  command: 'report',
  describe: 'not implemented yet',
  handler: () => {
    throw new Error('report: not implemented yet');
  },
};
