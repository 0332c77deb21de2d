import { describe, expect, it } from 'vitest';
import { ClusterCache } from '../../src/cluster/cache.js';
import { gpuNodeObject } from '../../src/cluster/gpunode.js';
import { getPreset } from '../../src/topology/index.js';

describe('ClusterCache.lookupNodes', () => {
  it('answers as lookupNode per name, also after GPUNodes come, change and go under the same candidate list', () => {
    const c = new ClusterCache({ heartbeatTimeoutMs: Infinity });
    const names = ['a', 'b', 'c', 'ghost'];
    const same = () => expect(c.lookupNodes([...names], 0)).toEqual(names.map((n) => c.lookupNode(n, 0)));
    c.upsertGpuNode(gpuNodeObject('a', getPreset('hgx-h100')!));
    same();
    c.upsertGpuNode(gpuNodeObject('b', getPreset('dgx1-v100')!));
    same();
    expect(c.lookupNodes([...names], 0)[1]!.ok).toBe(true);
    c.deleteGpuNode('a');
    same();
    expect(c.lookupNodes([...names], 0)[0]!.ok).toBe(false);
    c.upsertGpuNode(gpuNodeObject('b', getPreset('pcie-8x-2socket')!));
    same();
    c.upsertPod({ metadata: { name: 'p', namespace: 'd', uid: 'u' }, spec: { nodeName: 'b' }, status: { phase: 'Running' } });
    same();
    same();
  });
});
