/** `linkpack <command>`: one binary for every component; each registers its own subcommand. */
import { Command } from 'commander';
import { registerDevicePluginCommand } from '../deviceplugin/command.js';
import { registerExtenderCommand } from '../extender/command.js';
import { registerInspectCommand } from '../inspect/command.js';
import { registerMLTaskCommand } from '../mltask/command.js';
import { registerMLTaskCommand } from '../mltask/command.js';
import { registerSimulateCommand } from '../sim/command.js';

export function buildProgram(): Command {
  const program = new Command('linkpack')
    .description('NVLink-aware, fragmentation-aware GPU placement for Kubernetes')
    .showHelpAfterError();
  registerSimulateCommand(program);
  registerExtenderCommand(program);
  registerInspectCommand(program);
  registerMLTaskCommand(program);
  registerMLTaskCommand(program);
  registerDevicePluginCommand(program);
  return program;
}
