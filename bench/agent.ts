/**
 * The node agent's footprint: `linkpack agent` (the DaemonSet's entry, dist/src/agent/main.js) on
 * the built-in fake nvidia-smi (8 GPUs, dgx-a100), dry run, /metrics scraped every 10 s, beside a
 * bare Node process (the floor) in the same run; each interval with the DaemonSet's node flags
 * (src/agent/footprint.ts) and with plain node. RSS from /proc/<pid>/status (peak and at the
 * end), CPU as % of one core from /proc/<pid>/stat: the agent's own, and its nvidia-smi children's
 * (the fake is a Node script, far heavier than the real C binary).
 *
 *   npm run bench:agent -- [--json] [--seconds 60] [--intervals 1s,10s]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_NODE_FLAGS } from '../src/agent/footprint.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const json = process.argv.includes('--json');
const seconds = Number(arg('--seconds', '60'));
const intervals = arg('--intervals', '1s,10s').split(',');
if (!(seconds > 0)) throw new Error(`--seconds "${arg('--seconds', '')}": expected a positive number`);
const here = path.dirname(fileURLToPath(import.meta.url));
const agentMain = path.resolve(here, '../src/agent/main.js');
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface Sample {
  rssMB: number;
  selfTicks: number;
  childTicks: number;
}
function sample(pid: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // Fields after the ")" of the command name: utime=14, stime=15, cutime=16, cstime=17 (1-based in proc(5)).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssMB: rssKb / 1024, selfTicks: Number(f[11]) + Number(f[12]), childTicks: Number(f[13]) + Number(f[14]) };
}

interface Run {
  name: string;
  child: ChildProcess;
  port?: number;
  first?: Sample;
  last?: Sample;
  peakRssMB: number;
  scrapes: number;
  startedMs: number;
}

function start(name: string, args: string[]): Run {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const run: Run = { name, child, peakRssMB: 0, scrapes: 0, startedMs: Date.now() };
  let err = '';
  child.stderr!.on('data', (d) => {
    err += String(d);
    const m = /metrics on [^:]+:(\d+)/.exec(err);
    if (m && run.port === undefined) run.port = Number(m[1]);
  });
  child.once('exit', (code) => {
    if (code !== null && code !== 0) console.error(`${name} exited ${code}: ${err.slice(-500)}`);
  });
  return run;
}

const agentArgs = (iv: string) => [agentMain, 'agent', '--node-name', 'bench', '--fake', 'dgx-a100', '--interval', iv, '--dry-run', '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn', '--pod-resources-socket', '/nonexistent/kubelet.sock'];
const runs: Run[] = [
  start('bare node (floor)', ['-e', 'setInterval(() => {}, 1000)']),
  ...intervals.map((iv) => start(`agent ${iv}, as the DaemonSet runs it`, [...AGENT_NODE_FLAGS, ...agentArgs(iv)])),
  ...intervals.map((iv) =>
    start(`agent ${iv}, plain node`, [agentMain, 'agent', '--node-name', 'bench', '--fake', 'dgx-a100', '--interval', iv, '--dry-run', '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn', '--pod-resources-socket', '/nonexistent/kubelet.sock']),
  ),
];

// Let them start (imports, first topology read) before the measured window opens.
await new Promise((r) => setTimeout(r, 3000));
for (const r of runs) r.first = sample(r.child.pid!);
const t0 = Date.now();
let lastScrape = 0;
while (Date.now() - t0 < seconds * 1000) {
  await new Promise((r) => setTimeout(r, 1000));
  const scrape = Date.now() - lastScrape >= 10_000;
  if (scrape) lastScrape = Date.now();
  for (const r of runs) {
    const s = sample(r.child.pid!);
    r.peakRssMB = Math.max(r.peakRssMB, s.rssMB);
    r.last = s;
    if (scrape && r.port !== undefined) {
      await fetch(`http://127.0.0.1:${r.port}/metrics`).then((x) => x.text());
      r.scrapes++;
    }
  }
}
const wallS = (Date.now() - t0) / 1000;
for (const r of runs) r.child.kill('SIGTERM');

const rows = runs.map((r) => ({
  name: r.name,
  rssMB: Number(r.last!.rssMB.toFixed(1)),
  peakRssMB: Number(r.peakRssMB.toFixed(1)),
  cpuPctOfCore: Number((((r.last!.selfTicks - r.first!.selfTicks) / CLK_TCK / wallS) * 100).toFixed(2)),
  childCpuPctOfCore: Number((((r.last!.childTicks - r.first!.childTicks) / CLK_TCK / wallS) * 100).toFixed(2)),
  scrapes: r.scrapes,
}));
const floor = rows[0];
const out = { seconds: Number(wallS.toFixed(1)), clkTck: CLK_TCK, node: process.version, rows: rows.map((r) => ({ ...r, rssOverFloorMB: Number((r.rssMB - floor.rssMB).toFixed(1)) })), goal: { rssMB: 60, cpuPctOfCoreAt10s: 1 } };
if (json) console.log(JSON.stringify(out, null, 2));
else {
  console.log(`agent footprint over ${out.seconds} s (CPU % of one core; children = the fake nvidia-smi processes)`);
  for (const r of out.rows) console.log(`  ${r.name.padEnd(40)} RSS ${r.rssMB.toFixed(1)} MB (peak ${r.peakRssMB.toFixed(1)}, +${r.rssOverFloorMB} over floor)  CPU ${r.cpuPctOfCore.toFixed(2)}%  children ${r.childCpuPctOfCore.toFixed(2)}%`);
}
