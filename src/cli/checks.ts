/**
 * Flag checks made before a command starts its work, so that a bad path or level fails at once in
 * one line instead of after a long run or as a library's internal message.
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';

/** pino's levels, the values every `--log-level` accepts. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function checkLogLevel(level: string, flag = '--log-level'): void {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`${flag} "${level}": expected one of ${LOG_LEVELS.join(', ')}`);
}

function reasonOf(err: unknown): string {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : (code ?? String(err));
}

/** An existing directory (`what` says what it is for). */
export function checkDirectory(path: string, flag: string, what: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${reasonOf(err)} (expected ${what})`);
  }
  if (!isDir) throw new UsageError(`${flag} ${path}: not a directory (expected ${what})`);
}

/** A readable regular file. */
export function checkReadableFile(path: string, flag: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${reasonOf(err)}`);
  }
  if (!isFile) throw new UsageError(`${flag} ${path}: not a file`);
}

/**
 * `mkdir -p` one level at a time: Node 20's recursive mkdirSync loops forever where the kernel
 * answers ENOENT for an existing parent (`/proc/nope`).
 */
function makeDirs(path: string): void {
  const missing: string[] = [];
  for (let p = resolve(path); !existsSync(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) mkdirSync(p);
}

/**
 * A directory the command can write into: made if missing, then probed with a real write (root
 * passes access() checks on read-only places such as /proc).
 */
export function checkWritableDir(path: string, flag: string): void {
  try {
    makeDirs(path);
    const probe = join(path, `.linkpack-write-check-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'not a directory' : code === 'ENOENT' ? 'it cannot be created' : reasonOf(err);
    throw new UsageError(`${flag} ${path}: cannot write there (${why})`);
  }
}
