/**
 * Hot path of the core: score every candidate node of one kube-scheduler prioritize request.
 * Side by side, in the same run: (a) the same decisions by a full C(n,k) enumeration per node
 * (no decision cache — what an extender without precomputed tables does per request) and (b) the
 * floor, JSON.parse of the prioritize request plus JSON.stringify of the HostPriority answer.
 *
 *   npm run bench:core -- [--json] [--nodes 5000,15000] [--repeat 15]
 */
import { compileTopology, scoreNodes, type GpuRequest, type NodeState } from '../src/core/index.js';
import { extenderScoresFromRaw } from '../src/extender/scores.js';
import { getPreset } from '../src/topology/index.js';
import { seededRandom as rng } from '../src/sim/rng.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const json = process.argv.includes('--json');
const nodeCounts = arg('--nodes', '5000,15000').split(',').map(Number);
const repeat = Number(arg('--repeat', '15'));
const KS = [1, 2, 4, 8];

const MIX = ['dgx1-v100', 'dgx-a100', 'hgx-h100', 'pcie-8x-2socket', 'pcie-8x-nvlink-pairs', 'pcie-4x', 'dgx2'];

function makeCluster(count: number): Map<string, NodeState> {
  const r = rng(42);
  const compiled = MIX.map((p) => compileTopology(getPreset(p)!));
  const nodes = new Map<string, NodeState>();
  for (let i = 0; i < count; i++) {
    const topology = compiled[Math.floor(r() * compiled.length)];
    const busy = r() * 0.8; // occupancy per node varies from empty to mostly full
    const freeMilli = Array.from({ length: topology.n }, () => (r() < busy ? (r() < 0.2 ? 500 : 0) : 1000));
    const name = `gpu-node-${String(i).padStart(5, '0')}`;
    nodes.set(name, { name, topology, freeMilli });
  }
  return nodes;
}

function podBody(k: number) {
  return {
    metadata: { name: `train-${k}`, namespace: 'ml', uid: '6f1c1a8e-1f5e-4c1b-9d5e-2d7f0b0b1c11', annotations: { 'linkpack.io/topology': 'prefer-nvlink' } },
    spec: {
      schedulerName: 'linkpack-scheduler',
      containers: [{ name: 'trainer', image: 'ghcr.io/example/train:1', resources: { limits: { 'nvidia.com/gpu': String(k) }, requests: { 'nvidia.com/gpu': String(k) } } }],
    },
    status: { phase: 'Pending' },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void, samples = repeat): number {
  const times: number[] = [];
  fn(); // warm-up (fills caches, JIT)
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

const results = [];
let sink = 0;
for (const count of nodeCounts) {
  const cluster = makeCluster(count);
  const names = [...cluster.keys()];
  // The floor is the same work for every k (the bodies differ by one digit): measured once per
  // node count, with four times the samples, so every row of that count divides by one number.
  const floorBody = JSON.stringify({ Pod: podBody(1), Nodes: null, NodeNames: names });
  const answer = names.map((Host, i) => ({ Host, Score: i % 11 }));
  const floorMs = time(() => {
    const args = JSON.parse(floorBody);
    sink += args.NodeNames.length;
    sink += JSON.stringify(answer).length;
  }, repeat * 4);
  for (const k of KS) {
    const request: GpuRequest = { gpuCount: k, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack' };

    // Both paths look nodes up by name, as the extender does, and end in the 0..10 answer.
    const scoreWith = (exhaustive: boolean) => () => {
      const states = new Array<NodeState | undefined>(names.length);
      for (let i = 0; i < names.length; i++) states[i] = cluster.get(names[i]);
      sink += extenderScoresFromRaw(scoreNodes(states, request, undefined, { exhaustive })).length;
    };
    const coreMs = time(scoreWith(false));
    const exhaustiveMs = time(scoreWith(true));
    results.push({
      nodes: count,
      k,
      coreMsPerRequest: +coreMs.toFixed(3),
      exhaustiveMsPerRequest: +exhaustiveMs.toFixed(3),
      floorMsPerRequest: +floorMs.toFixed(3),
      ratioToFloor: +(coreMs / floorMs).toFixed(2),
      speedupVsExhaustive: +(exhaustiveMs / coreMs).toFixed(1),
    });
  }
}

if (json) console.log(JSON.stringify({ results }));
else {
  console.log('nodes    k  core ms  exhaustive ms  floor ms  core/floor  speedup vs exhaustive');
  for (const r of results) {
    console.log(
      `${String(r.nodes).padStart(5)}  ${String(r.k).padStart(3)}  ${r.coreMsPerRequest.toFixed(2).padStart(7)}  ${r.exhaustiveMsPerRequest.toFixed(2).padStart(13)}  ${r.floorMsPerRequest.toFixed(2).padStart(8)}  ${r.ratioToFloor.toFixed(2).padStart(10)}  ${r.speedupVsExhaustive.toFixed(1).padStart(8)}x`,
    );
  }
}
if (sink === -1) console.log(''); // keep the work observable to the JIT
