/**
 * The nvidia-smi runner: one child process at a time (execFile, no shell), a hard timeout that
 * SIGKILLs, an output cap, and exit codes / error texts mapped to typed failures. A child stuck in
 * D state cannot be killed: the call still returns at the timeout, and later calls fail fast as
 * 'busy' until that child is gone, so calls never pile up (reference/node-side.md §2f).
 */
import { execFile, type ChildProcess } from 'node:child_process';

export type SmiFailureKind =
  | 'not-found' // the executable is missing or not executable
  | 'driver-not-loaded' // exit 9, "couldn't communicate with the NVIDIA driver"
  | 'driver-mismatch' // exit 18, "Driver/library version mismatch"
  | 'nvml-error' // "Failed to initialize NVML: ..." (container lost its devices, no GPU found)
  | 'gpu-lost' // exit 15, "GPU is lost", "fallen off the bus"
  | 'no-permission' // exit 4, insufficient permissions
  | 'no-devices' // "No devices were found"
  | 'unknown-field' // exit 2 with `Field "x" is not a valid field to query.`
  | 'invalid-argument' // exit 2 otherwise
  | 'not-supported' // exit 3
  | 'timeout' // killed at the timeout
  | 'busy' // the previous child has not exited yet (stuck after SIGKILL)
  | 'output-too-large' // more than maxBufferBytes on stdout or stderr
  | 'failed'; // any other non-zero exit or signal

/** A failed nvidia-smi call: what kind, one line saying why, and whatever it printed. */
export class SmiFailure extends Error {
  override name = 'SmiFailure';
  constructor(
    readonly kind: SmiFailureKind,
    message: string,
    readonly args: readonly string[],
    readonly stdout = '',
    readonly stderr = '',
    readonly exitCode?: number,
    /** For 'unknown-field': the field nvidia-smi rejected. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface SmiOutput {
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs nvidia-smi with the given arguments; rejects with SmiFailure only. */
export interface SmiRunner {
  run(args: readonly string[]): Promise<SmiOutput>;
}

export interface SmiRunnerOptions {
  /** Executable (default `nvidia-smi`, looked up on PATH). */
  path?: string;
  /** Arguments put before every call's own (e.g. the script of a fake run by node). */
  argsPrefix?: readonly string[];
  /** Hard limit per call, then SIGKILL (default 10 s). */
  timeoutMs?: number;
  /** Cap on stdout and on stderr (default 4 MiB); more is a failure, never a truncated parse. */
  maxBufferBytes?: number;
  env?: NodeJS.ProcessEnv;
  /** Called after every call, with its duration and failure kind (undefined = success), for metrics. */
  onCall?: (args: readonly string[], durationMs: number, failure: SmiFailureKind | undefined) => void;
}

export const DEFAULT_SMI_TIMEOUT_MS = 10_000;
export const DEFAULT_SMI_MAX_BUFFER = 4 * 1024 * 1024;

const UNKNOWN_FIELD = /Field "([^"]+)" is not a valid field to query/;
const firstLine = (s: string): string => s.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '') ?? '';

/** Map a finished call's exit code and texts to a failure; undefined when it is a success. */
export function classifyExit(args: readonly string[], exitCode: number | null, signal: string | null, stdout: string, stderr: string): SmiFailure | undefined {
  if (exitCode === 0) return undefined;
  const text = `${stderr}\n${stdout}`;
  const said = firstLine(stderr) || firstLine(stdout);
  const fail = (kind: SmiFailureKind, why: string, field?: string) =>
    new SmiFailure(kind, `nvidia-smi ${args.join(' ')}: ${why}`, args, stdout, stderr, exitCode ?? undefined, field);
  if (exitCode === null) return fail('failed', `killed by ${signal ?? 'a signal'}${said ? `: ${said}` : ''}`);
  const field = UNKNOWN_FIELD.exec(text)?.[1];
  if (field !== undefined) return fail('unknown-field', `the driver does not know the field "${field}" (exit ${exitCode})`, field);
  if (exitCode === 9 || /couldn't communicate with the NVIDIA driver/i.test(text)) return fail('driver-not-loaded', `NVIDIA driver not loaded (exit ${exitCode}): ${said}`);
  if (exitCode === 18 || /Driver\/library version mismatch/i.test(text)) return fail('driver-mismatch', `driver/library version mismatch (exit ${exitCode}): ${said}`);
  if (exitCode === 15 || /GPU is lost|fallen off the bus/i.test(text)) return fail('gpu-lost', `GPU lost or fallen off the bus (exit ${exitCode}): ${said}`);
  if (exitCode === 4 || /Insufficient Permissions|permission denied/i.test(text)) return fail('no-permission', `no permission to query the GPUs (exit ${exitCode}): ${said}`);
  if (/No devices were found/i.test(text)) return fail('no-devices', `no GPUs found (exit ${exitCode}): ${said}`);
  if (/Failed to initialize NVML/i.test(text)) return fail('nvml-error', `NVML failed (exit ${exitCode}): ${said}`);
  if (exitCode === 2) return fail('invalid-argument', `invalid argument (exit 2): ${said}`);
  if (exitCode === 3) return fail('not-supported', `not supported on this GPU (exit 3): ${said}`);
  return fail('failed', `exit ${exitCode}${said ? `: ${said}` : ''}`);
}

export function nvidiaSmiRunner(opts: SmiRunnerOptions = {}): SmiRunner {
  const file = opts.path ?? 'nvidia-smi';
  const prefix = opts.argsPrefix ?? [];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SMI_TIMEOUT_MS;
  const maxBuffer = opts.maxBufferBytes ?? DEFAULT_SMI_MAX_BUFFER;
  let running: { child: ChildProcess; since: number } | undefined;

  return {
    run(args) {
      const started = performance.now();
      const done = (failure: SmiFailureKind | undefined) => opts.onCall?.(args, performance.now() - started, failure);
      if (running) {
        const f = new SmiFailure(
          'busy',
          `nvidia-smi ${args.join(' ')}: the previous nvidia-smi (pid ${running.child.pid}) has not exited ${Math.round((Date.now() - running.since) / 1000)} s after it was started (stuck in the driver?); not starting another`,
          args,
        );
        done(f.kind);
        return Promise.reject(f);
      }
      return new Promise<SmiOutput>((resolve, reject) => {
        let settled = false;
        const settle = (err: SmiFailure | undefined, out?: SmiOutput) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          done(err?.kind);
          if (err) reject(err);
          else resolve(out!);
        };
        let child: ChildProcess;
        try {
          child = execFile(file, [...prefix, ...args], { encoding: 'utf8', maxBuffer, killSignal: 'SIGKILL', windowsHide: true, env: opts.env ?? process.env }, (err, stdout, stderr) => {
            const e = err as (NodeJS.ErrnoException & { code?: string | number; signal?: string | null }) | null;
            if (e && (e.code === 'ENOENT' || e.code === 'EACCES')) {
              settle(new SmiFailure('not-found', `nvidia-smi "${file}" cannot be run: ${e.code === 'ENOENT' ? 'no such file (is the NVIDIA driver installed and the path mounted?)' : 'permission denied (not executable)'}`, args));
              return;
            }
            if (e && e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
              settle(new SmiFailure('output-too-large', `nvidia-smi ${args.join(' ')}: printed more than ${maxBuffer} bytes; killed`, args));
              return;
            }
            const exitCode = e ? (typeof e.code === 'number' ? e.code : null) : 0;
            const failure = classifyExit(args, exitCode, e?.signal ?? null, stdout, stderr);
            settle(failure, { stdout, stderr, durationMs: performance.now() - started });
          });
        } catch (e) {
          settle(new SmiFailure('not-found', `nvidia-smi "${file}" cannot be run: ${(e as Error).message}`, args));
          return;
        }
        const current = { child, since: Date.now() };
        running = current;
        // 'exit' (not 'close'): a grandchild holding the pipes must not keep us busy forever.
        child.once('exit', () => {
          if (running === current) running = undefined;
        });
        child.once('error', () => {
          if (running === current) running = undefined;
        });
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          child.stdout?.destroy();
          child.stderr?.destroy();
          settle(new SmiFailure('timeout', `nvidia-smi ${args.join(' ')}: no answer within ${timeoutMs / 1000} s; killed (SIGKILL)`, args));
        }, timeoutMs);
      });
    },
  };
}

/** A --query-gpu field and, for older drivers, the names to try instead (clocks_event_reasons → clocks_throttle_reasons). */
export interface QueryField {
  name: string;
  alternatives?: readonly string[];
}

export interface QueryResult {
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Field names in the order they were asked for in the call that succeeded. */
  asked: string[];
  /** Requested name → the name actually asked (differs when an alternative was used). */
  used: Map<string, string>;
  /** Fields the driver does not know (dropped), with the reason. */
  dropped: { field: string; reason: string }[];
}

/**
 * `nvidia-smi <query>=<fields> --format=csv,noheader,nounits`. A field the driver does not know
 * is swapped for its alternative or dropped and the query retried with the rest, so an older
 * driver costs a field, never the node. `dropped` tells the caller what to stop asking for.
 */
export async function queryFields(runner: SmiRunner, query: '--query-gpu' | '--query-remapped-rows', fields: readonly QueryField[]): Promise<QueryResult> {
  const pending = fields.map((f) => ({ requested: f.name, candidates: [f.name, ...(f.alternatives ?? [])] }));
  const dropped: QueryResult['dropped'] = [];
  for (;;) {
    if (pending.length === 0) {
      throw new SmiFailure('unknown-field', `nvidia-smi ${query}: the driver knows none of the fields (${dropped.map((d) => d.field).join(', ')})`, [query]);
    }
    const asked = pending.map((p) => p.candidates[0]);
    try {
      const out = await runner.run([`${query}=${asked.join(',')}`, '--format=csv,noheader,nounits']);
      return { ...out, asked, used: new Map(pending.map((p) => [p.requested, p.candidates[0]])), dropped };
    } catch (e) {
      if (!(e instanceof SmiFailure) || e.kind !== 'unknown-field' || e.field === undefined) throw e;
      const at = pending.findIndex((p) => p.candidates[0] === e.field);
      if (at < 0) throw e; // it named a field we did not ask for: retrying would loop
      const p = pending[at];
      p.candidates.shift();
      if (p.candidates.length === 0) {
        pending.splice(at, 1);
        dropped.push({ field: p.requested, reason: `the driver does not know "${e.field}"` });
      }
    }
  }
}
