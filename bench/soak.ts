/**
 * `npm run bench:soak -- [--json] [--seconds 60] [--rate 1000] [--nodes 5000] [--concurrency 4]`
 *
 * A soak of the real server and ClusterCache in a child process: pods arrive at `rate` decisions
 * per second (one decision = one filter or prioritize call over every node; each pod makes two,
 * then binds to its best node), bound pods finish after 2–10 s (pod churn, so the cluster neither
 * fills nor empties). Pods are not in the cache before their bind: every bind goes through the
 * Pods kept from filter/prioritize. Prints, per 5-second window, decisions done, p50/p99 of filter
 * and prioritize, binds and errors; RSS at start and end. Arrivals that find every connection busy
 * are counted as `behind` (the rate is then more than the machine serves), never queued unboundedly.
 */
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { StaticPodBinder } from '../src/cluster/static-file.js';
import type { PodBinder } from '../src/cluster/types.js';
import { observedProfile } from '../src/extender/observed-profile.js';
import { buildExtenderServer } from '../src/extender/server.js';
import { benchCluster, benchPod } from './http.js';
import { arg, procMiB, startServerChild } from './child.js';


async function serve(n: number): Promise<void> {
  const cluster = benchCluster(n);
  const binder = new StaticPodBinder(cluster);
  const running: { namespace: string; name: string; endsAt: number }[] = [];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  const churn: PodBinder = {
    bind: async (args) => {
      await binder.bind(args);
      binder.binds.length = 0;
      running.push({ namespace: args.namespace, name: args.name, endsAt: Date.now() + 2000 + rand() * 8000 });
    },
  };
  setInterval(() => {
    const now = Date.now();
    for (let i = running.length - 1; i >= 0; i--) {
      if (running[i]!.endsAt > now) continue;
      const obj = cluster.getPod(running[i]!.namespace, running[i]!.name);
      if (obj) cluster.deletePod(obj);
      running.splice(i, 1);
    }
  }, 100).unref();
  const app = buildExtenderServer({ cluster, binder: churn, profile: observedProfile(() => cluster.podObjects(), undefined, undefined, { isGpuNode: (x) => cluster.gpuNode(x) !== undefined }) });
  // Heap after a GC (when run with --expose-gc), for the RSS columns.
  app.get('/__heap', async () => {
    (globalThis as { gc?: () => void }).gc?.();
    return { heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 1048576) };
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.once('SIGTERM', () => process.exit(0));
  process.stdout.write(`LISTENING ${address}\n`);
}

function post(agent: Agent, url: URL, path: string, body: string): Promise<{ status: number; ms: number; text: string }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - t0) / 1e6, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function heapOf(agent: Agent, url: URL): Promise<number> {
  return new Promise((resolve) => {
    request({ agent, host: url.hostname, port: url.port, path: '/__heap', method: 'GET' }, (res) => {
      let t = '';
      res.on('data', (d: Buffer) => (t += d.toString()));
      res.on('end', () => resolve((JSON.parse(t) as { heapUsedMiB: number }).heapUsedMiB));
    })
      .on('error', () => resolve(-1))
      .end();
  });
}

const pct = (xs: number[], p: number) => (xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!);
const r2 = (x: number) => Math.round(x * 100) / 100;

interface Window {
  atS: number;
  decisions: number;
  filterP50Ms: number;
  filterP99Ms: number;
  prioritizeP50Ms: number;
  prioritizeP99Ms: number;
  binds: number;
  bindRefusals: number;
  errors: number;
  behind: number;
  rssMiB: number;
  heapUsedMiB: number;
}

async function main(): Promise<void> {
  const serveN = arg('--serve');
  if (serveN) return serve(Number(serveN));
  const seconds = Number(arg('--seconds') ?? 60);
  const rate = Number(arg('--rate') ?? 1000);
  const nodes = Number(arg('--nodes') ?? 5000);
  const concurrency = Number(arg('--concurrency') ?? 4);
  const json = process.argv.includes('--json');

  const { child, url } = await startServerChild(fileURLToPath(import.meta.url), [String(nodes)], ['--expose-gc']);
  let crashed = false;
  child.once('exit', () => (crashed = true));
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const names = Array.from({ length: nodes }, (_, i) => `gpu-node-${String(i).padStart(5, '0')}`);
  const shapes = [
    { gpus: '1', ann: {} },
    { gpus: '1', ann: { 'linkpack.io/gpu-milli': '500' } },
    { gpus: '2', ann: {} },
    { gpus: '4', ann: { 'linkpack.io/topology': 'require-nvlink' } },
    { gpus: '8', ann: {} },
  ];
  const rssStart = procMiB(child.pid!);
  const windows: Window[] = [];
  let cur = { filter: [] as number[], prioritize: [] as number[], binds: 0, bindRefusals: 0, errors: 0, behind: 0 };
  const errors: string[] = [];
  let inFlight = 0;
  let seq = 0;

  const onePod = async (): Promise<void> => {
    const id = seq++;
    const shape = shapes[id % shapes.length]!;
    const pod = benchPod();
    pod.metadata = { ...pod.metadata, name: `soak-${id}`, uid: `uid-soak-${id}`, annotations: { 'linkpack.io/topology': 'prefer-nvlink', ...shape.ann } };
    pod.spec.containers[0]!.resources = { requests: { cpu: '1', 'nvidia.com/gpu': shape.gpus }, limits: { cpu: '1', 'nvidia.com/gpu': shape.gpus } };
    const f = await post(agent, url, '/filter', JSON.stringify({ Pod: pod, Nodes: null, NodeNames: names }));
    if (f.status !== 200) throw new Error(`filter HTTP ${f.status}: ${f.text.slice(0, 200)}`);
    cur.filter.push(f.ms);
    const passed = (JSON.parse(f.text) as { NodeNames: string[] }).NodeNames;
    if (passed.length === 0) return;
    const p = await post(agent, url, '/prioritize', JSON.stringify({ Pod: pod, Nodes: null, NodeNames: passed }));
    if (p.status !== 200) throw new Error(`prioritize HTTP ${p.status}: ${p.text.slice(0, 200)}`);
    cur.prioritize.push(p.ms);
    const scores = JSON.parse(p.text) as { Host: string; Score: number }[];
    let best = scores[0]!;
    for (const s of scores) if (s.Score > best.Score) best = s;
    const b = await post(agent, url, '/bind', JSON.stringify({ PodName: pod.metadata.name, PodNamespace: pod.metadata.namespace, PodUID: pod.metadata.uid, Node: best.Host }));
    if (b.status !== 200) throw new Error(`bind HTTP ${b.status}: ${b.text.slice(0, 200)}`);
    // A refusal ("no longer fits": another in-flight pod took the GPUs) is kube-scheduler's retry, not an error.
    if ((JSON.parse(b.text) as { Error: string }).Error === '') cur.binds++;
    else cur.bindRefusals++;
  };

  const t0 = Date.now();
  let nextWindow = t0 + 5000;
  let due = 0;
  const podsPerMs = rate / 2 / 1000;
  await new Promise<void>((done) => {
    const tick = setInterval(() => {
      const now = Date.now();
      if (crashed || now - t0 >= seconds * 1000) {
        clearInterval(tick);
        done();
        return;
      }
      due += podsPerMs * 10;
      while (due >= 1) {
        due -= 1;
        if (inFlight >= concurrency) {
          cur.behind += 2; // two decisions this pod would have asked for
          continue;
        }
        inFlight++;
        onePod()
          .catch((err: unknown) => {
            cur.errors++;
            if (errors.length < 10) errors.push(err instanceof Error ? err.message : String(err));
          })
          .finally(() => inFlight--);
      }
      if (now >= nextWindow) {
        windows.push({
          atS: Math.round((now - t0) / 1000),
          decisions: cur.filter.length + cur.prioritize.length,
          filterP50Ms: r2(pct(cur.filter, 50)),
          filterP99Ms: r2(pct(cur.filter, 99)),
          prioritizeP50Ms: r2(pct(cur.prioritize, 50)),
          prioritizeP99Ms: r2(pct(cur.prioritize, 99)),
          binds: cur.binds,
          bindRefusals: cur.bindRefusals,
          errors: cur.errors,
          behind: cur.behind,
          rssMiB: procMiB(child.pid!),
          heapUsedMiB: -1,
        });
        const w = windows.at(-1)!;
        void heapOf(agent, url).then((h) => (w.heapUsedMiB = h));
        if (!json) {
          console.error(`${w.atS}s: ${w.decisions / 5}/s decisions, filter p50 ${w.filterP50Ms} p99 ${w.filterP99Ms} ms, prioritize p50 ${w.prioritizeP50Ms} p99 ${w.prioritizeP99Ms} ms, ${w.binds} binds (${w.bindRefusals} refused), ${w.errors} errors, ${w.behind} behind, RSS ${w.rssMiB} MiB (heap of the window before: ${windows.at(-2)?.heapUsedMiB ?? '-'} MiB)`);
        }
        cur = { filter: [], prioritize: [], binds: 0, bindRefusals: 0, errors: 0, behind: 0 };
        nextWindow += 5000;
      }
    }, 10);
  });
  while (inFlight > 0 && !crashed) await new Promise((r) => setTimeout(r, 20));
  const rssEnd = crashed ? 0 : procMiB(child.pid!);
  agent.destroy();
  child.kill();
  const total = windows.reduce((a, w) => a + w.decisions, 0);
  const summary = {
    seconds,
    nodes,
    targetDecisionsPerS: rate,
    achievedDecisionsPerS: Math.round(total / ((windows.length || 1) * 5)),
    behind: windows.reduce((a, w) => a + w.behind, 0),
    binds: windows.reduce((a, w) => a + w.binds, 0),
    bindRefusals: windows.reduce((a, w) => a + w.bindRefusals, 0),
    errors: windows.reduce((a, w) => a + w.errors, 0) + cur.errors,
    crashed,
    rssStartMiB: rssStart,
    rssEndMiB: rssEnd,
    windows,
    firstErrors: errors,
  };
  if (json) console.log(JSON.stringify(summary));
  else {
    const { windows: _w, ...rest } = summary;
    console.log(JSON.stringify(rest));
  }
  process.exit(summary.errors === 0 && !crashed ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(2);
  });
}
