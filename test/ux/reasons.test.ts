/**
 * Every no-fit reason, with its exact text, as kube-scheduler's FailedScheduling event and
 * `linkpack explain` show it: each names the constraint and the numbers, and a list of GPUs holds
 * only the GPUs it claims to (issue 25: "free GPUs" that were in use, "7 of 8 qualify" with 3 in
 * use, "excluded by model/memory/include/exclude" for an H100 asked 80Gi).
 */
import { describe, expect, it } from 'vitest';
import { compileTopology, placeOnNode } from '../../src/core/index.js';
import { filterNodes } from '../../src/extender/decide.js';
import { podGpuAsk } from '../../src/extender/preferences.js';
import { placementInWords } from '../../src/extender/words.js';
import { getPreset } from '../../src/topology/index.js';
import type { Topology } from '../../src/topology/types.js';
import { gpuPod, MemoryCluster, withUuids } from '../extender/memory-cluster.js';

const preset = (name: string, prefix = 'n') => withUuids(getPreset(name)!, prefix);

/** Two A100 40 GB and two T4 16 GB on one PCIe switch tree. */
function mixed(): Topology {
  const t = getPreset('pcie-4x')!;
  return {
    ...t,
    gpus: t.gpus.map((g) => (g.index < 2 ? { ...g, model: 'NVIDIA A100-PCIE-40GB', memoryMiB: 40960 } : { ...g, model: 'Tesla T4', memoryMiB: 15360 })),
  };
}

interface Row {
  what: string;
  topology: Topology;
  unhealthy?: number[];
  /** GPU index → milli-GPU in use. */
  used?: Record<number, number>;
  gpus: number;
  annotations?: Record<string, string>;
  reason: string;
  /** No preemption can help (FailedAndUnresolvableNodes). */
  unresolvable: boolean;
}

const all = (n: number, milli = 1000) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i, milli]));
const some = (ix: number[], milli = 1000) => Object.fromEntries(ix.map((i) => [i, milli]));

const rows: Row[] = [
  {
    what: 'memory below the ask, with the annotation as written',
    topology: preset('hgx-h100'),
    gpus: 1,
    annotations: { 'linkpack.io/gpu-memory-min': '80Gi' },
    reason: 'GPU memory 81559 MiB < 81920 MiB asked (linkpack.io/gpu-memory-min=80Gi)',
    unresolvable: true,
  },
  {
    what: 'memory on too few GPUs',
    topology: mixed(),
    gpus: 4,
    annotations: { 'linkpack.io/gpu-memory-min': '20Gi' },
    reason: 'only 2 GPUs with ≥ 20480 MiB memory, 4 asked (linkpack.io/gpu-memory-min=20Gi)',
    unresolvable: true,
  },
  {
    what: 'memory the node does not report',
    topology: preset('pcie-4x'),
    gpus: 1,
    annotations: { 'linkpack.io/gpu-memory-min': '1024' },
    reason: 'GPU memory unknown (the node does not report it), 1024 MiB asked (linkpack.io/gpu-memory-min=1024)',
    unresolvable: true,
  },
  {
    what: 'a model no GPU matches names the node’s models',
    topology: preset('hgx-h100'),
    gpus: 1,
    annotations: { 'linkpack.io/gpu-model': 'H10O' },
    reason: 'no GPU model matches "H10O" (node has NVIDIA H100 80GB HBM3)',
    unresolvable: true,
  },
  {
    what: 'a model on too few GPUs',
    topology: mixed(),
    gpus: 4,
    annotations: { 'linkpack.io/gpu-model': 'A100' },
    reason: 'only 2 GPUs match model "A100", 4 asked (node has NVIDIA A100-PCIE-40GB, Tesla T4)',
    unresolvable: true,
  },
  {
    what: 'include-gpus of another node',
    topology: preset('hgx-h100'),
    gpus: 1,
    annotations: { 'linkpack.io/include-gpus': 'GPU-other-1' },
    reason: 'none of include-gpus is on this node',
    unresolvable: true,
  },
  {
    what: 'include-gpus fewer than asked',
    topology: preset('hgx-h100'),
    gpus: 4,
    annotations: { 'linkpack.io/include-gpus': 'GPU-n-0,GPU-n-1' },
    reason: 'only 2 of include-gpus are on this node, 4 asked',
    unresolvable: true,
  },
  {
    what: 'exclude-gpus leaves too few',
    topology: preset('hgx-h100'),
    gpus: 4,
    annotations: { 'linkpack.io/exclude-gpus': 'GPU-n-0,GPU-n-1,GPU-n-2,GPU-n-3,GPU-n-4,GPU-n-5' },
    reason: 'exclude-gpus leaves 2 GPUs, 4 asked (excluded here: GPUs 0,1,2,3,4,5)',
    unresolvable: true,
  },
  {
    what: 'a node smaller than the ask',
    topology: preset('pcie-4x'),
    gpus: 8,
    reason: 'the node has 4 GPUs, 8 asked',
    unresolvable: true,
  },
  {
    // Was "needs 8 whole GPUs; 7 of 8 GPUs qualify (1 unhealthy)" with 3 GPUs in use.
    what: 'too few healthy GPUs (in-use GPUs are not counted as qualifying)',
    topology: preset('pcie-8x-2socket'),
    unhealthy: [2],
    used: some([1, 4, 6]),
    gpus: 8,
    reason: 'only 7 healthy GPUs, 8 asked (GPU 2 unhealthy)',
    unresolvable: true,
  },
  {
    what: 'too few free GPUs',
    topology: preset('hgx-h100'),
    used: some([0, 1, 2, 3, 4]),
    gpus: 4,
    reason: 'only 3 free GPUs, 4 asked (GPUs 0,1,2,3,4 in use)',
    unresolvable: false,
  },
  {
    what: 'every GPU in use',
    topology: preset('hgx-h100'),
    used: all(8),
    gpus: 1,
    reason: 'no free GPU, 1 asked (all 8 in use)',
    unresolvable: false,
  },
  {
    what: 'too few free GPUs among those a constraint allows',
    topology: preset('hgx-h100'),
    used: some([0, 1]),
    gpus: 4,
    annotations: { 'linkpack.io/exclude-gpus': 'GPU-n-7,GPU-n-6,GPU-n-5' },
    reason: 'only 3 free GPUs of the 5 that qualify, 4 asked (GPUs 0,1 in use)',
    unresolvable: false,
  },
  {
    // Was "no NVLink-connected set of 4 among free GPUs 0,1,3,4,5,6,7" with 1, 4 and 6 in use.
    what: 'no NVLink set on this node at all: no "free" list',
    topology: preset('pcie-8x-2socket'),
    unhealthy: [2],
    used: some([1, 4, 6]),
    gpus: 4,
    annotations: { 'linkpack.io/topology': 'require-nvlink' },
    reason: 'no NVLink-connected set of 4 on this node among GPUs 0,1,3,4,5,6,7 (largest NVLink-connected set 1; GPU 2 unhealthy)',
    unresolvable: true,
  },
  {
    what: 'NVLink pairs only',
    topology: preset('pcie-8x-nvlink-pairs'),
    used: some([0, 2]),
    gpus: 4,
    annotations: { 'linkpack.io/topology': 'require-nvlink' },
    reason: 'no NVLink-connected set of 4 on this node (largest NVLink-connected set 2)',
    unresolvable: true,
  },
  {
    what: 'no NVLink set among the free GPUs now (lists only free ones)',
    topology: preset('dgx1-v100'),
    used: some([0, 2, 5, 7]),
    gpus: 4,
    annotations: { 'linkpack.io/topology': 'require-nvlink' },
    reason: 'no NVLink-connected set of 4 among free GPUs 1,3,4,6 (largest NVLink-connected set 2; GPUs 0,2,5,7 in use)',
    unresolvable: false,
  },
  {
    what: 'a share that no GPU has room for',
    topology: preset('hgx-h100'),
    used: { ...all(8, 700), 3: 600 },
    gpus: 1,
    annotations: { 'linkpack.io/gpu-milli': '500' },
    reason: 'no GPU has 500 milli-GPU free for a share (the most free on one GPU is 400 milli-GPU, on GPU 3)',
    unresolvable: false,
  },
  {
    what: 'a share with every GPU full',
    topology: preset('hgx-h100'),
    used: all(8),
    gpus: 1,
    annotations: { 'linkpack.io/gpu-milli': '250' },
    reason: 'no GPU has 250 milli-GPU free for a share (every GPU is fully in use)',
    unresolvable: false,
  },
];

describe('every no-fit reason names the constraint and the numbers', () => {
  it.each(rows)('$what', (row) => {
    const cluster = new MemoryCluster();
    cluster.addNode('n', row.topology, { unhealthy: Object.fromEntries((row.unhealthy ?? []).map((i) => [i, 'XID 79'])) });
    for (const [index, milli] of Object.entries(row.used ?? {})) {
      cluster.hold({ uid: `held-${index}`, namespace: 'ml', name: `held-${index}`, node: 'n', gpus: [{ index: Number(index) }], milliPerGpu: milli });
    }
    const ask = podGpuAsk(gpuPod('p', row.gpus, row.annotations ?? {}));
    const out = filterNodes({ cluster, nowMs: 0 }, ask, ['n']);
    expect(out.passed).toEqual([]);
    expect(row.unresolvable ? out.unresolvable['n'] : out.failed['n']).toBe(row.reason);
  });

  it('the core says CPU and memory with their numbers (nodes that report them)', () => {
    const ct = compileTopology(getPreset('pcie-4x')!);
    const base = { name: 'n', topology: ct, freeMilli: [1000, 1000, 1000, 1000] };
    const req = { gpuCount: 1, milliPerGpu: 1000, topology: 'any', policy: 'binpack' } as const;
    const cpu = placeOnNode({ ...base, cpuFreeMilli: 2000 }, { ...req, cpuMilli: 4000 });
    const mem = placeOnNode({ ...base, memoryFreeMiB: 1024 }, { ...req, memoryMiB: 4096 });
    expect(cpu.fits ? '' : cpu.reason).toBe('not enough CPU: needs 4000m, 2000m free');
    expect(mem.fits ? '' : mem.reason).toBe('not enough memory: needs 4096Mi, 1024Mi free');
  });
});

describe('a placement in words', () => {
  const b = { nvlinkConnected: true, nvlinkAllPairs: true, bottleneckGBps: 0, minPairGBps: 0, aggregateGBps: 0, freeGpusAfter: 0, largestNvlinkSetAfter: 0, leftoverQuality: 1, gpuUsedAfter: 1 };
  it.each([
    ['a share is a share, not "a single GPU"', { gpuCount: 1, milliPerGpu: 250 }, 'a share of one GPU (250 milli-GPU, 25%); fills the node exactly'],
    ['one whole GPU', { gpuCount: 1, milliPerGpu: 1000 }, 'one whole GPU; fills the node exactly'],
  ])('%s', (_what, asked, text) => {
    expect(placementInWords(b, asked)).toBe(text);
  });
});

describe('every pod-level reason (the pod fails on every node with it) names the annotation and what it accepts', () => {
  it.each([
    [1, { 'linkpack.io/topolgy': 'any' }, 'unknown annotation linkpack.io/topolgy; did you mean "linkpack.io/topology"?'],
    [1, { 'linkpack.io/topology': 'strict' }, 'invalid annotation linkpack.io/topology="strict": accepted values are "require-nvlink", "prefer-nvlink", "any"'],
    [1, { 'linkpack.io/policy': 'pack' }, 'invalid annotation linkpack.io/policy="pack": accepted values are "binpack", "spread"'],
    [1, { 'linkpack.io/gpu-milli': '0' }, 'invalid annotation linkpack.io/gpu-milli="0": accepted values are whole numbers 1–1000 (thousandths of one GPU)'],
    [2, { 'linkpack.io/gpu-milli': '500' }, 'invalid annotation linkpack.io/gpu-milli="500": a share of a GPU needs exactly 1 nvidia.com/gpu (the pod requests 2)'],
    [1, { 'linkpack.io/gpu-model': ' , ' }, 'invalid annotation linkpack.io/gpu-model=" , ": accepted value is a comma-separated list of GPU model names (e.g. "H100,A100-SXM4-80GB")'],
    [1, { 'linkpack.io/gpu-memory-min': '80GB' }, 'invalid annotation linkpack.io/gpu-memory-min="80GB": accepted values are a positive size in MiB ("81920"), or with a unit Mi, Gi or Ti ("80Gi")'],
    [1, { 'linkpack.io/include-gpus': 'GPU a' }, 'invalid annotation linkpack.io/include-gpus="GPU a": accepted value is a comma-separated list of GPU UUIDs (e.g. "GPU-5e2c1f0a-…,GPU-9b…")'],
    // What a pod wrote reaches Events escaped and short.
    [1, { 'linkpack.io/policy': `\u0007bin\npack${'x'.repeat(300)}` }, `invalid annotation linkpack.io/policy="\\x07bin\\x0apack${'x'.repeat(105)}… (195 more characters)": accepted values are "binpack", "spread"`],
  ])('%j %j', (gpus, annotations, reason) => {
    const cluster = new MemoryCluster();
    cluster.addNode('n', preset('hgx-h100'));
    const out = filterNodes({ cluster, nowMs: 0 }, podGpuAsk(gpuPod('p', gpus, annotations)), ['n']);
    expect(out.unresolvable['n']).toBe(reason);
  });
});
