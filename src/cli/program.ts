/** `linkpack <command>`: one binary for every component; each registers its own subcommand. */
import { Command } from 'commander';
import { packageVersion, USAGE_HINT } from './usage.js';
import { registerAgentCommand } from '../agent/command.js';
import { registerDevicePluginCommand } from '../deviceplugin/command.js';
import { registerExtenderCommand } from '../extender/command.js';
import { registerExplainCommand } from './explain.js';
import { registerInspectCommand } from '../inspect/command.js';
import { registerMLTaskCommand } from '../mltask/command.js';
import { registerControllerCommand } from '../mltask/controller-command.js';
import { registerSimulateCommand } from '../sim/command.js';
import { registerPlaygroundCommand } from '../playground/command.js';

export function buildProgram(): Command {
  const program = new Command('linkpack')
    .description('NVLink-aware, fragmentation-aware GPU placement for Kubernetes')
    .version(packageVersion(), '-V, --version', 'print the linkpack version')
    // One line of error and a hint, not 30 lines of help (inherited by every subcommand).
    .showHelpAfterError(USAGE_HINT)
    // Commander's own errors become exceptions, so main.ts gives every usage error one exit status.
    .exitOverride();
  registerSimulateCommand(program);
  registerExtenderCommand(program);
  registerInspectCommand(program);
  registerExplainCommand(program);
  registerMLTaskCommand(program);
  registerControllerCommand(program);
  registerDevicePluginCommand(program);
  registerAgentCommand(program);
  registerPlaygroundCommand(program);
  return program;
}
