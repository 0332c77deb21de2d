/**
 * `npm run bench:worst -- [--json]`
 *
 * The worst single requests, against the real server and a 5,000-node ClusterCache in a child
 * process, while a second client polls /healthz every 10 ms: how long the request takes to be
 * answered (or refused), the longest /healthz wait during it, and the server's peak RSS.
 *   - 3.5 M names (56 MB) with nodeCacheCapable: true → refused while being read (8 MiB limit)
 *   - 50,001 names → refused by the count bound
 *   - 50,000 names, 45,000 of them unknown → answered (the largest accepted names body)
 *   - with nodeCacheCapable: false, 6,000 whole Node objects (≈ 60 MiB) → answered
 */
import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { buildExtenderServer } from '../src/extender/server.js';
import { benchCluster, benchPod } from './http.js';
import { arg, procMiB, startServerChild } from './child.js';

const NODES = 5000;


async function serve(nodeCacheCapable: boolean): Promise<void> {
  const cluster = benchCluster(NODES);
  const app = buildExtenderServer({ cluster, binder: { bind: async () => {} }, nodeCacheCapable });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`LISTENING ${address}\n`);
}

const start = (nodeCacheCapable: boolean) => startServerChild(fileURLToPath(import.meta.url), [String(nodeCacheCapable)]);

function send(agent: Agent, url: URL, method: string, path: string, body: string | Buffer): Promise<{ status: number; ms: number; text: string }> {
  const t0 = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  return new Promise((resolve) => {
    const req = request({ agent, host: url.hostname, port: url.port, path, method, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d.length < 400 ? d : ''));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: ms(), text: text.slice(0, 300) }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, ms: ms(), text }));
    });
    // The server may close the socket as soon as it has refused the body.
    req.on('error', (err) => resolve({ status: 0, ms: ms(), text: String(err) }));
    req.end(method === 'GET' ? undefined : body);
  });
}


export interface WorstRow {
  case: string;
  bodyMiB: number;
  status: number;
  ms: number;
  healthzMaxMs: number;
  healthzCount: number;
  serverPeakRssMiB: number;
  answer: string;
}

async function measure(child: ChildProcess, url: URL, name: string, path: string, body: string): Promise<WorstRow> {
  const agent = new Agent({ keepAlive: false });
  const health = new Agent({ keepAlive: true, maxSockets: 1 });
  let polling = true;
  const waits: number[] = [];
  const poller = (async () => {
    while (polling) {
      const r = await send(health, url, 'GET', '/healthz', '');
      waits.push(r.ms);
      await new Promise((res) => setTimeout(res, 10));
    }
  })();
  await new Promise((res) => setTimeout(res, 100));
  const r = await send(agent, url, 'POST', path, body);
  await new Promise((res) => setTimeout(res, 50));
  polling = false;
  await poller;
  agent.destroy();
  health.destroy();
  return {
    case: name,
    bodyMiB: Math.round((Buffer.byteLength(body) / 1024 / 1024) * 10) / 10,
    status: r.status,
    ms: Math.round(r.ms * 10) / 10,
    healthzMaxMs: Math.round(Math.max(...waits) * 10) / 10,
    healthzCount: waits.length,
    serverPeakRssMiB: procMiB(child.pid!, 'VmHWM'),
    answer: r.text.slice(0, 120),
  };
}

async function main(): Promise<void> {
  const serveMode = arg('--serve');
  if (serveMode) return serve(serveMode === 'true');
  const json = process.argv.includes('--json');
  const pod = benchPod();
  const names = (n: number) => Array.from({ length: n }, (_, i) => `gpu-node-${String(i).padStart(5, '0')}`);
  const rows: WorstRow[] = [];
  {
    const { child, url } = await start(true);
    try {
      rows.push(await measure(child, url, '3.5M names (nodeCacheCapable: true)', '/filter', JSON.stringify({ Pod: pod, Nodes: null, NodeNames: names(3_500_000) })));
      rows.push(await measure(child, url, '50,001 names', '/filter', JSON.stringify({ Pod: pod, Nodes: null, NodeNames: names(50_001) })));
      rows.push(await measure(child, url, '50,000 names, 45,000 unknown: filter', '/filter', JSON.stringify({ Pod: pod, Nodes: null, NodeNames: names(50_000) })));
      rows.push(await measure(child, url, '50,000 names, 45,000 unknown: prioritize', '/prioritize', JSON.stringify({ Pod: pod, Nodes: null, NodeNames: names(50_000) })));
    } finally {
      child.kill();
    }
  }
  {
    const { child, url } = await start(false);
    try {
      const node = (name: string) => ({ metadata: { name, labels: { 'kubernetes.io/hostname': name } }, status: { pad: 'x'.repeat(10_000) } });
      const items = names(6000).map(node);
      rows.push(await measure(child, url, '6,000 whole Nodes (nodeCacheCapable: false)', '/filter', JSON.stringify({ Pod: pod, Nodes: { metadata: {}, items }, NodeNames: null })));
    } finally {
      child.kill();
    }
  }
  if (json) console.log(JSON.stringify({ rows }));
  else {
    for (const r of rows) {
      console.log(`${r.case.padEnd(46)} ${String(r.bodyMiB).padStart(6)} MiB  HTTP ${r.status}  ${r.ms.toFixed(1).padStart(8)} ms  /healthz max ${r.healthzMaxMs.toFixed(1)} ms (${r.healthzCount} polls)  server peak RSS ${r.serverPeakRssMiB} MiB`);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}
