#!/usr/bin/env node
/**
 * `node dist/src/deviceplugin/main.js device-plugin …`: the device plugin command alone, without
 * the rest of the CLI (the extender and simulator imports would multiply its memory). The
 * DaemonSet's device-plugin container runs this.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { EXIT_USAGE, USAGE_HINT } from '../cli/usage.js';
import { registerDevicePluginCommand } from './command.js';

const program = new Command('linkpack').showHelpAfterError(USAGE_HINT).exitOverride();
registerDevicePluginCommand(program);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError && !(e instanceof InvalidArgumentError)) process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
  else {
    console.error(`linkpack device-plugin: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
