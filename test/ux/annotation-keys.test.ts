/** A misspelled linkpack.io/* key is refused with the key named and the nearest valid one. */
import { describe, expect, it } from 'vitest';
import { podGpuAsk } from '../../src/extender/preferences.js';
import { filterNodes } from '../../src/extender/decide.js';
import { nearest } from '../../src/api/nearest.js';
import { getPreset } from '../../src/topology/index.js';
import { MemoryCluster } from '../extender/memory-cluster.js';

const gpuPod = (annotations: Record<string, string>) => ({
  metadata: { name: 'p', namespace: 'ns', annotations },
  spec: { containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': '2' } } }] },
});

describe('unknown linkpack.io annotation keys', () => {
  it('refuses linkpack.io/topolgy, naming it and suggesting linkpack.io/topology', () => {
    const a = podGpuAsk(gpuPod({ 'linkpack.io/topolgy': 'require-nvlink' }));
    expect(a.kind).toBe('invalid');
    if (a.kind === 'invalid') expect(a.reason).toBe('unknown annotation linkpack.io/topolgy; did you mean "linkpack.io/topology"?');
  });
  it('lists the valid keys when nothing is close', () => {
    const a = podGpuAsk(gpuPod({ 'linkpack.io/zzz': '1' }));
    expect(a.kind === 'invalid' && a.reason).toMatch(/unknown annotation linkpack\.io\/zzz; valid keys are linkpack\.io\/topology, .*linkpack\.io\/exclude-gpus/);
  });
  it('accepts the keys linkpack writes itself and keys of other prefixes', () => {
    const a = podGpuAsk(
      gpuPod({
        'linkpack.io/assigned-gpus': '0,1',
        'linkpack.io/assigned-at': '2026-01-01T00:00:00Z',
        'linkpack.io/decision': 'x',
        'linkpack.io/gang': 'uid/2',
        'example.com/topolgy': 'x',
      }),
    );
    expect(a.kind).toBe('gpu');
  });
  it('the refusal reaches filter as an unresolvable reason on every node', () => {
    const cluster = new MemoryCluster();
    cluster.addNode('a', getPreset('hgx-h100')!);
    const out = filterNodes({ cluster, nowMs: 0 }, podGpuAsk(gpuPod({ 'linkpack.io/gpu-modle': 'H100' })), ['a']);
    expect(out.passed).toEqual([]);
    expect(out.unresolvable['a']).toMatch(/linkpack\.io\/gpu-modle; did you mean "linkpack\.io\/gpu-model"/);
  });
  it('nearest suggests only near misses', () => {
    expect(nearest('dgx-h100', ['hgx-h100', 'dgx2', 'pcie-4x'])).toBe('hgx-h100');
    expect(nearest('completely-else', ['hgx-h100', 'dgx2'])).toBeUndefined();
  });
});
