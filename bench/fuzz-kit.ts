/**
 * The in-process fuzz harness behind `npm run fuzz -- --target smi|deviceplugin|mltask|gpunode`
 * and the small fuzz suites in `npm test`: a target is a fast-check arbitrary of inputs and a
 * `run` that feeds one input to the code under test. `run` catches the module's own documented
 * error for bad input (a ParseError, `{ok:false}`, a one-line Error naming what is wrong) and lets
 * anything else escape: every escape is a crash. An input that takes more than `hangMs` (1 s) is
 * timed again at once: over 1 s both times, it is a hang; once only, it is counted apart
 * (`slowOnce`: load from other processes on a shared machine, a GC). Heap is measured after a
 * full GC before the first input (after a 20-input warm-up), at 30% and after the last.
 *
 * Also here: `mutateText`, the arbitrary of edits made to a recorded output (byte flips, lines
 * dropped, repeated or swapped, fields truncated, numbers made huge, unicode, N/A values).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';

/** A thrown value that the harness counts as a crash even though no exception escaped (e.g. a masked TypeError). */
export class FuzzCrash extends Error {
  override name = 'FuzzCrash';
}

export interface FuzzTarget<I> {
  name: string;
  gen: fc.Arbitrary<I>;
  /** Feeds one input; throws (anything) only for a crash. */
  run(input: I): void;
  /** The input as text for the report (JSON or the mutated output). */
  show(input: I): string;
}

/** What every fuzz target reports, the extender's HTTP run included. */
export interface FuzzCounts {
  target: string;
  inputs: number;
  crashes: number;
  hangs: number;
  /** Heap after a full GC: before the first input, at 30% of the inputs (bounded caches of the code under test filled), at the end. */
  heapStartMiB: number;
  heapWarmMiB: number;
  heapEndMiB: number;
  heapBounded: boolean;
  seconds: number;
  crashInputs: { index: number; error: string; input: string }[];
}

export interface FuzzReport extends FuzzCounts {
  /** The stated bound: heapEndMiB ≤ heapStartMiB + heapBoundMiB, or ≤ heapWarmMiB + heapBoundMiB (no growth over the last 70%). */
  heapBoundMiB: number;
  /** Slowest input (ms; for an input timed twice, the faster time). */
  slowestMs: number;
  /** Inputs over hangMs once but not when timed again at once (load from other processes, GC): not hangs. */
  slowOnce: number;
  slowOnceInputs: { index: number; ms: number; againMs: number }[];
  /** First crash and hang inputs: the input's number (`--only <index>` with the same --seed and --inputs runs it alone), the error, the input (JSON-escaped, truncated). */
  hangInputs: { index: number; ms: number; input: string }[];
}

/** Engine-made error texts: when one of these appears in a "clean" rejection, a JS error was caught and passed off as a message. */
const ENGINE_ERROR = /Cannot read propert|Cannot set propert|Cannot convert|is not a function|is not iterable|is not a constructor|Maximum call stack|Invalid array length|Invalid string length|Invalid time value|undefined is not|null is not|Cannot destructure|Reduce of empty array|toFixed\(\) digits|out of memory/i;

/** Throws FuzzCrash when a module's error message is really an engine error (a TypeError caught and reported as a rejection), or is not one line. */
export function checkMessage(where: string, message: string): void {
  if (ENGINE_ERROR.test(message)) throw new FuzzCrash(`${where}: a JavaScript error passed off as a rejection: ${message}`);
  if (message.trim() === '') throw new FuzzCrash(`${where}: empty error message`);
}

/** Runs fn; an Error of one of the accepted classes whose message is not an engine error is the module's own answer. */
export function tolerate(fn: () => void, ...accepted: (abstract new (...a: never[]) => Error)[]): void {
  try {
    fn();
  } catch (e) {
    if (accepted.some((c) => e instanceof c)) {
      checkMessage(String((e as Error).name), (e as Error).message);
      return;
    }
    throw e;
  }
}

/** global.gc, exposed on demand when node was not started with --expose-gc. */
function gcFn(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const heapMiB = (gc: () => void): number => {
  gc();
  gc();
  return Math.round((process.memoryUsage().heapUsed / 1024 / 1024) * 10) / 10;
};

/** JSON-escaped and cut to `max` characters. */
export const clip = (s: string, max = 600): string => {
  const j = JSON.stringify(s);
  return j.length > max ? `${j.slice(0, max)}…(${j.length} chars)` : j;
};

/** Inputs generated at a time: input k is `batchOf(gen, k, …)[k % FUZZ_BATCH]`. */
export const FUZZ_BATCH = 1000;

/** The batch of generated inputs that holds input `k` of a run (so a watchdog can name an input that never returned). */
export function batchOf<I>(gen: fc.Arbitrary<I>, k: number, total: number, seed: number): I[] {
  const start = k - (k % FUZZ_BATCH);
  return fc.sample(gen, { numRuns: Math.min(FUZZ_BATCH, total - start), seed: seed * 1_000_003 + start });
}

export interface RunOptions {
  inputs: number;
  seed?: number;
  hangMs?: number;
  /** heapEnd may exceed heapStart by this much (default 16 MiB). */
  heapBoundMiB?: number;
  /** How many crash / hang inputs to keep (default 5). */
  keep?: number;
  onProgress?: (done: number, report: FuzzReport) => void;
  /** Called with the input's number before each input (a watchdog's heartbeat). */
  onInput?: (k: number) => void;
}

export function runTarget<I>(t: FuzzTarget<I>, opts: RunOptions): FuzzReport {
  const gc = gcFn();
  const seed = opts.seed ?? 1;
  const hangMs = opts.hangMs ?? 1000;
  const keep = opts.keep ?? 5;
  const r: FuzzReport = {
    target: t.name,
    inputs: 0,
    crashes: 0,
    hangs: 0,
    heapStartMiB: 0,
    heapWarmMiB: NaN,
    heapEndMiB: 0,
    heapBoundMiB: opts.heapBoundMiB ?? 16,
    heapBounded: false,
    seconds: 0,
    slowestMs: 0,
    slowOnce: 0,
    slowOnceInputs: [],
    crashInputs: [],
    hangInputs: [],
  };
  // Warm-up on the run's first 20 inputs (lazy module state, JIT), then the starting heap.
  for (const [k, i] of batchOf(t.gen, 0, opts.inputs, seed).slice(0, 20).entries()) {
    opts.onInput?.(k);
    try {
      t.run(i);
    } catch {
      // counted in the run proper
    }
  }
  r.heapStartMiB = heapMiB(gc);
  const t0 = performance.now();
  for (let done = 0; done < opts.inputs; ) {
    const cases = batchOf(t.gen, done, opts.inputs, seed);
    const n = cases.length;
    for (const [k, c] of cases.entries()) {
      opts.onInput?.(done + k);
      const s = performance.now();
      try {
        t.run(c);
      } catch (e) {
        r.crashes++;
        if (r.crashInputs.length < keep) {
          const err = e instanceof Error ? `${e.name}: ${e.message}${e.stack ? ` @ ${e.stack.split('\n').slice(1, 4).map((l) => l.trim()).join(' ← ')}` : ''}` : String(e);
          r.crashInputs.push({ index: done + k, error: err.slice(0, 500), input: clip(t.show(c)) });
        }
      }
      let ms = performance.now() - s;
      if (ms > hangMs) {
        // Timed again at once: one slow run on a shared 2-core machine may be another process's doing.
        const again = performance.now();
        try {
          t.run(c);
        } catch {
          // counted above
        }
        const ms2 = performance.now() - again;
        if (ms2 <= hangMs) {
          r.slowOnce++;
          if (r.slowOnceInputs.length < keep) r.slowOnceInputs.push({ index: done + k, ms: Math.round(ms), againMs: Math.round(ms2) });
        }
        ms = Math.min(ms, ms2);
      }
      if (ms > r.slowestMs) r.slowestMs = Math.round(ms * 10) / 10;
      if (ms > hangMs) {
        r.hangs++;
        if (r.hangInputs.length < keep) r.hangInputs.push({ index: done + k, ms: Math.round(ms), input: clip(t.show(c)) });
      }
    }
    done += n;
    r.inputs = done;
    if (Number.isNaN(r.heapWarmMiB) && done >= opts.inputs * 0.3) r.heapWarmMiB = heapMiB(gc);
    opts.onProgress?.(done, r);
  }
  r.seconds = Math.round((performance.now() - t0) / 100) / 10;
  r.heapEndMiB = heapMiB(gc);
  r.heapBounded = r.heapEndMiB <= Math.max(r.heapStartMiB, r.heapWarmMiB) + r.heapBoundMiB;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Text mutations of recorded outputs

/** Values that nvidia-smi prints, misprints or that break naive parsers. */
export const ODD_VALUES = [
  'N/A', '[N/A]', '[Not Supported]', '[Unknown Error]', '[GPU requires reset]', '[GPU is lost]', '[Insufficient Permissions]', '[]', '[',
  '', ' ', '\t', '-1', '0', '-0', '1.5', '00', '0x1F', '1e3', '1e309', '99999999999999999999', '9'.repeat(400), '-' + '9'.repeat(40), 'NaN', 'Infinity',
  'NV0', 'NV1', 'NV99', 'NV100', 'NV', 'nv4', 'X', 'x', 'SYS', 'SOC', 'PIX', 'PXB', 'PHB', 'NODE', 'GPU0', 'GPU1', 'GPU99', 'NIC0', 'mlx5_0',
  'CPU Affinity', 'NUMA Affinity', 'GPU NUMA ID', 'Legend:', 'NIC Legend:', '0-23,48-71', '0-', ',', ',,', '0,8,252-255', '4294967296',
  '"', '""', '"a,b"', ':', '(UUID: GPU-x)', '<inactive>', '26.562 GB/s', 'GB/s', 'Link 0:', 'GPU 0: X (UUID: GPU-1)',
  'Active', 'Not Active', 'Yes', 'No', 'Enabled', '00000000:8A:00.0', 'PCI:0000:8a:00', 'Unable to determine the device handle for GPU 0000:8A:00.0: Unknown Error',
  'No devices were found', 'NVML: Unable to retrieve NVLink information as all links are inactive',
  '\u0000', '\uFEFF', '\u202E', '\u200B', 'é', 'e\u0301', '💥', '\uD800', '日本語', '__proto__', 'constructor', 'toString', 'hasOwnProperty',
] as const;

export type TextOp =
  | { op: 'flip'; at: number; ch: string }
  | { op: 'dropLine'; at: number }
  | { op: 'dupLine'; at: number; times: number }
  | { op: 'swapLines'; a: number; b: number }
  | { op: 'truncLine'; at: number; frac: number }
  | { op: 'truncText'; frac: number }
  | { op: 'token'; at: number; value: string }
  | { op: 'number'; at: number; value: string }
  | { op: 'insert'; at: number; value: string }
  | { op: 'tabsToSpaces' }
  | { op: 'spacesToTabs' }
  | { op: 'crlf' }
  | { op: 'repeat'; times: number };

const oddValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ODD_VALUES) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
);

const bigNumber = fc.oneof(
  fc.constantFrom('99999999999999999999', '1e309', '-1', '-0', '0', '4294967296', '9007199254740993', '9'.repeat(400), '0.0000001', '1.7976931348623157e308'),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.double({ noNaN: false }).map(String),
);

export const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), ch: fc.oneof(fc.constantFrom('\t', ' ', ',', '\n', '"', '[', ']', ':', '-', '0', 'X', '\r', '\u00a0'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('dropLine' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('dupLine' as const), at: fc.nat(), times: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncLine' as const), at: fc.nat(), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncText' as const), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('token' as const), at: fc.nat(), value: oddValue }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('number' as const), at: fc.nat(), value: bigNumber }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), value: oddValue }) },
  { weight: 1, arbitrary: fc.constantFrom({ op: 'tabsToSpaces' as const }, { op: 'spacesToTabs' as const }, { op: 'crlf' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 8 }) }) },
);

/** One to six edits of a text. */
export const textOps = fc.array(textOp, { minLength: 1, maxLength: 6 });

const lineEdit = (text: string, f: (lines: string[]) => void): string => {
  const lines = text.split('\n');
  f(lines);
  return lines.join('\n');
};

/** Mutated texts are cut here (a real output is a few KiB; the agent's runner caps one at 4 MiB). */
export const MAX_TEXT = 256 * 1024;

/** Applies the edits in order (positions wrap around). */
export function mutateText(text: string, ops: readonly TextOp[]): string {
  let t = text;
  for (const o of ops) {
    if (t.length > MAX_TEXT) t = t.slice(0, MAX_TEXT);
    switch (o.op) {
      case 'flip':
        if (t.length > 0) {
          const at = o.at % t.length;
          t = t.slice(0, at) + o.ch + t.slice(at + 1);
        }
        break;
      case 'dropLine':
        t = lineEdit(t, (l) => void l.splice(o.at % l.length, 1));
        break;
      case 'dupLine':
        t = lineEdit(t, (l) => {
          const at = o.at % l.length;
          l.splice(at, 0, ...Array<string>(o.times).fill(l[at]!));
        });
        break;
      case 'swapLines':
        t = lineEdit(t, (l) => {
          const a = o.a % l.length;
          const b = o.b % l.length;
          [l[a], l[b]] = [l[b]!, l[a]!];
        });
        break;
      case 'truncLine':
        t = lineEdit(t, (l) => {
          const at = o.at % l.length;
          l[at] = l[at]!.slice(0, Math.floor(l[at]!.length * o.frac));
        });
        break;
      case 'truncText':
        t = t.slice(0, Math.floor(t.length * o.frac));
        break;
      case 'token':
      case 'number': {
        const re = o.op === 'number' ? /-?\d+(\.\d+)?/g : /[^\s,]+/g;
        const spots = [...t.matchAll(re)];
        if (spots.length === 0) break;
        const m = spots[o.at % spots.length]!;
        t = t.slice(0, m.index) + o.value + t.slice(m.index! + m[0].length);
        break;
      }
      case 'insert': {
        const at = t.length === 0 ? 0 : o.at % (t.length + 1);
        t = t.slice(0, at) + o.value + t.slice(at);
        break;
      }
      case 'tabsToSpaces':
        t = t.replace(/\t/g, '        ');
        break;
      case 'spacesToTabs':
        t = t.replace(/ {2,}/g, '\t');
        break;
      case 'crlf':
        t = t.replace(/\n/g, '\r\n');
        break;
      case 'repeat':
        t = Array<string>(o.times).fill(t).join('\n');
        break;
    }
  }
  return t.length > MAX_TEXT ? t.slice(0, MAX_TEXT) : t;
}

// ---------------------------------------------------------------------------------------------
// JSON mutations of well-formed objects

/** Replace one subtree of a value by another value (path indices wrap around). */
export function mutate(value: unknown, path: readonly number[], replacement: unknown): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') return replacement;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return replacement;
  const [k, v] = entries[path[0]! % entries.length]!;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  (copy as Record<string, unknown>)[k] = mutate(v, path.slice(1), replacement);
  return copy;
}

export type JsonOp =
  | { op: 'replace'; path: number[]; value: unknown }
  | { op: 'delete'; path: number[] }
  | { op: 'addKey'; path: number[]; key: string; value: unknown };

/** Odd JSON values: wrong types, huge and fractional numbers, long and unicode strings, deep nesting. */
export const oddJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, Number.MAX_SAFE_INTEGER, '', ' ', '0', '-1', '1e309', 'NaN', '9'.repeat(400), 'x'.repeat(5000), [], {}, [[]], { '': '' }, '__proto__', 'constructor') },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_VALUES) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown) },
  { weight: 1, arbitrary: fc.constant(JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}') as unknown) },
);

const path = fc.array(fc.nat(60), { maxLength: 6 });
export const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('replace' as const), path, value: oddJson }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), path: path.filter((p) => p.length > 0) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('addKey' as const), path, key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'status', 'spec', 'metadata', 'extra'), fc.string({ maxLength: 10 })), value: oddJson }) },
);
export const jsonOps = fc.array(jsonOp, { maxLength: 4 });

/** The value with one subtree edited (path indices wrap around); the input is not changed. */
function editAt(value: unknown, p: readonly number[], f: (parent: Record<string, unknown> | unknown[], key: string) => void, leaf: (v: unknown) => unknown): unknown {
  if (value === null || typeof value !== 'object') return p.length === 0 ? leaf(value) : value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  const keys = Object.keys(copy);
  if (p.length === 0) return leaf(copy);
  if (keys.length === 0) return leaf(copy);
  const k = keys[p[0]! % keys.length]!;
  if (p.length === 1) {
    f(copy, k);
    return copy;
  }
  Object.defineProperty(copy, k, { value: editAt((copy as Record<string, unknown>)[k], p.slice(1), f, leaf), enumerable: true, writable: true, configurable: true });
  return copy;
}

export function mutateJson(value: unknown, ops: readonly JsonOp[]): unknown {
  let v = value;
  for (const o of ops) {
    if (o.op === 'replace') v = mutate(v, o.path, o.value);
    else if (o.op === 'delete')
      v = editAt(v, o.path, (parent, k) => {
        if (Array.isArray(parent)) parent.splice(Number(k), 1);
        else delete parent[k];
      }, (x) => x);
    else
      v = editAt(v, o.path, (parent, k) => {
        const child = (parent as Record<string, unknown>)[k];
        if (child !== null && typeof child === 'object' && !Array.isArray(child)) {
          Object.defineProperty(parent, k, { value: { ...child, [o.key]: o.value }, enumerable: true, writable: true, configurable: true });
          Object.defineProperty((parent as Record<string, Record<string, unknown>>)[k], o.key, { value: o.value, enumerable: true, writable: true, configurable: true });
        }
      }, (x) => {
        if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
        const c = { ...(x as object) } as Record<string, unknown>;
        Object.defineProperty(c, o.key, { value: o.value, enumerable: true, writable: true, configurable: true });
        return c;
      });
  }
  return v;
}
