#!/usr/bin/env node
import { CommanderError, InvalidArgumentError } from 'commander';
import { buildProgram } from './program.js';
import { EXIT_USAGE, isUsageError, USAGE_HINT } from './usage.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError && !(e instanceof InvalidArgumentError)) {
    // From commander's own parsing: it has printed the message and the hint; --help/--version exit 0.
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    const command = process.argv[2] && !process.argv[2].startsWith('-') ? ` ${process.argv[2]}` : '';
    console.error(`linkpack${command}: ${(e as Error).message}`);
    if (isUsageError(e)) console.error(USAGE_HINT);
    process.exitCode = isUsageError(e) ? EXIT_USAGE : 1;
  }
}
