#!/usr/bin/env node
/**
 * kubectl-linkpack: kubectl runs it for `kubectl linkpack …` (any kubectl-* on PATH is a plugin).
 * Same conventions as `linkpack` (src/cli/main.ts), with `kubectl linkpack <command>:` as prefix.
 */
import { printable, reportError } from './errors.js';
import { KUBECTL_LINKPACK } from './kubectl/program.js';

const args = process.argv.slice(2);
const commandName = args[0] && !args[0].startsWith('-') ? printable(args[0], 40) : undefined;

const fatal = (err: unknown) => {
  reportError(commandName, err, undefined, KUBECTL_LINKPACK);
  if (process.env.LINKPACK_DEBUG) console.error((err as Error | undefined)?.stack ?? err);
  process.exit(process.exitCode ?? 1);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
const [{ parseWithConventions }, { buildKubectlProgram }] = await Promise.all([import('./run.js'), import('./kubectl/program.js')]);
await parseWithConventions(buildKubectlProgram(), process.argv, commandName, KUBECTL_LINKPACK);
