import { describe, expect, it } from 'vitest';
import { compileTopology, placeOnNode, type GpuRequest } from '../../src/core/index.js';
import { COMPILED_KEPT, compiledKept, DECISION_TABLES_PER_TOPOLOGY, ELIGIBILITY_MASKS_PER_TOPOLOGY, LINK_TABLES_KEPT } from '../../src/core/compile.js';
import { BoundedCache } from '../../src/core/lru.js';
import { getPreset } from '../../src/topology/index.js';

describe('BoundedCache', () => {
  it('never holds more than its capacity; an entry in steady use survives any number of one-off keys', () => {
    const c = new BoundedCache<string, number>(100);
    c.set('hot', 1);
    for (let i = 0; i < 10_000; i++) {
      c.set(`k${i}`, i);
      expect(c.get('hot')).toBe(1);
      expect(c.size).toBeLessThanOrEqual(100);
    }
    expect(c.get('k0')).toBeUndefined();
    expect(c.get('k9999')).toBe(9999);
  });
});

describe('core caches keyed by what users write are bounded', () => {
  const ct = compileTopology(getPreset('dgx2')!);
  const state = { name: 'n', topology: ct, freeMilli: new Array(ct.n).fill(1000) };
  const req = (over: Partial<GpuRequest>): GpuRequest => ({ gpuCount: 2, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack', ...over });

  it('distinct gpu-model / gpu-memory-min values: eligibility masks', () => {
    for (let i = 0; i < 5000; i++) placeOnNode(state, req({ models: [`model-${i}`], minMemoryMiB: i }));
    expect(ct.eligibilityMasks.size).toBeLessThanOrEqual(ELIGIBILITY_MASKS_PER_TOPOLOGY);
  });

  it('distinct include/exclude masks: the 2^n decision tables', () => {
    for (let mask = 3; mask < 3000; mask++) {
      const includeGpus = [...Array(16).keys()].filter((i) => mask & (1 << i));
      placeOnNode(state, req({ includeGpus }));
    }
    expect(ct.decisions.size).toBeLessThanOrEqual(DECISION_TABLES_PER_TOPOLOGY);
  });
});

describe('compiled topologies kept for sharing are bounded (npm run fuzz --target gpunode: heap 49 → 215 MiB over 100,000 GPUNodes)', () => {
  it('distinct link matrices and models: at most LINK_TABLES_KEPT matrices and COMPILED_KEPT pairs kept; a hot one stays shared', () => {
    const hot = getPreset('hgx-h100')!;
    const first = compileTopology(hot);
    const cells = ['NV1', 'NV2', 'NV4', 'PIX', 'PXB', 'PHB', 'NODE', 'SYS'];
    for (let i = 0; i < 2000; i++) {
      // A distinct 6-GPU matrix each time (degraded links, edited GPUNodes), distinct models too.
      const n = 6;
      const links = Array.from({ length: n }, () => Array<string>(n).fill('X'));
      let p = 0;
      for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) links[a]![b] = links[b]![a] = cells[Math.floor(i / 8 ** p++) % 8]!; // i in base 8
      compileTopology({ gpus: Array.from({ length: n }, (_, g) => ({ index: g, model: `M${i}` })), links });
      if (i % 50 === 0) expect(compileTopology({ ...hot, gpus: hot.gpus.map((g) => ({ ...g })) })).toBe(first);
    }
    const kept = compiledKept();
    expect(kept.linkTables).toBeLessThanOrEqual(LINK_TABLES_KEPT);
    expect(kept.compiled).toBeLessThanOrEqual(COMPILED_KEPT);
  });
});
