/** `linkpack <command>`: one binary for every component; each registers its own subcommand. */
import { Command } from 'commander';
import { registerInspectCommand } from '../inspect/command.js';

export function buildProgram(): Command {
  const program = new Command('linkpack')
    .description('NVLink-aware, fragmentation-aware GPU placement for Kubernetes')
    .showHelpAfterError();
  registerInspectCommand(program);
  return program;
}
