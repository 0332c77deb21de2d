/**
 * The program for one command line, loading only the module of the command it names: the Kubernetes
 * client alone takes 0.7 s to import, and `inspect` or `explain` never use it. A name not listed
 * here (help, a typo, a command added to program.ts only) gets the full program, so nothing is lost
 * but time.
 */
import type { Command } from 'commander';
import { rootProgram } from './root.js';

type Register = (program: Command) => unknown;

const COMMANDS: Record<string, () => Promise<Register>> = {
  simulate: async () => (await import('../sim/command.js')).registerSimulateCommand,
  extender: async () => (await import('../extender/command.js')).registerExtenderCommand,
  inspect: async () => (await import('../inspect/command.js')).registerInspectCommand,
  explain: async () => (await import('./explain.js')).registerExplainCommand,
  mltask: async () => (await import('../mltask/command.js')).registerMLTaskCommand,
  controller: async () => (await import('../mltask/controller-command.js')).registerControllerCommand,
  'device-plugin': async () => (await import('../deviceplugin/command.js')).registerDevicePluginCommand,
  agent: async () => (await import('../agent/command.js')).registerAgentCommand,
  playground: async () => (await import('../playground/command.js')).registerPlaygroundCommand,
};

export async function programFor(commandName: string | undefined): Promise<Command> {
  const load = commandName !== undefined && Object.hasOwn(COMMANDS, commandName) ? COMMANDS[commandName] : undefined;
  if (!load) return (await import('./program.js')).buildProgram();
  const program = rootProgram();
  (await load())(program);
  return program;
}
