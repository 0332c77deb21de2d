/**
 * `npm run bench:http [-- --json] [--nodes 1000,5000,15000] [--seconds 3] [--connections 4] [--node-objects] [--in-process]`
 *
 * filter and prioritize over real HTTP against the real extender server and the real ClusterCache
 * (nodeCacheCapable: true bodies, i.e. NodeNames), side by side with a bare route on the same
 * server that only parses the same body and answers it (the floor). The server runs in a child
 * process so the load generator does not share its event loop.
 *
 * Latency (p50/p99) is measured by a serial keep-alive client, one request at a time as
 * kube-scheduler sends them for one pod, with sub-millisecond timers; requests/s by autocannon
 * with several connections. BENCH_SERVER_NODE_OPTIONS (e.g. "--max-semi-space-size=64") is
 * passed to the server process, to try V8 flags. --node-objects also gives the cache each Node's
 * allocatable CPU and memory and the running pods CPU requests (as the Node feed does in a cluster):
 * the decision then depends on free CPU too, so fewer nodes share a state and its memo.
 * --in-process measures the same server through fastify's inject in this process (no socket, no
 * child, no req/s: 0 in the rows).
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { ClusterCache } from '../src/cluster/cache.js';
import { gpuNodeObject } from '../src/cluster/gpunode.js';
import { observedProfile } from '../src/extender/observed-profile.js';
import { buildExtenderServer } from '../src/extender/server.js';
import { getPreset } from '../src/topology/index.js';
import type { PodBinder } from '../src/cluster/types.js';
import { seededRandom as rng } from '../src/sim/rng.js';

const PRESETS = ['hgx-h100', 'hgx-h100', 'dgx1-v100', 'pcie-8x-2socket'];

function nodeName(i: number): string {
  return `gpu-node-${String(i).padStart(5, '0')}`;
}


/** A cluster of n 8-GPU nodes, about half the GPUs held by running pods (with CPU requests and Node allocatable: withNodes). */
export function benchCluster(n: number, withNodes = false): ClusterCache {
  const cache = new ClusterCache({ heartbeatTimeoutMs: Infinity });
  const rand = rng(42);
  const gpuNodes: unknown[] = [];
  const pods: unknown[] = [];
  const nodes: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const name = nodeName(i);
    const topo = getPreset(PRESETS[i % PRESETS.length]!)!;
    const withUuids = { ...topo, gpus: topo.gpus.map((g) => ({ ...g, uuid: `GPU-${i}-${g.index}` })) };
    gpuNodes.push(gpuNodeObject(name, withUuids));
    if (withNodes) nodes.push({ metadata: { name }, status: { allocatable: { cpu: '128', memory: '1024Gi' } } });
    const held: number[] = [];
    for (let g = 0; g < 8; g++) if (rand() < 0.5) held.push(g);
    if (held.length > 0) {
      const requests: Record<string, string> = { 'nvidia.com/gpu': String(held.length) };
      // 4–12 cores per GPU: node states then differ in free CPU as well.
      if (withNodes) requests.cpu = String(held.length * (4 + Math.floor(rand() * 9)));
      pods.push({
        metadata: { name: `run-${i}`, namespace: 'bench', uid: `uid-run-${i}`, annotations: { 'linkpack.io/assigned-gpus': held.join(',') } },
        spec: { nodeName: name, containers: [{ name: 'c', resources: { requests } }] },
        status: { phase: 'Running' },
      });
    }
  }
  cache.replaceAll(gpuNodes, pods);
  if (withNodes) cache.replaceNodes(nodes);
  cache.markSynced('bench', true);
  return cache;
}

export function benchPod() {
  return {
    metadata: { name: 'trainer-0', namespace: 'bench', uid: 'uid-trainer-0', resourceVersion: '1', annotations: { 'linkpack.io/topology': 'prefer-nvlink' } },
    spec: {
      schedulerName: 'linkpack-scheduler',
      containers: [{ name: 'train', image: 'pytorch', resources: { requests: { cpu: '8', 'nvidia.com/gpu': '2' }, limits: { cpu: '8', 'nvidia.com/gpu': '2' } } }],
      priority: 0,
    },
    status: { phase: 'Pending' },
  };
}

// ---------------------------------------------------------------------------------------------
// Child: serve

/** The extender over the bench cluster, plus the floor route. */
function benchServer(n: number, withNodes: boolean) {
  const cluster = benchCluster(n, withNodes);
  const binder: PodBinder = { bind: async () => {} };
  // As `linkpack extender` runs by default: a workload profile observed from the cluster's pods.
  const app = buildExtenderServer({ cluster, binder, profile: observedProfile(() => cluster.podObjects(), undefined, undefined, { isGpuNode: (n) => cluster.gpuNode(n) !== undefined }) });
  // The floor: same body limit and JSON parser, no schema, no decision; answers the names back.
  app.post('/floor', async (req) => {
    const body = req.body as { NodeNames?: string[] };
    return { Nodes: null, NodeNames: body.NodeNames ?? [], FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: '' };
  });
  return app;
}

async function serve(n: number, withNodes: boolean): Promise<void> {
  const app = benchServer(n, withNodes);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  // Exit normally on the parent's kill, so --cpu-prof (BENCH_SERVER_NODE_OPTIONS) writes its profile.
  process.once('SIGTERM', () => process.exit(0));
  process.stdout.write(`LISTENING ${address}\n`);
}

// ---------------------------------------------------------------------------------------------
// Parent: measure

interface Latency {
  p50Ms: number;
  p99Ms: number;
}

function post(agent: Agent, url: URL, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request(
      { agent, host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${path}: HTTP ${res.statusCode}`));
          else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function serialLatency(agent: Agent, url: URL, path: string, body: string, seconds: number): Promise<Latency> {
  for (let i = 0; i < 50; i++) await post(agent, url, path, body); // warm-up (JIT, caches)
  const samples: number[] = [];
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until || samples.length < 100) samples.push(await post(agent, url, path, body));
  samples.sort((a, b) => a - b);
  return { p50Ms: round(percentile(samples, 50)), p99Ms: round(percentile(samples, 99)) };
}

async function throughput(url: URL, path: string, body: string, seconds: number, connections: number): Promise<number> {
  const r = await autocannon({ url: new URL(path, url).toString(), method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: seconds });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${path}: ${r.non2xx} non-2xx answers, ${r.errors} errors under load`);
  return Math.round(r.requests.average);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export interface BenchRow {
  verb: 'filter' | 'prioritize';
  nodes: number;
  p50Ms: number;
  p99Ms: number;
  rps: number;
  floorP50Ms: number;
  floorP99Ms: number;
  floorRps: number;
  ratioP99ToFloor: number;
}

async function measure(n: number, seconds: number, connections: number, withNodes: boolean): Promise<BenchRow[]> {
  const serverArgs = ['--serve', String(n), ...(withNodes ? ['--node-objects'] : [])];
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_OPTIONS ?? '').split(' ').filter(Boolean), fileURLToPath(import.meta.url), ...serverArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /LISTENING (\S+)/.exec(buf);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    });
    const url = new URL(address);
    const names = Array.from({ length: n }, (_, i) => nodeName(i));
    const body = JSON.stringify({ Pod: benchPod(), Nodes: null, NodeNames: names });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const floor = await serialLatency(agent, url, '/floor', body, seconds);
    const floorRps = await throughput(url, '/floor', body, seconds, connections);
    const rows: BenchRow[] = [];
    for (const verb of ['filter', 'prioritize'] as const) {
      const lat = await serialLatency(agent, url, `/${verb}`, body, seconds);
      const rps = await throughput(url, `/${verb}`, body, seconds, connections);
      rows.push({ verb, nodes: n, ...lat, rps, floorP50Ms: floor.p50Ms, floorP99Ms: floor.p99Ms, floorRps, ratioP99ToFloor: round(lat.p99Ms / floor.p99Ms) });
    }
    agent.destroy();
    return rows;
  } finally {
    child.kill();
  }
}

/**
 * --in-process: the same server and cluster in this process, requests through fastify's inject (no
 * socket, no child): p50/p99 of serial requests, to tell the decision's cost from the transport's.
 */
async function measureInProcess(n: number, seconds: number, withNodes: boolean): Promise<BenchRow[]> {
  const app = benchServer(n, withNodes);
  await app.ready();
  const names = Array.from({ length: n }, (_, i) => nodeName(i));
  const payload = JSON.stringify({ Pod: benchPod(), Nodes: null, NodeNames: names });
  const one = async (path: string) => {
    const t0 = process.hrtime.bigint();
    const res = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload });
    if (res.statusCode !== 200) throw new Error(`${path}: HTTP ${res.statusCode}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const latency = async (path: string): Promise<Latency> => {
    for (let i = 0; i < 50; i++) await one(path);
    const samples: number[] = [];
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until || samples.length < 100) samples.push(await one(path));
    samples.sort((a, b) => a - b);
    return { p50Ms: round(percentile(samples, 50)), p99Ms: round(percentile(samples, 99)) };
  };
  try {
    const floor = await latency('/floor');
    const rows: BenchRow[] = [];
    for (const verb of ['filter', 'prioritize'] as const) {
      const lat = await latency(`/${verb}`);
      rows.push({ verb, nodes: n, ...lat, rps: 0, floorP50Ms: floor.p50Ms, floorP99Ms: floor.p99Ms, floorRps: 0, ratioP99ToFloor: round(lat.p99Ms / floor.p99Ms) });
    }
    return rows;
  } finally {
    await app.close();
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const withNodes = process.argv.includes('--node-objects');
  const serveN = arg('--serve');
  if (serveN) return serve(Number(serveN), withNodes);
  const json = process.argv.includes('--json');
  const sizes = (arg('--nodes') ?? '1000,5000,15000').split(',').map(Number);
  const seconds = Number(arg('--seconds') ?? 3);
  const connections = Number(arg('--connections') ?? 4);
  const results: BenchRow[] = [];
  for (const n of sizes) {
    const rows = process.argv.includes('--in-process') ? await measureInProcess(n, seconds, withNodes) : await measure(n, seconds, connections, withNodes);
    results.push(...rows);
    if (!json) {
      for (const r of rows) {
        console.log(
          `${r.verb.padEnd(10)} ${String(r.nodes).padStart(6)} nodes  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  ${r.rps} req/s` +
            `   | floor p50 ${r.floorP50Ms.toFixed(2)} ms  p99 ${r.floorP99Ms.toFixed(2)} ms  ${r.floorRps} req/s  | p99/floor ${r.ratioP99ToFloor}`,
        );
      }
    }
  }
  if (json) console.log(JSON.stringify({ results }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
