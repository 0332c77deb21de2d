/**
 * `npm run bench:idle`: where the unallocated GPU is when the arrived demand first reaches 100% of
 * capacity (the headline point of the FGD protocol), per policy: whole free GPUs (by node model
 * and whether the node's CPU is nearly gone) and the remainders of shared GPUs (by milli left).
 * It shows how much of the gap any placement could still close.
 *
 * Options: --workload default  --seed 42  --policy fgd,linkpack
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FGD_TIES, makePolicy, parsePolicies } from '../src/sim/policies.js';
import { buildArrivals, PlacementRun } from '../src/sim/protocol.js';
import { loadTrace } from '../src/sim/run.js';
import { markdownTable } from '../src/sim/format.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const shared = process.env.LINKPACK_SHARED ?? resolve(process.cwd(), '../shared');
const csv = join(shared, 'traces/alibaba-v2023/csv');
const workload = arg('workload', 'default');
const pods = join(csv, `openb_pod_list_${workload}.csv`);
if (!existsSync(pods)) {
  console.error(`bench:idle: ${pods} not found (set LINKPACK_SHARED); nothing to run`);
  process.exit(2);
}
const seed = Number(arg('seed', '42'));
const policies = parsePolicies(arg('policy', 'fgd,linkpack'));
if (typeof policies === 'string' || !Number.isInteger(seed)) {
  console.error(`bench:idle: ${typeof policies === 'string' ? policies : `--seed must be an integer, got ${arg('seed', '')}`}`);
  process.exit(2);
}

const trace = loadTrace(join(csv, 'openb_node_list_gpu_node.csv'), pods);
const c = trace.cluster;
const pct = (milli: number) => ((100 * milli) / c.capacityMilli).toFixed(2);
for (const name of policies) {
  const arrivals = buildArrivals(trace.pods, c.capacityMilli, seed);
  const run = new PlacementRun(c, makePolicy(name), seed, trace.profile, FGD_TIES, arrivals.length);
  let arrived = 0;
  for (const p of arrivals) {
    run.arrive(p);
    arrived += p.totalMilli;
    if (arrived >= c.capacityMilli) break;
  }
  const whole = new Map<string, number>();
  const remainders = new Map<number, number>();
  let idle = 0;
  let wholeMilli = 0;
  for (let n = 0; n < c.n; n++) {
    const free = c.freeMilliOf(n);
    const cpuLow = c.cpuFree[n]! < 4000 ? 'CPU < 4 cores free' : 'CPU free';
    for (const f of free) {
      idle += f;
      if (f === 1000) {
        wholeMilli += f;
        const k = `${c.specs[n]!.model} (${cpuLow})`;
        whole.set(k, (whole.get(k) ?? 0) + 1);
      } else if (f > 0) remainders.set(f, (remainders.get(f) ?? 0) + 1);
    }
  }
  console.log(`\n## ${name}, ${workload}, seed ${seed}: ${pct(idle)}% of capacity idle at 100% arrival (${pct(wholeMilli)}% whole GPUs, ${pct(idle - wholeMilli)}% share remainders)\n`);
  const rows = [...remainders].sort((a, b) => b[0] * b[1] - a[0] * a[1]).slice(0, 8);
  console.log(markdownTable(['share remainder (milli free)', 'GPUs', '% of capacity'], rows.map(([f, k]) => [String(f), String(k), pct(f * k)])));
  console.log('');
  const wrows = [...whole].sort((a, b) => b[1] - a[1]).slice(0, 6);
  console.log(markdownTable(['whole free GPUs on', 'GPUs', '% of capacity'], wrows.map(([k, v]) => [k, String(v), pct(v * 1000)])));
}
