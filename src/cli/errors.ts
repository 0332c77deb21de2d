/**
 * One error style for every command: `linkpack <command>: <what is wrong>` on one line, exit 2
 * for a usage error and 1 for a failure of the work, never a stack trace. Input a user typed may
 * hold control bytes or be huge: it is escaped and truncated before it reaches a terminal.
 */
import { printable } from './printable.js';
import { EXIT_USAGE, isUsageError, USAGE_HINT } from './usage.js';

export { MAX_MESSAGE_CHARS, printable } from './printable.js';

/** A user's mistake (bad flag, missing file): one line and the hint, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

interface SystemError {
  code?: string;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
}

/** Node's system errors in words ("listen EADDRINUSE: address already in use ::1:8888" → a sentence). */
function systemErrorText(e: SystemError, message: string): string {
  switch (e.code) {
    case 'EADDRINUSE':
      return `port ${e.port ?? '?'}${e.address ? ` on ${e.address}` : ''} is already in use (another process listens there); choose another with --port`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${e.address ?? 'that address'}: not an address of this machine (check --host)`;
    case 'EACCES':
      return e.syscall === 'listen' ? `not allowed to listen on port ${e.port ?? '?'} (ports below 1024 need privileges)` : `${e.path ?? 'a file'}: permission denied`;
    case 'ENOENT':
      return e.path ? `${e.path}: no such file or directory` : message;
    case 'ENOTDIR':
      return e.path ? `${e.path}: a part of this path is not a directory` : message;
    case 'EISDIR':
      return e.path ? `${e.path}: is a directory, a file was expected` : message;
    default:
      return message;
  }
}

/** The one line an error becomes (no prefix). */
export function errorText(err: unknown): string {
  const e = (err ?? {}) as SystemError & { message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  // Only the first line: a multi-line message would look like a trace.
  return printable(systemErrorText(e, message).split('\n')[0]!.trim());
}

/** The exit status an error gives. */
export function exitCodeOf(err: unknown): number {
  return isUsageError(err) ? EXIT_USAGE : 1;
}

/** Which executable speaks: its name in the prefix and its usage hint (`linkpack`, `kubectl linkpack`). */
export interface CliTool {
  name: string;
  hint: string;
}

export const LINKPACK: CliTool = { name: 'linkpack', hint: USAGE_HINT };

/** Print `linkpack <command>: <error>` (and the hint for a usage error) and set the exit status. */
export function reportError(command: string | undefined, err: unknown, write: (line: string) => void = (l) => console.error(l), tool: CliTool = LINKPACK): number {
  write(`${tool.name}${command ? ` ${command}` : ''}: ${errorText(err)}`);
  if (isUsageError(err)) write(tool.hint);
  const code = exitCodeOf(err);
  process.exitCode = code;
  return code;
}
