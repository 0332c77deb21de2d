/**
 * `linkpack <command>`: one binary for every component; each registers its own subcommand. A
 * command line that names one command loads only that one (lazy-program.ts).
 */
import type { Command } from 'commander';
import { rootProgram } from './root.js';
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
  const program = rootProgram();
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
