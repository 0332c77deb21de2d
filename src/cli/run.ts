/**
 * Parse and run one `linkpack` command line with the CLI conventions: commander's own messages
 * get the same `linkpack <command>:` prefix as ours, `--log-level` is checked before any command
 * builds a logger, and every error ends as one line with exit 2 (usage) or 1 (failure).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { checkLogLevel } from './checks.js';
import { LINKPACK, printable, reportError, UsageError, type CliTool } from './errors.js';
import { programFor } from './lazy-program.js';
import { EXIT_USAGE } from './usage.js';

/** Every command of the tree, the root first. */
function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

export async function runCli(argv: readonly string[], commandName: string | undefined): Promise<void> {
  const word = argv[2];
  const program = await programFor(word !== undefined && !word.startsWith('-') ? word : undefined);
  await parseWithConventions(program, argv, commandName, LINKPACK);
}

/** Runs `program` on `argv` with the conventions above, for `linkpack` and `kubectl linkpack` alike. */
export async function parseWithConventions(program: Command, argv: readonly string[], commandName: string | undefined, tool: CliTool): Promise<void> {
  for (const c of allCommands(program)) {
    // commander writes "error: …"; ours is "<tool> <command>: …", escaped like every message.
    c.configureOutput({
      outputError: (text, write) => write(printable(text.replace(/^error: /, `${tool.name}${commandName ? ` ${commandName}` : ''}: `).trimEnd(), 2000) + '\n'),
    });
  }
  program.hook('preAction', (_root, action) => {
    const level = action.opts().logLevel as unknown;
    if (typeof level === 'string') checkLogLevel(level);
  });
  try {
    // `help <unknown>` would print the whole help and exit 2; say what is wrong instead.
    const [word, topic] = argv.slice(2);
    if (word === 'help' && topic !== undefined && !program.commands.some((c) => c.name() === topic)) {
      throw new UsageError(`no command "${topic}" (commands: ${program.commands.map((c) => c.name()).join(', ')})`);
    }
    await program.parseAsync([...argv]);
  } catch (e) {
    if (e instanceof CommanderError && !(e instanceof InvalidArgumentError)) {
      // From commander's own parsing: it has printed the message and the hint; --help/--version exit 0.
      process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
    } else reportError(commandName, e, undefined, tool);
  }
}
