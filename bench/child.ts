/**
 * Plumbing shared by the benches that run the server in a child process (fuzz, soak, worst-case):
 * start this same script with `--serve …`, wait for its `LISTENING <url>` line; read its memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** `--name value` from the command line. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Runs `script --serve …serveArgs` (with BENCH_SERVER_NODE_OPTIONS, e.g. --cpu-prof) and waits until it listens. */
export async function startServerChild(script: string, serveArgs: readonly string[], extraNodeOptions: readonly string[] = []): Promise<{ child: ChildProcess; url: URL }> {
  const nodeOptions = [...extraNodeOptions, ...(process.env.BENCH_SERVER_NODE_OPTIONS ?? '').split(' ').filter(Boolean)];
  const child = spawn(process.execPath, [...nodeOptions, script, '--serve', ...serveArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /LISTENING (\S+)/.exec(buf);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before listening`)));
  });
  return { child, url: new URL(address) };
}

/** A field of /proc/<pid>/status in MiB (VmRSS now, VmHWM peak). */
export function procMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}
