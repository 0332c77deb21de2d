import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileTopology } from '../../src/core/index.js';
import { getPreset, islands, linkBandwidthGBps, listPresets, parseTopoMatrix, subTopology } from '../../src/topology/index.js';
import { hasShared, sharedFixture } from '../support/paths.js';

describe('presets', () => {
  it('every preset is a valid topology the core compiles', () => {
    for (const { name } of listPresets()) {
      const t = getPreset(name)!;
      expect(t.links.length, name).toBe(t.gpus.length);
      expect(() => compileTopology(t), name).not.toThrow();
    }
  });

  it('DGX-1 V100 has the go-gpuallocator cube-mesh: 6 NVLinks per GPU, 16 NVLinked pairs', () => {
    const t = getPreset('dgx1-v100')!;
    const links = (i: number) => t.links[i].reduce((a, c) => a + (/^NV(\d+)$/.exec(c) ? Number(/^NV(\d+)$/.exec(c)![1]) : 0), 0);
    for (let i = 0; i < 8; i++) expect(links(i)).toBe(6);
    const pairs = t.links.flatMap((row, i) => row.filter((c, j) => j > i && c.startsWith('NV'))).length;
    expect(pairs).toBe(16);
    expect(t.links[0][6]).toBe('SYS');
    expect(t.links[1][5]).toBe('NV2');
  });

  it('islands: NVSwitch boxes are one island, bridged pairs are pairs, PCIe boxes are singletons', () => {
    expect(islands(getPreset('dgx2')!)).toHaveLength(1);
    expect(islands(getPreset('pcie-8x-nvlink-pairs')!)).toEqual([[0, 1], [2, 3], [4, 5], [6, 7]]);
    expect(islands(getPreset('pcie-4x')!)).toEqual([[0], [1], [2], [3]]);
  });

  it('bandwidth estimates order link kinds as the legend does', () => {
    const order = ['NV2', 'NV1', 'PIX', 'PXB', 'PHB', 'NODE', 'SYS'].map((c) => linkBandwidthGBps(c, 25));
    for (let i = 1; i < order.length; i++) expect(order[i]).toBeLessThan(order[i - 1]);
    expect(() => linkBandwidthGBps('NVX')).toThrow(/not a topology legend value/);
  });

  it('subTopology renumbers and keeps the links (the V100 quad of the simulator)', () => {
    const quad = subTopology(getPreset('dgx1-v100')!, [4, 5, 6, 7]);
    expect(quad.gpus.map((g) => g.index)).toEqual([0, 1, 2, 3]);
    expect(quad.links[0][3]).toBe('NV2'); // 4–7
  });

  // The presets must say what the real machines say: compare with the recorded topo -m outputs.
  const recorded: Array<[string, string]> = [
    ['dgx1-v100', 'topo-dgx1-v100-mlx5-4nic.txt'],
    ['dgx-a100', 'topo-dgx-a100-8gpu-nv12-10nic.txt'],
    ['hgx-h100', 'topo-hgx-h100-8gpu-nv18-ht.txt'],
    ['nvlink-bridge-2x', 'topo-2x-h100-pcie-nvlink-bridge-nv12.txt'],
  ];
  for (const [preset, file] of recorded) {
    it.skipIf(!hasShared)(`${preset} link matrix equals the recorded ${file}`, () => {
      const real = parseTopoMatrix(readFileSync(sharedFixture(file), 'utf8'), file).topology;
      expect(getPreset(preset)!.links).toEqual(real.links);
    });
  }
});
