/**
 * Every recorded `topo -m`, `--query-gpu` and `nvlink -s` sample in ../shared/fixtures/nvidia-smi,
 * checked against values read off the files by hand (not produced by the parser).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { activeLinkSpeedGBps, parseNvlinkStatus } from '../../src/topology/parse-nvlink-status.js';
import { gpuInfoFromQueryRow, parseQueryGpuCsv } from '../../src/topology/parse-query-gpu.js';
import { parseTopoMatrix, type TopoMatrix } from '../../src/topology/parse-topo-matrix.js';
import { expandTabs, parseErrorOf } from '../support/nvidia-smi-fixtures.js';
import { sharedDir } from '../support/paths.js';

const dir = path.join(sharedDir, 'fixtures/nvidia-smi');
const present = existsSync(dir);
const read = (name: string): string => readFileSync(path.join(dir, name), 'utf8');

/** n×n matrix with 'X' on the diagonal and `cell` elsewhere. */
const uniform = (n: number, cell: string): string[][] =>
  Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 'X' : cell)));

const gpusWith = (rows: [cpuAffinity: string | null, numaNode: number | null][]) =>
  rows.map(([cpuAffinity, numaNode], index) => ({ index, cpuAffinity, numaNode }));

type TopoExpectation = (m: TopoMatrix) => void;

const TOPO: Record<string, TopoExpectation | { missing: string }> = {
  'topo-dgx1-v100-mlx5-4nic.txt': (m) => {
    expect(m.topology.links).toEqual([
      ['X', 'NV1', 'NV1', 'NV2', 'NV2', 'SYS', 'SYS', 'SYS'],
      ['NV1', 'X', 'NV2', 'NV1', 'SYS', 'NV2', 'SYS', 'SYS'],
      ['NV1', 'NV2', 'X', 'NV2', 'SYS', 'SYS', 'NV1', 'SYS'],
      ['NV2', 'NV1', 'NV2', 'X', 'SYS', 'SYS', 'SYS', 'NV1'],
      ['NV2', 'SYS', 'SYS', 'SYS', 'X', 'NV1', 'NV1', 'NV2'],
      ['SYS', 'NV2', 'SYS', 'SYS', 'NV1', 'X', 'NV2', 'NV1'],
      ['SYS', 'SYS', 'NV1', 'SYS', 'NV1', 'NV2', 'X', 'NV2'],
      ['SYS', 'SYS', 'SYS', 'NV1', 'NV2', 'NV1', 'NV2', 'X'],
    ]);
    expect(m.topology.links[0][3]).toBe('NV2');
    expect(m.topology.links[0][5]).toBe('SYS');
    const low: [string, null] = ['0-19,40-59', null];
    const high: [string, null] = ['20-39,60-79', null];
    expect(m.topology.gpus).toEqual(gpusWith([low, low, low, low, high, high, high, high]));
    expect(m.nics).toEqual(['mlx5_0', 'mlx5_2', 'mlx5_1', 'mlx5_3'].map((name) => ({ name, device: name })));
    expect(m.gpuNicLinks).toEqual([
      ['PIX', 'SYS', 'PHB', 'SYS'],
      ['PIX', 'SYS', 'PHB', 'SYS'],
      ['PHB', 'SYS', 'PIX', 'SYS'],
      ['PHB', 'SYS', 'PIX', 'SYS'],
      ['SYS', 'PIX', 'SYS', 'PHB'],
      ['SYS', 'PIX', 'SYS', 'PHB'],
      ['SYS', 'PHB', 'SYS', 'PIX'],
      ['SYS', 'PHB', 'SYS', 'PIX'],
    ]);
  },
  'topo-dgx-a100-8gpu-nv12-10nic.txt': (m) => {
    expect(m.topology.links).toEqual(uniform(8, 'NV12'));
    const n3: [string, number] = ['48-63,176-191', 3];
    const n1: [string, number] = ['16-31,144-159', 1];
    const n7: [string, number] = ['112-127,240-255', 7];
    const n5: [string, number] = ['80-95,208-223', 5];
    expect(m.topology.gpus).toEqual(gpusWith([n3, n3, n1, n1, n7, n7, n5, n5]));
    expect(m.nics).toEqual(Array.from({ length: 10 }, (_, i) => ({ name: `NIC${i}`, device: `mlx5_${i}` })));
    // GPU pair 2k, 2k+1 sits behind NICs 2k, 2k+1 (PXB); NIC8/NIC9 are SYS to every GPU.
    const pxbTo = (k: number) => Array.from({ length: 10 }, (_, i) => (i === 2 * k || i === 2 * k + 1 ? 'PXB' : 'SYS'));
    expect(m.gpuNicLinks).toEqual([pxbTo(0), pxbTo(0), pxbTo(1), pxbTo(1), pxbTo(2), pxbTo(2), pxbTo(3), pxbTo(3)]);
  },
  'topo-hgx-a100-4gpu-nv4-1nic.txt': (m) => {
    expect(m.topology.links).toEqual(uniform(4, 'NV4'));
    expect(m.topology.gpus).toEqual(gpusWith([['0-23', 0], ['0-23', 0], ['24-47', 1], ['24-47', 1]]));
    expect(m.nics).toEqual([{ name: 'mlx5_0', device: 'mlx5_0' }]);
    expect(m.gpuNicLinks).toEqual([['NODE'], ['NODE'], ['SYS'], ['SYS']]);
  },
  'topo-hgx-h100-8gpu-nv18-ht.txt': (m) => {
    expect(m.topology.links).toEqual(uniform(8, 'NV18'));
    const a: [string, number] = ['0-51,104-155', 0];
    const b: [string, number] = ['52-103,156-207', 1];
    expect(m.topology.gpus).toEqual(gpusWith([a, a, a, a, b, b, b, b]));
    expect(m.nics).toEqual([]);
    expect(m.gpuNicLinks).toEqual(Array.from({ length: 8 }, () => []));
  },
  'topo-2x-h100-pcie-nvlink-bridge-nv12.txt': (m) => {
    expect(m.topology.links).toEqual([
      ['X', 'NV12'],
      ['NV12', 'X'],
    ]);
    expect(m.topology.gpus).toEqual(gpusWith([['32-63,96-127', 1], ['32-63,96-127', 1]]));
    expect(m.nics).toEqual([]);
  },
  'topo-2x-1080ti-consumer-phb.txt': (m) => {
    expect(m.topology.links).toEqual([
      ['X', 'PHB'],
      ['PHB', 'X'],
    ]);
    expect(m.topology.gpus).toEqual(gpusWith([['0-11', null], ['0-11', null]]));
    expect(m.nics).toEqual([]);
  },
  'topo-4x-a10-pcie-sys-2nic.txt': (m) => {
    expect(m.topology.links).toEqual(uniform(4, 'SYS'));
    expect(m.topology.gpus).toEqual(gpusWith([['0-127', 0], ['0-127', 0], ['0-127', 0], ['0-127', 0]]));
    expect(m.nics).toEqual([
      { name: 'NIC0', device: 'mlx5_0' },
      { name: 'NIC1', device: 'mlx5_1' },
    ]);
    expect(m.gpuNicLinks).toEqual(Array.from({ length: 4 }, () => ['SYS', 'SYS']));
  },
  'topo-8x-rtx4090-pcie-all-sys-2nic.txt': (m) => {
    expect(m.topology.links).toEqual(uniform(8, 'SYS'));
    const a: [string, number] = ['0-55,112-167', 0];
    const b: [string, number] = ['56-111,168-223', 1];
    expect(m.topology.gpus).toEqual(gpusWith([a, a, a, a, b, b, b, b]));
    // The post has no NIC Legend, so the devices behind NIC0/NIC1 are unknown.
    expect(m.nics).toEqual([{ name: 'NIC0' }, { name: 'NIC1' }]);
    const sys = ['SYS', 'SYS'];
    expect(m.gpuNicLinks).toEqual([sys, sys, sys, sys, sys, sys, ['PHB', 'PHB'], sys]);
  },
  'topo-8x-v100-sxm2-cubemesh-2nic-partial.txt': { missing: 'header lists GPU0..GPU7 but no row for GPU7' },
  'topo-dgx2-v100-16gpu-nvswitch-nv6-partial.txt': { missing: 'header lists GPU0..GPU15 but no row for GPU4' },
};

type QueryExpectation = () => void;

const QUERY: Record<string, QueryExpectation> = {
  'query-gpu-a10-with-units.csv': () => {
    const rows = parseQueryGpuCsv(read('query-gpu-a10-with-units.csv'));
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual({
      line: 2,
      fields: {
        timestamp: '2024/01/16 14:44:16.977',
        pstate: 'P8',
        'temperature.gpu': 25,
        'utilization.gpu': 0,
        'utilization.memory': 0,
        'memory.total': 23028,
        'memory.free': 22494,
        'memory.used': 21,
      },
    });
    expect(rows.map((r) => [r.fields['temperature.gpu'], r.fields['memory.free'], r.fields['memory.used']])).toEqual([
      [25, 22494, 21],
      [24, 22508, 7],
      [23, 22508, 7],
      [26, 22508, 7],
      [25, 22494, 21],
    ]);
    expect(rows[4].fields.timestamp).toBe('2024/01/16 14:44:17.095');
    expect(gpuInfoFromQueryRow(rows[0])).toEqual({ memoryMiB: 23028 });
  },
  'query-gpu-gb10-dgx-spark-na-memory.csv': () => {
    const rows = parseQueryGpuCsv(read('query-gpu-gb10-dgx-spark-na-memory.csv'));
    expect(rows.map((r) => r.fields)).toEqual(
      ['55.751', '56.756', '57.757', '58.757', '59.758'].map((s, i) => ({
        timestamp: `2025/11/24 14:08:${s}`,
        'utilization.gpu': i === 1 ? 2 : 0,
        'memory.used': null,
        'temperature.gpu': 38,
      })),
    );
  },
  'query-gpu-noheader-nounits-fan-notsupported-old-driver.csv': () => {
    const text = read('query-gpu-noheader-nounits-fan-notsupported-old-driver.csv');
    expect(() => parseQueryGpuCsv(text)).toThrow(/opts\.fields must list/);
    const fields = 'memory.total,memory.free,memory.used,temperature.gpu,fan.speed,utilization.gpu,utilization.memory';
    expect(parseQueryGpuCsv(text, { fields })).toEqual([
      {
        line: 1,
        fields: {
          'memory.total': 2004,
          'memory.free': 2004,
          'memory.used': 0,
          'temperature.gpu': 44,
          'fan.speed': null,
          'utilization.gpu': 0,
          'utilization.memory': 0,
        },
      },
    ]);
  },
  'query-gpu-rtx2080-noheader-nounits-bare-na.csv': () => {
    // The field list is the one gpu-utils printed in the same issue turn (Ricks-Lab/gpu-utils#83).
    const fields =
      'power.limit,power.min_limit,power.max_limit,memory.total,vbios_version,driver_version,name,gpu_uuid,power.draw,temperature.gpu,temperature.memory,clocks.current.graphics,clocks.sm,clocks.mem,utilization.gpu,utilization.memory,fan.speed,pcie.link.width.current,pstate';
    const rows = parseQueryGpuCsv(read('query-gpu-rtx2080-noheader-nounits-bare-na.csv'), { fields });
    expect(rows.map((r) => r.fields)).toEqual([
      {
        'power.limit': 200,
        'power.min_limit': 105,
        'power.max_limit': 292,
        'memory.total': 7979,
        vbios_version: '90.04.23.00.5F',
        driver_version: '440.64',
        name: 'GeForce RTX 2080',
        uuid: 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a',
        'power.draw': 176.98,
        'temperature.gpu': 45,
        'temperature.memory': null,
        'clocks.current.graphics': 1965,
        'clocks.current.sm': 1965,
        'clocks.current.memory': 7199,
        'utilization.gpu': 86,
        'utilization.memory': 55,
        'fan.speed': 100,
        'pcie.link.width.current': 8,
        pstate: 'P2',
      },
    ]);
    expect(gpuInfoFromQueryRow(rows[0])).toEqual({
      uuid: 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a',
      model: 'GeForce RTX 2080',
      memoryMiB: 7979,
    });
  },
  'query-gpu-tesla-p100-pcie-netdata.csv': () => {
    // Header with units, values without (nounits), no final newline.
    const rows = parseQueryGpuCsv(read('query-gpu-tesla-p100-pcie-netdata.csv'));
    expect(rows).toEqual([
      {
        line: 2,
        fields: {
          name: 'Tesla P100-PCIE-16GB',
          uuid: 'GPU-ef1b2c9b-38d8-2090-2bd1-f567a3eb42a6',
          'fan.speed': null,
          pstate: 'P0',
          'memory.reserved': 103,
          'memory.used': 0,
          'memory.free': 16280,
          'utilization.gpu': 0,
          'utilization.memory': 0,
          'temperature.gpu': 37,
          'power.draw': 28.16,
          'clocks.current.graphics': 405,
          'clocks.current.sm': 405,
          'clocks.current.memory': 715,
          'clocks.current.video': 835,
        },
      },
    ]);
    expect(gpuInfoFromQueryRow(rows[0])).toEqual({ uuid: 'GPU-ef1b2c9b-38d8-2090-2bd1-f567a3eb42a6', model: 'Tesla P100-PCIE-16GB' });
  },
};

const NVLINK: Record<string, QueryExpectation> = {
  'nvlink-s-2x-h100-pcie-bridge-inactive-links.txt': () => {
    const status = parseNvlinkStatus(read('nvlink-s-2x-h100-pcie-bridge-inactive-links.txt'));
    const inactive = new Set([4, 5, 10, 11, 16, 17]);
    const links = Array.from({ length: 18 }, (_, link) => ({ link, speedGBps: inactive.has(link) ? null : 26.562 }));
    expect(status).toEqual([
      { index: 0, name: 'NVIDIA H100 PCIe', uuid: 'GPU-6968dfc2-d444-d92c-c36b-6abe53445cb9', links, allInactive: false },
      { index: 1, name: 'NVIDIA H100 PCIe', uuid: 'GPU-9b1446e2-8a89-4cf6-b68c-a98d99e958d3', links, allInactive: false },
    ]);
    expect(activeLinkSpeedGBps(status)).toBe(26.562);
  },
  'nvlink-s-2x-a100-pcie-no-nvlink.txt': () => {
    const status = parseNvlinkStatus(read('nvlink-s-2x-a100-pcie-no-nvlink.txt'));
    expect(status).toEqual([
      { index: 0, name: 'NVIDIA A100-PCIE-40GB', uuid: 'GPU-3fb142e7-7102-c7ac-bd5a-fc829e11ed84', links: [], allInactive: true },
      { index: 1, name: 'NVIDIA A100-PCIE-40GB', uuid: 'GPU-14ac2834-0d81-0508-69eb-e25264c08d21', links: [], allInactive: true },
    ]);
    expect(activeLinkSpeedGBps(status)).toBeNull();
  },
};

describe.skipIf(!present)(`recorded nvidia-smi samples in ${dir}`, () => {
  const files = present ? readdirSync(dir) : [];

  it('has an expectation for every topo-*, query-gpu-* and nvlink-s-* sample', () => {
    const ours = [...Object.keys(TOPO), ...Object.keys(QUERY), ...Object.keys(NVLINK)].sort();
    expect(files.filter((f) => /^(topo-.*\.txt|query-gpu-.*\.csv|nvlink-s-.*\.txt)$/.test(f)).sort()).toEqual(ours);
  });

  it.each(Object.entries(TOPO))('topo -m: %s', (file, expectation) => {
    if (typeof expectation === 'function') {
      expectation(parseTopoMatrix(read(file), file));
      // The same sample with TABs expanded (or, for space copies, unchanged) reads the same.
      expectation(parseTopoMatrix(expandTabs(read(file)), file));
      return;
    }
    const err = parseErrorOf(() => parseTopoMatrix(read(file), file));
    expect(err.message).toContain(expectation.missing);
    expect(err.source).toBe(file);
  });

  it.each(Object.keys(QUERY))('--query-gpu: %s', (file) => QUERY[file]());
  it.each(Object.keys(NVLINK))('nvlink -s: %s', (file) => NVLINK[file]());
});

// Registered only when the data is absent, so a run with it shows no misleading skip.
if (!present) describe('recorded nvidia-smi samples', () => {
  it.skip(`skipped: ${dir} not found (set LINKPACK_SHARED to the shared folder to run these)`, () => {});
});
