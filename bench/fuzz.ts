/**
 * `npm run fuzz -- [--target extender|smi|deviceplugin|mltask|gpunode|all] [--inputs 100000]
 *   [--seed 1] [--json]` — one JSON object per target with `--json` (target, inputs, crashes,
 * hangs, heapStartMiB, heapEndMiB, seconds, the first crash inputs); exit 1 when a target has a
 * crash, a hang (an input over 1 s) or a heap past its bound. The in-process targets are in
 * bench/fuzz-<target>.ts on the harness of bench/fuzz-kit.ts; `extender` (the default, `--bodies`
 * is its old name for `--inputs`; `--concurrency 8`, `--nodes 200`) is below:
 *
 * The standing fuzz of the extender (not part of `npm test`): generated and mutated
 * kube-scheduler bodies to every verb (filter, prioritize, bind, preempt, and GET /explain) over
 * real HTTP against the real server and ClusterCache in a child process, with binds that really
 * change the cache and pod churn (bound pods are deleted again after a second). Passes when no
 * answer is a 5xx, every 4xx carries a message, the server never dies, and its RSS at the end is
 * within 20% (+16 MiB) of the largest RSS seen in the first 30% of the run.
 */
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { StaticPodBinder } from '../src/cluster/static-file.js';
import type { PodBinder } from '../src/cluster/types.js';
import { buildExtenderServer } from '../src/extender/server.js';
import { benchCluster, benchPod } from './http.js';
import type { ChildProcess } from 'node:child_process';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { arg, procMiB, startServerChild } from './child.js';
import { devicePluginTarget } from './fuzz-deviceplugin.js';
import { gpuNodeTarget } from './fuzz-gpunode.js';
import { batchOf, clip, FUZZ_BATCH, mutate, runTarget, type FuzzCounts, type FuzzReport, type FuzzTarget } from './fuzz-kit.js';
import { mltaskTarget } from './fuzz-mltask.js';
import { smiTarget } from './fuzz-smi.js';

export { mutate };

const ANNOTATIONS = ['topology', 'policy', 'gpu-model', 'gpu-memory-min', 'gpu-milli', 'include-gpus', 'exclude-gpus', 'unknown-key'].map((k) => `linkpack.io/${k}`);
const GOOD_VALUES = ['require-nvlink', 'prefer-nvlink', 'any', 'binpack', 'spread', 'H100', 'A100,V100', '80Gi', '16384', '500', '1000', 'GPU-1-0,GPU-2-3'];


const nodeName = (i: number) => `gpu-node-${String(i).padStart(5, '0')}`;

// ---------------------------------------------------------------------------------------------
// Child: serve

async function serve(n: number): Promise<void> {
  const cluster = benchCluster(n);
  const binder = new StaticPodBinder(cluster);
  // Pod churn: every pod bound here finishes a second later (and the binder's record is cleared).
  const bound: { namespace: string; name: string; at: number }[] = [];
  const recording: PodBinder = {
    bind: async (args) => {
      await binder.bind(args);
      bound.push({ namespace: args.namespace, name: args.name, at: Date.now() });
      binder.binds.length = 0;
    },
  };
  setInterval(() => {
    const now = Date.now();
    while (bound.length > 0 && now - bound[0]!.at > 1000) {
      const b = bound.shift()!;
      const obj = cluster.getPod(b.namespace, b.name);
      if (obj) cluster.deletePod(obj);
    }
  }, 250).unref();
  const app = buildExtenderServer({ cluster, binder: recording, bodyLimitBytes: 1024 * 1024 });
  // The parent asks for the heap after a full GC (the child runs with --expose-gc).
  process.on('SIGUSR2', () => {
    (globalThis as { gc?: () => void }).gc?.();
    process.stdout.write(`HEAP ${process.memoryUsage().heapUsed}\n`);
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`LISTENING ${address}\n`);
}

// ---------------------------------------------------------------------------------------------
// Parent: generate and send

interface Case {
  method: 'POST' | 'GET';
  path: string;
  body: string;
  contentType: string;
}

function generators(nodes: number) {
  const known = fc.nat(nodes - 1).map(nodeName);
  const name = fc.oneof({ weight: 6, arbitrary: known }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', '') });
  const annotations = fc.dictionary(fc.oneof(fc.constantFrom(...ANNOTATIONS), fc.string({ maxLength: 8 })), fc.oneof(fc.constantFrom(...GOOD_VALUES), fc.string({ maxLength: 20 })), { maxKeys: 4 });
  const podName = fc.oneof(fc.constantFrom('trainer-0', 'trainer-1', 'trainer-2'), fc.string({ minLength: 1, maxLength: 10 }));
  const pod = fc.record({ name: podName, gpus: fc.oneof(fc.constantFrom('0', '1', '2', '4', '8'), fc.string({ maxLength: 4 })), annotations, uidSuffix: fc.nat(20) }).map(({ name, gpus, annotations, uidSuffix }) => {
    const p = benchPod();
    p.metadata = { ...p.metadata, name, uid: `uid-${name}-${uidSuffix % 3}`, annotations: annotations as { 'linkpack.io/topology': string } };
    p.spec.containers[0]!.resources = { requests: { cpu: '1', 'nvidia.com/gpu': gpus }, limits: { cpu: '1', 'nvidia.com/gpu': gpus } };
    return p;
  });
  const args = fc.record({ pod, names: fc.array(name, { maxLength: 64 }), full: fc.boolean() }).map(({ pod, names, full }) =>
    full ? { Pod: pod, Nodes: { metadata: {}, items: names.map((n) => ({ metadata: { name: n }, status: {} })) }, NodeNames: null } : { Pod: pod, Nodes: null, NodeNames: names },
  );
  const bind = fc.record({ pod, node: name }).map(({ pod, node }) => ({ PodName: pod.metadata.name, PodNamespace: pod.metadata.namespace, PodUID: pod.metadata.uid, Node: node }));
  const victims = fc.array(fc.oneof(fc.nat(nodes - 1).map((i) => `uid-run-${i}`), fc.string({ minLength: 1, maxLength: 8 })), { maxLength: 4 });
  const preempt = fc.record({ pod, byNode: fc.dictionary(name, victims, { maxKeys: 6 }), meta: fc.boolean() }).map(({ pod, byNode, meta }) =>
    meta
      ? { Pod: pod, NodeNameToVictims: null, NodeNameToMetaVictims: Object.fromEntries(Object.entries(byNode).map(([n, v]) => [n, { Pods: v.map((UID) => ({ UID })), NumPDBViolations: 0 }])) }
      : { Pod: pod, NodeNameToMetaVictims: null, NodeNameToVictims: Object.fromEntries(Object.entries(byNode).map(([n, v]) => [n, { Pods: v.map((uid) => ({ metadata: { uid }, spec: { priority: 0 } })), NumPDBViolations: 0 }])) },
  );
  const valid = fc.oneof(
    args.map((b) => ['/filter', b] as const),
    args.map((b) => ['/prioritize', b] as const),
    bind.map((b) => ['/bind', b] as const),
    preempt.map((b) => ['/preempt', b] as const),
  );
  const json = (path: string, body: string, contentType = 'application/json'): Case => ({ method: 'POST', path, body, contentType });
  const verb = fc.constantFrom('/filter', '/prioritize', '/bind', '/preempt');
  return fc.oneof(
    // Well-formed kube-scheduler bodies (they bind, churn and score).
    { weight: 8, arbitrary: valid.map(([path, b]) => json(path, JSON.stringify(b))) },
    // One subtree replaced by anything.
    { weight: 6, arbitrary: fc.tuple(valid, fc.array(fc.nat(40), { maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })).map(([[path, b], at, repl]) => json(path, JSON.stringify(mutate(b, at, repl)))) },
    // Anything at all.
    { weight: 2, arbitrary: fc.tuple(verb, fc.jsonValue()).map(([path, v]) => json(path, JSON.stringify(v) ?? 'null')) },
    { weight: 1, arbitrary: fc.tuple(verb, fc.string({ maxLength: 200 })).map(([path, s]) => json(path, s)) },
    // Truncated valid bodies, prototype keys, wrong content types, explain.
    { weight: 1, arbitrary: fc.tuple(valid, fc.double({ min: 0, max: 1, noNaN: true })).map(([[path, b], cut]) => { const t = JSON.stringify(b); return json(path, t.slice(0, Math.floor(t.length * cut))); }) },
    { weight: 1, arbitrary: fc.tuple(verb, fc.constantFrom('{"__proto__":{"x":1},"Pod":{}}', '{"constructor":{"prototype":{"x":1}}}', '{"Pod":{"metadata":{"name":"p","__proto__":{"annotations":{"linkpack.io/topology":"x"}}},"spec":{"containers":[]}},"NodeNames":["__proto__"]}')).map(([path, b]) => json(path, b)) },
    { weight: 1, arbitrary: fc.tuple(valid, fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', '')).map(([[path, b], ct]) => json(path, JSON.stringify(b), ct)) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 30 }), podName.map((n) => `bench/${n}`)).map((q): Case => ({ method: 'GET', path: `/explain?pod=${encodeURIComponent(q)}`, body: '', contentType: '' })) },
  );
}

function send(agent: Agent, url: URL, c: Case): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(c.body) };
    if (c.contentType) headers['content-type'] = c.contentType;
    const req = request({ agent, host: url.hostname, port: url.port, path: c.path, method: c.method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(c.method === 'POST' ? c.body : undefined);
  });
}


/**
 * crashes: 5xx answers + 4xx without a message + a dead server; hangs: answers over 1 s; heap of the
 * server; heapBounded: heapEndMiB ≤ heapWarmMiB × 1.2 + 16 (the bounded caches fill in the first part).
 */
export interface FuzzResult extends FuzzCounts {
  target: 'extender';
  bodies: number;
  /** Binds that succeeded (the bind path ran to the end and changed the cache). */
  binds: number;
  byStatus: Record<string, number>;
  fiveXx: number;
  missingMessage: number;
  crashed: boolean;
  rssMiB: { atProgress: number; rssMiB: number }[];
  rssFlat: boolean;
  failures: string[];
}

/** The child's heap after a full GC (MiB), asked for with SIGUSR2. */
function childHeapMiB(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = /HEAP (\d+)/.exec(buf);
      if (!m) return;
      child.stdout!.off('data', onData);
      clearTimeout(timer);
      resolve(Math.round((Number(m[1]) / 1024 / 1024) * 10) / 10);
    };
    const timer = setTimeout(() => {
      child.stdout!.off('data', onData);
      resolve(NaN);
    }, 5000);
    child.stdout!.on('data', onData);
    child.kill('SIGUSR2');
  });
}

async function fuzzExtender(total: number, seed: number, jsonOut: boolean): Promise<boolean> {
  const concurrency = Number(arg('--concurrency') ?? 8);
  const nodes = Number(arg('--nodes') ?? 200);
  const { child, url } = await startServerChild(fileURLToPath(import.meta.url), [String(nodes)], ['--expose-gc']);
  let crashed = false;
  child.once('exit', () => (crashed = true));
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const gen = generators(nodes);
  const result: FuzzResult = {
    target: 'extender',
    inputs: 0,
    crashes: 0,
    hangs: 0,
    heapStartMiB: await childHeapMiB(child),
    heapWarmMiB: NaN,
    heapEndMiB: NaN,
    heapBounded: false,
    crashInputs: [],
    bodies: 0,
    binds: 0,
    byStatus: {},
    fiveXx: 0,
    missingMessage: 0,
    crashed: false,
    seconds: 0,
    rssMiB: [],
    rssFlat: false,
    failures: [],
  };
  const t0 = Date.now();
  const batch = 2000;
  let nextSample = 0;
  try {
    for (let done = 0; done < total && !crashed; ) {
      const cases = fc.sample(gen, { numRuns: Math.min(batch, total - done), seed: seed * 1_000_003 + done });
      let i = 0;
      const worker = async () => {
        while (i < cases.length && !crashed) {
          const at = i++;
          const c = cases[at]!;
          let r: { status: number; text: string };
          const sent = performance.now();
          try {
            r = await send(agent, url, c);
            if (performance.now() - sent > 1000) result.hangs++;
          } catch (err) {
            if (crashed) return;
            throw new Error(`${c.method} ${c.path}: ${err instanceof Error ? err.message : String(err)}`);
          }
          result.byStatus[r.status] = (result.byStatus[r.status] ?? 0) + 1;
          if (c.path === '/bind' && r.status === 200 && r.text === '{"Error":""}') result.binds++;
          if (r.status >= 500) {
            result.fiveXx++;
            if (result.failures.length < 10) result.failures.push(`${r.status} ${c.path} ${c.body.slice(0, 300)} → ${r.text.slice(0, 300)}`);
            if (result.crashInputs.length < 5) result.crashInputs.push({ index: done + at, error: `${r.status}: ${r.text.slice(0, 300)}`, input: clip(`${c.method} ${c.path} ${c.body}`) });
          } else if (r.status >= 400) {
            let msg: unknown;
            try {
              msg = (JSON.parse(r.text) as { message?: unknown }).message;
            } catch {
              msg = undefined;
            }
            if (typeof msg !== 'string' || msg === '') {
              result.missingMessage++;
              if (result.failures.length < 10) result.failures.push(`${r.status} without a message: ${c.path} ${c.body.slice(0, 200)} → ${r.text.slice(0, 200)}`);
              if (result.crashInputs.length < 5) result.crashInputs.push({ index: done + at, error: `${r.status} without a message: ${r.text.slice(0, 300)}`, input: clip(`${c.method} ${c.path} ${c.body}`) });
            }
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      done += cases.length;
      result.bodies = result.inputs = done;
      if (!crashed && Number.isNaN(result.heapWarmMiB) && done >= total * 0.3) result.heapWarmMiB = await childHeapMiB(child);
      if (!crashed && done >= nextSample) {
        result.rssMiB.push({ atProgress: Math.round((done / total) * 100) / 100, rssMiB: procMiB(child.pid!) });
        nextSample += total / 10;
        if (!jsonOut) console.error(`${done} bodies, ${Math.round((Date.now() - t0) / 1000)} s, server RSS ${result.rssMiB.at(-1)!.rssMiB} MiB`);
      }
    }
    // Still serving?
    const health = await send(agent, url, { method: 'GET', path: '/healthz', body: '', contentType: '' }).catch(() => ({ status: 0, text: '' }));
    if (health.status !== 200) crashed = true;
    if (!crashed) result.heapEndMiB = await childHeapMiB(child);
  } finally {
    result.crashed = crashed;
    agent.destroy();
    child.kill();
  }
  result.seconds = Math.round((Date.now() - t0) / 100) / 10;
  const earlySamples = result.rssMiB.filter((s) => s.atProgress <= 0.3);
  const early = Math.max(...(earlySamples.length > 0 ? earlySamples : result.rssMiB.slice(0, 1)).map((s) => s.rssMiB));
  const last = result.rssMiB.at(-1)?.rssMiB ?? Infinity;
  result.rssFlat = last <= early * 1.2 + 16;
  result.crashes = result.fiveXx + result.missingMessage + (result.crashed ? 1 : 0);
  result.heapBounded = result.heapEndMiB <= (Number.isNaN(result.heapWarmMiB) ? result.heapStartMiB : result.heapWarmMiB) * 1.2 + 16;
  const ok = result.crashes === 0 && result.hangs === 0 && result.rssFlat && result.heapBounded && result.bodies >= total;
  if (jsonOut) console.log(JSON.stringify(result));
  else {
    console.log(`${result.bodies} bodies in ${result.seconds} s: status ${JSON.stringify(result.byStatus)}; 5xx ${result.fiveXx}; 4xx without message ${result.missingMessage}; crashed ${result.crashed}; successful binds ${result.binds}`);
    console.log(`server RSS MiB by progress: ${result.rssMiB.map((s) => `${Math.round(s.atProgress * 100)}%:${s.rssMiB}`).join(' ')} → ${result.rssFlat ? 'flat' : 'GROWING'}`);
    console.log(`server heap MiB (after GC): start ${result.heapStartMiB}, 30% ${result.heapWarmMiB}, end ${result.heapEndMiB} → ${result.heapBounded ? 'bounded' : 'GROWING'}; answers over 1 s: ${result.hangs}`);
    for (const f of result.failures) console.log(`  ${f}`);
  }
  return ok;
}

/** The in-process targets (bench/fuzz-<name>.ts). */
const IN_PROCESS: Record<string, () => FuzzTarget<never>> = {
  smi: () => smiTarget() as FuzzTarget<never>,
  deviceplugin: () => devicePluginTarget() as FuzzTarget<never>,
  mltask: () => mltaskTarget() as FuzzTarget<never>,
  gpunode: () => gpuNodeTarget() as FuzzTarget<never>,
};
export const FUZZ_TARGETS = [...Object.keys(IN_PROCESS), 'extender'];

/** An input that has not returned after this long (`--stuck-seconds`, default 60) is reported as a hang that never ended, and the run stops. */
const STUCK_MS = Number(arg('--stuck-seconds') ?? 60) * 1000;

/** Worker side: run the target, beating `progress[0]` with the input's number. */
function workerMain(d: { fuzzTarget: string; total: number; seed: number; progress: SharedArrayBuffer; jsonOut: boolean }): void {
  const beat = new Int32Array(d.progress);
  const r = runTarget(IN_PROCESS[d.fuzzTarget]!(), {
    inputs: d.total,
    seed: d.seed,
    onInput: (k) => Atomics.store(beat, 0, k),
    onProgress: (done, p) => parentPort!.postMessage({ progress: done, crashes: p.crashes, hangs: p.hangs }),
  });
  parentPort!.postMessage({ report: r });
}

/**
 * Runs one in-process target in a worker thread, so that an input that never returns (an endless
 * loop) becomes a reported hang, named by regenerating it, instead of a fuzz run that never ends.
 */
async function fuzzInProcess(name: string, total: number, seed: number, jsonOut: boolean): Promise<boolean> {
  const only = arg('--only');
  if (only !== undefined) return runOne(name, Number(only), total, seed);
  const progress = new SharedArrayBuffer(4);
  const beat = new Int32Array(progress);
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { fuzzTarget: name, total, seed, progress, jsonOut } });
  let partial = { crashes: 0, hangs: 0 };
  const r = await new Promise<FuzzReport>((resolve, reject) => {
    let last = -1;
    let since = Date.now();
    const timer = setInterval(() => {
      const k = Atomics.load(beat, 0);
      if (k !== last) {
        last = k;
        since = Date.now();
        return;
      }
      if (Date.now() - since < STUCK_MS) return;
      clearInterval(timer);
      void worker.terminate();
      const t = IN_PROCESS[name]!();
      const input = batchOf(t.gen, k, total, seed)[k % FUZZ_BATCH]!;
      resolve({
        target: name,
        inputs: k + 1,
        crashes: partial.crashes,
        hangs: partial.hangs + 1,
        heapStartMiB: NaN,
        heapWarmMiB: NaN,
        heapEndMiB: NaN,
        heapBoundMiB: 16,
        heapBounded: false,
        seconds: NaN,
        slowestMs: STUCK_MS,
        slowOnce: 0,
        slowOnceInputs: [],
        crashInputs: [],
        hangInputs: [{ index: k, ms: STUCK_MS, input: `never returned (run stopped): ${clip(t.show(input))}` }],
      });
    }, 1000);
    worker.on('message', (m: { report?: FuzzReport; progress?: number; crashes: number; hangs: number }) => {
      if (m.report) {
        clearInterval(timer);
        resolve(m.report);
        return;
      }
      partial = m;
      if (!jsonOut && m.progress! % (total >= 10_000 ? 10_000 : 1000) === 0) console.error(`${name}: ${m.progress} inputs, ${m.crashes} crashes, ${m.hangs} hangs`);
    });
    worker.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
  });
  await worker.terminate();
  if (jsonOut) console.log(JSON.stringify(r));
  else {
    console.log(`${name}: ${r.inputs} inputs in ${r.seconds} s: ${r.crashes} crashes, ${r.hangs} hangs (slowest ${r.slowestMs} ms; ${r.slowOnce} over 1 s once only); heap ${r.heapStartMiB} → ${r.heapWarmMiB} (30%) → ${r.heapEndMiB} MiB (bound +${r.heapBoundMiB}: ${r.heapBounded ? 'bounded' : 'GROWING'})`);
    for (const c of r.crashInputs) console.log(`  crash: ${c.error}\n    input: ${c.input}`);
    for (const h of r.hangInputs) console.log(`  hang ${h.ms} ms: ${h.input}`);
  }
  return r.crashes === 0 && r.hangs === 0 && r.heapBounded && r.inputs >= total;
}

/** `--only <index>`: input <index> of the run with this --seed and --inputs, alone: the whole input, then what it did. */
function runOne(name: string, k: number, total: number, seed: number): boolean {
  const t = IN_PROCESS[name]!();
  const input = batchOf(t.gen, k, total, seed)[k % FUZZ_BATCH]!;
  console.log(t.show(input));
  const t0 = performance.now();
  try {
    t.run(input);
    console.log(`${name} input ${k}: no crash, ${Math.round(performance.now() - t0)} ms`);
    return true;
  } catch (e) {
    console.log(`${name} input ${k}: crash after ${Math.round(performance.now() - t0)} ms:`, e);
    return false;
  }
}

async function main(): Promise<void> {
  const serveN = arg('--serve');
  if (serveN) return serve(Number(serveN));
  const target = arg('--target') ?? 'extender';
  const targets = target === 'all' ? FUZZ_TARGETS : [target];
  for (const t of targets) {
    if (!FUZZ_TARGETS.includes(t)) {
      console.error(`--target ${t}: expected one of ${FUZZ_TARGETS.join(', ')} or all`);
      process.exit(2);
    }
  }
  const total = Number(arg('--inputs') ?? arg('--bodies') ?? 100_000);
  const seed = Number(arg('--seed') ?? 1);
  if (!Number.isInteger(total) || total <= 0 || !Number.isFinite(seed)) {
    console.error('--inputs must be a positive integer and --seed a number');
    process.exit(2);
  }
  const jsonOut = process.argv.includes('--json');
  let ok = true;
  for (const t of targets) ok = (t === 'extender' ? await fuzzExtender(total, seed, jsonOut) : await fuzzInProcess(t, total, seed, jsonOut)) && ok;
  process.exit(ok ? 0 : 1);
}

if (!isMainThread && (workerData as { fuzzTarget?: string } | null)?.fuzzTarget) {
  workerMain(workerData as Parameters<typeof workerMain>[0]);
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(2);
  });
}
