/**
 * CDI end to end on real containers: a node on containerd v2 (built from its module; it injects CDI
 * devices, unlike containerd 1.x), the chart's device plugin with --cdi. The kubelet passes the
 * plugin's `nvidia.com/gpu=<uuid>` names to containerd, which applies the node's CDI spec: the
 * container sees one device node and one env entry per assigned GPU, and no NVIDIA_VISIBLE_DEVICES.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneSkip } from '../../src/playground/control-plane.js';
import { Playground } from '../../src/playground/playground.js';
import { assignedGpus, containerLines, gpuPod, podInPhase } from './helpers.js';

let pg: Playground;
let dir: string;

describe.skipIf(controlPlaneSkip)('CDI on containerd 2 (real containers)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'linkpack-pgcdi-'));
    pg = await Playground.up({ dir, nodes: [{ name: 'c2', topology: 'dgx1-v100' }], runtime: 'containerd2', helmSet: ['node.devicePlugin.cdi=true'] });
  }, 300_000);
  afterAll(async () => {
    await pg?.down();
  }, 60_000);

  it("the container gets the CDI spec's device nodes and env for exactly the assigned GPUs", async () => {
    await pg.cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
    await pg.cp.apply(gpuPod('cdi', 4, { shell: 'ls /dev | grep nvidia; env | grep -e LINKPACK_CDI_GPU -e NVIDIA_VISIBLE_DEVICES; true', annotations: { 'linkpack.io/topology': 'require-nvlink' } }));
    const pod = await podInPhase(pg, 'cdi', ['Succeeded', 'Failed']);
    expect(pod.status.phase, JSON.stringify(pod.status.containerStatuses)).toBe('Succeeded');
    const gpus = assignedGpus(pod);
    const lines = containerLines(pg, 'c2', pod);
    expect(lines.filter((l) => /^nvidia\d+$/.test(l)).sort()).toEqual(gpus.map((g) => `nvidia${g.index}`).sort());
    expect(lines.filter((l) => l.startsWith('LINKPACK_CDI_GPU_')).sort()).toEqual(gpus.map((g) => `LINKPACK_CDI_GPU_${g.index}=${g.uuid}`).sort());
    expect(lines.filter((l) => l.startsWith('NVIDIA_VISIBLE_DEVICES'))).toEqual([]);
    expect(readFileSync(path.join(dir, 'device-plugin-c2.log'), 'utf8')).toContain('CDI device names');
  }, 180_000);
});
