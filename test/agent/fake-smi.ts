/**
 * Fake nvidia-smi executables for the agent tests: small sh scripts generated into a tmp dir that
 * answer each call (matched by a shell glob over the joined arguments) with a recorded output,
 * an error text and exit code, or a hang. Every call is appended to `<dir>/calls.log`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface FakeAnswer {
  /** Shell glob over "$*", e.g. 'topo -m', '--query-gpu=*', '*clocks_event_reasons*'. First match wins. */
  when: string;
  stdout?: string;
  /** Path of a file whose content is printed on stdout (a recorded output). */
  stdoutFile?: string;
  stderr?: string;
  exit?: number;
  /** Never answer (exec sleep), to be killed at the timeout. */
  hang?: boolean;
}

export interface FakeSmi {
  dir: string;
  /** Path of the executable. */
  path: string;
  /** Argument lines of the calls so far. */
  calls(): string[];
  remove(): void;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function makeFakeSmi(answers: FakeAnswer[], fallback: Omit<FakeAnswer, 'when'> = { stderr: 'fake nvidia-smi: no answer for these arguments', exit: 255 }): FakeSmi {
  const dir = mkdtempSync(path.join(tmpdir(), 'linkpack-fake-smi-'));
  const lines = ['#!/bin/sh', `echo "$*" >> ${quote(path.join(dir, 'calls.log'))}`, 'case "$*" in'];
  const body = (a: Omit<FakeAnswer, 'when'>, k: string): string[] => {
    const out: string[] = [];
    if (a.hang) out.push('  exec sleep 1000');
    const stdoutFile = a.stdoutFile ?? (a.stdout !== undefined ? path.join(dir, `out-${k}.txt`) : undefined);
    if (a.stdout !== undefined) writeFileSync(stdoutFile!, a.stdout);
    if (stdoutFile) out.push(`  cat ${quote(stdoutFile)}`);
    if (a.stderr !== undefined) {
      writeFileSync(path.join(dir, `err-${k}.txt`), a.stderr);
      out.push(`  cat ${quote(path.join(dir, `err-${k}.txt`))} >&2`);
    }
    out.push(`  exit ${a.exit ?? 0}`);
    return out;
  };
  answers.forEach((a, k) => {
    // The glob stays unquoted so that * matches; spaces and = are escaped.
    const glob = a.when.replace(/([ ="'()|;&<>$])/g, '\\$1');
    lines.push(`${glob})`, ...body(a, String(k)), '  ;;');
  });
  lines.push('*)', ...body(fallback, 'fallback'), '  ;;', 'esac', '');
  const file = path.join(dir, 'nvidia-smi');
  writeFileSync(file, lines.join('\n'), { mode: 0o755 });
  return {
    dir,
    path: file,
    calls: () => {
      const log = path.join(dir, 'calls.log');
      return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : [];
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The driver-not-loaded text nvidia-smi prints with exit 9 (greshake/i3status-rust#826). */
export const DRIVER_NOT_LOADED =
  "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n";
