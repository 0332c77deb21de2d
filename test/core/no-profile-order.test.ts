/**
 * The no-profile order (what the extender uses before it has seen enough pods): NVLink tier, then
 * an exact fit (the job takes the node's last free GPUs), then NVLink preservation, then packing. Checked in the core and on deploy/examples/cluster.yaml
 * through the standalone extender over HTTP, as a user would try it.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { compileTopology, placeOnNode, type GpuRequest, type NodeState } from '../../src/core/index.js';
import { getPreset, pcieBox } from '../../src/topology/index.js';
import { runExtender, type RunningExtender } from '../../src/extender/command.js';

const h100 = compileTopology(getPreset('hgx-h100')!);
const dgx1 = compileTopology(getPreset('dgx1-v100')!);
const pcie4 = compileTopology(pcieBox(4));
const state = (name: string, topology: typeof h100, freeGpus: number[]): NodeState => ({ name, topology, freeMilli: Array.from({ length: topology.n }, (_, i) => (freeGpus.includes(i) ? 1000 : 0)) });
const req = (gpuCount: number, over: Partial<GpuRequest> = {}): GpuRequest => ({ gpuCount, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack', ...over });
const raw = (n: NodeState, r: GpuRequest) => {
  const d = placeOnNode(n, r);
  if (!d.fits) throw new Error(d.reason);
  return d.rawScore;
};

describe('no-profile node order', () => {
  it('a 4-GPU job fills the 4 free GPUs of a half-used HGX H100 before half of an empty DGX-1', () => {
    expect(raw(state('h100-b', h100, [4, 5, 6, 7]), req(4))).toBeGreaterThan(raw(state('v100-a', dgx1, [0, 1, 2, 3, 4, 5, 6, 7]), req(4)));
  });
  it('the NVLink tier still comes first: a connected set beats a tighter PCIe fit', () => {
    expect(raw(state('v100-a', dgx1, [0, 1, 2, 3, 4, 5, 6, 7]), req(4))).toBeGreaterThan(raw(state('pcie', pcie4, [0, 1, 2, 3]), req(4)));
  });
  it('without an exact fit, NVLink preservation decides; spread never takes the exact-fit bonus', () => {
    // Neither fills its node: the PCIe box keeps the H100's NVLink links whole.
    expect(raw(state('pcie', pcie4, [0, 1, 2, 3]), req(1))).toBeGreaterThan(raw(state('h100', h100, [0, 1]), req(1)));
    expect(raw(state('pcie', pcie4, [0, 1, 2, 3]), req(1))).toBeGreaterThan(raw(state('h100', h100, [0, 1, 2, 3]), req(1)));
    // spread: the half-used H100 is not preferred for filling up.
    expect(raw(state('h100-b', h100, [4, 5, 6, 7]), req(4, { policy: 'spread' }))).toBeLessThan(raw(state('v100-a', dgx1, [0, 1, 2, 3, 4, 5, 6, 7]), req(4, { policy: 'spread' })));
  });
});

describe('deploy/examples/cluster.yaml through the standalone extender', () => {
  let running: RunningExtender | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });
  it('prioritize ranks gpu-h100-b (exactly 4 free) first for trainer-0', async () => {
    const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/examples');
    running = await runExtender(
      { port: '0', host: '127.0.0.1', heartbeatTimeout: '120', bodyLimitMib: '8', logLevel: 'silent', clusterFile: path.join(examples, 'cluster.yaml') },
      pino({ level: 'silent' }),
    );
    const body = JSON.parse(readFileSync(path.join(examples, 'filter-request.json'), 'utf8'));
    const res = await fetch(`${running.address}/prioritize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, NodeNames: ['gpu-h100-a', 'gpu-h100-b', 'gpu-v100-a'] }) });
    const scores = (await res.json()) as { Host: string; Score: number }[];
    const top = [...scores].sort((a, b) => b.Score - a.Score);
    expect(top[0]).toEqual({ Host: 'gpu-h100-b', Score: 10 });
    expect(top[1].Host).toBe('gpu-v100-a');
  });
});
