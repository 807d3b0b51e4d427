// Every command of the CLI, one module each.
import { cachePvcCommand } from './cache-pvc.js';
import { patchStrategyCommand } from './patch-strategy.js';
import { unpatchStrategyCommand } from './unpatch-strategy.js';
import { createBuildCommand } from './create-build.js';
import { runCommand } from './run.js';
import { gateCommand } from './gate.js';
import { reportCommand } from './report.js';
import { demoCommand } from './demo.js';

export const commands = [
  cachePvcCommand,
  patchStrategyCommand,
  unpatchStrategyCommand,
  createBuildCommand,
  runCommand,
  gateCommand,
  reportCommand,
  demoCommand,
];
