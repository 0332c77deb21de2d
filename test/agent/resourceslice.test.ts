import { describe, expect, it } from 'vitest';
import { DRA_DRIVER, DRA_TAINT_UNHEALTHY } from '../../src/api/dra.js';
import { mibQuantity, nvlinkIslandIds, resourceSliceName, resourceSliceObject, standardBusId, taintValue } from '../../src/agent/resourceslice.js';
import { getPreset } from '../../src/topology/index.js';

const preset = (name: string) => getPreset(name)!;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

describe('ResourceSlice builder', () => {
  it('one device per GPU, pool = node, driver, nodeName, generation', () => {
    const s = resourceSliceObject('n1', preset('hgx-h100'), { generation: 4 });
    expect(s.apiVersion).toBe('resource.k8s.io/v1');
    expect(s.kind).toBe('ResourceSlice');
    expect(s.metadata.name).toBe(resourceSliceName('n1'));
    expect(s.spec).toMatchObject({ driver: DRA_DRIVER, nodeName: 'n1', pool: { name: 'n1', generation: 4, resourceSliceCount: 1 } });
    expect(s.spec.devices.map((d) => d.name)).toEqual(['gpu-0', 'gpu-1', 'gpu-2', 'gpu-3', 'gpu-4', 'gpu-5', 'gpu-6', 'gpu-7']);
    expect(s.metadata.ownerReferences).toBeUndefined();
    expect(resourceSliceObject('n1', preset('hgx-h100'), { nodeUid: 'u-1' }).metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'u-1', controller: false, blockOwnerDeletion: false },
    ]);
  });

  it('attributes: index, model, uuid, numaNode, pciBusID, pcieRoot where known; capacity memory in Mi', () => {
    const t = preset('hgx-h100');
    t.gpus[2]!.uuid = 'GPU-aaaa';
    t.gpus[3]!.numaNode = null; // N/A: no NUMA affinity, so no attribute
    const s = resourceSliceObject('n1', t, { pciBusIds: { 2: '00000000:8A:00.0' }, pcieRoots: { 2: 'pci0000:80' } });
    const d2 = s.spec.devices[2]!;
    expect(d2.attributes).toEqual({
      index: { int: 2 },
      nvlinkIsland: { int: 0 },
      uuid: { string: 'GPU-aaaa' },
      model: { string: 'NVIDIA H100 80GB HBM3' },
      'resource.kubernetes.io/pcieRoot': { string: 'pci0000:80' },
      'resource.kubernetes.io/pciBusID': { string: '0000:8a:00.0' },
      'resource.kubernetes.io/numaNode': { int: 0 },
    });
    expect(d2.capacity).toEqual({ memory: { value: '81559Mi' } });
    expect(s.spec.devices[3]!.attributes!['resource.kubernetes.io/numaNode']).toBeUndefined();
    expect(s.spec.devices[0]!.attributes!.uuid).toBeUndefined();
    expect(s.spec.devices[0]!.attributes!['resource.kubernetes.io/pcieRoot']).toBeUndefined();
  });

  it('island ids are equal exactly within an NVLink-connected component', () => {
    expect(nvlinkIslandIds(preset('pcie-8x-nvlink-pairs'))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(nvlinkIslandIds(preset('dgx1-v100'))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // No NVLink at all: every GPU is an island of its own, so matchAttribute never pairs two.
    expect(nvlinkIslandIds(preset('pcie-4x'))).toEqual([0, 1, 2, 3]);
    const s = resourceSliceObject('p', preset('pcie-8x-nvlink-pairs'));
    expect(s.spec.devices.map((d) => d.attributes!.nvlinkIsland)).toEqual([0, 0, 1, 1, 2, 2, 3, 3].map((i) => ({ int: i })));
  });

  it('a degraded NVLink splits the island: ids are recomputed without it', () => {
    expect(nvlinkIslandIds(preset('pcie-8x-nvlink-pairs'), [{ gpus: [2, 3], reasons: ['link down'] }])).toEqual([0, 0, 1, 2, 3, 3, 4, 4]);
    // On a DGX-1, GPU 0 losing its links to 1, 2, 3 and 4 cuts it off; the rest stay one island.
    const cut = [1, 2, 3, 4].map((p) => ({ gpus: [0, p] as [number, number], reasons: ['GPU 0 link inactive'] }));
    expect(nvlinkIslandIds(preset('dgx1-v100'), cut)).toEqual([0, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('an Unhealthy or Unknown GPU carries the NoSchedule taint with its reason as a label value', () => {
    const s = resourceSliceObject('n1', preset('dgx-a100'), {
      health: {
        0: { health: 'Healthy', reasons: [] },
        1: { health: 'Unhealthy', reasons: ['uncorrected ECC errors since driver load: 2'] },
        5: { health: 'Unknown', reasons: [] },
      },
    });
    expect(s.spec.devices[0]!.taints).toBeUndefined();
    expect(s.spec.devices[2]!.taints).toBeUndefined();
    expect(s.spec.devices[1]!.taints).toEqual([{ key: DRA_TAINT_UNHEALTHY, value: 'uncorrected-ECC-errors-since-driver-load-2', effect: 'NoSchedule' }]);
    expect(s.spec.devices[5]!.taints).toEqual([{ key: DRA_TAINT_UNHEALTHY, value: 'health-unknown', effect: 'NoSchedule' }]);
  });

  it('taint values stay valid label values whatever the reason', () => {
    for (const r of ['', '---', 'nvidia-smi reports [GPU requires reset]', 'x'.repeat(200), 'GPU lost: Unable to determine the device handle for GPU 0000:8A:00.0: GPU is lost. Reboot…']) {
      const v = taintValue(r);
      expect(v.length).toBeGreaterThan(0);
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(LABEL_VALUE);
    }
  });

  it('memory as the canonical Quantity the API server stores', () => {
    expect([81559, 40960, 1024 * 1024 * 2, 0, 1536].map(mibQuantity)).toEqual(['81559Mi', '40Gi', '2Ti', '0', '1536Mi']);
    expect(resourceSliceObject('n', preset('dgx-a100')).spec.devices[0]!.capacity).toEqual({ memory: { value: '40Gi' } });
  });

  it('bus ids in the standard BDF form; long strings cut to the 64-character attribute limit', () => {
    expect(standardBusId('00000000:8A:00.0')).toBe('0000:8a:00.0');
    expect(standardBusId('0000:8a:00.0')).toBe('0000:8a:00.0');
    expect(standardBusId('garbage')).toBeUndefined();
    const t = preset('pcie-4x');
    t.gpus[0]!.model = 'M'.repeat(100);
    expect((resourceSliceObject('n', t).spec.devices[0]!.attributes!.model as { string: string }).string).toHaveLength(64);
  });
});
