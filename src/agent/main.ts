#!/usr/bin/env node
/**
 * `node dist/src/agent/main.js agent …`: the agent command alone, without the rest of the CLI
 * (whose extender and simulator imports would triple the agent's memory). The DaemonSet runs this.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { EXIT_USAGE, isUsageError, USAGE_HINT } from '../cli/usage.js';
import { registerAgentCommand } from './command.js';

const program = new Command('linkpack').showHelpAfterError();
registerAgentCommand(program);
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError && !(e instanceof InvalidArgumentError)) {
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    console.error(`linkpack agent: ${(e as Error).message}`);
    if (isUsageError(e)) console.error(USAGE_HINT);
    process.exitCode = isUsageError(e) ? EXIT_USAGE : 1;
  }
}
