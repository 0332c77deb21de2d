#!/usr/bin/env node
import { packageVersion } from './usage.js';
import { printable, reportError } from './errors.js';

const args = process.argv.slice(2);
const commandName = args[0] && !args[0].startsWith('-') ? printable(args[0], 40) : undefined;

// `--version` without loading any command (their modules pull in fastify, the Kubernetes client…).
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  console.log(packageVersion());
} else {
  // Whatever escapes a command later (a timer, a socket) is still one line, not a stack trace.
  const fatal = (err: unknown) => {
    reportError(commandName, err);
    // The trace is for whoever debugs linkpack itself, on request.
    if (process.env.LINKPACK_DEBUG) console.error((err as Error | undefined)?.stack ?? err);
    process.exit(process.exitCode ?? 1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  const { runCli } = await import('./run.js');
  await runCli(process.argv, commandName);
}
