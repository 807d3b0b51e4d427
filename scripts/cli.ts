#!/usr/bin/env node
// The shipwright-cache command. It checks the Node.js version before loading
// anything else: @kubernetes/client-node 2.x (undici 8) crashes on import under
// older Node, which would otherwise be the first thing a user sees.
import { hideBin } from 'yargs/helpers';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `error: shipwright-cache needs Node.js >= 22.19; this is ${process.versions.node}\n` +
      '  fix: use the runner image, or Node 22 LTS (in a clone: source hack/ensure-node.sh)\n',
  );
  process.exit(2);
}
const { run } = await import('./program.js');
await run(hideBin(process.argv));
