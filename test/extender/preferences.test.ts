import { describe, expect, it } from 'vitest';
import { effectiveGpuCount, parseMemoryMiB, podGpuAsk, requestForNode } from '../../src/extender/preferences.js';
import { getPreset } from '../../src/topology/index.js';
import { withUuids } from './memory-cluster.js';

const c = (gpus: number | string | undefined, extra: Record<string, unknown> = {}) => ({
  name: 'c',
  ...extra,
  resources: gpus === undefined ? {} : { requests: { 'nvidia.com/gpu': gpus } },
});
const pod = (containers: object[], initContainers: object[] = [], annotations: Record<string, string> = {}) => ({
  metadata: { name: 'p', namespace: 'ns', annotations },
  spec: { containers, initContainers },
});

describe('GPU count as kube-scheduler counts it', () => {
  it('sums containers, takes the max with init containers', () => {
    expect(effectiveGpuCount(pod([c('1'), c('2')]))).toEqual({ ok: true, value: 3 });
    expect(effectiveGpuCount(pod([c('1')], [c('4'), c('2')]))).toEqual({ ok: true, value: 4 });
    expect(effectiveGpuCount(pod([c(undefined)]))).toEqual({ ok: true, value: 0 });
  });
  it('adds restartable init containers (sidecars) to the running sum and to later init containers', () => {
    // sidecar 1 + containers 2 = 3; init after the sidecar: 1 + 3 = 4.
    expect(effectiveGpuCount(pod([c('2')], [c('1', { restartPolicy: 'Always' }), c('3')]))).toEqual({ ok: true, value: 4 });
    // init before the sidecar does not add it.
    expect(effectiveGpuCount(pod([c('2')], [c('3'), c('1', { restartPolicy: 'Always' })]))).toEqual({ ok: true, value: 3 });
  });
  it('falls back to limits, and rejects a non-integer with the container named', () => {
    expect(effectiveGpuCount(pod([{ name: 'x', resources: { limits: { 'nvidia.com/gpu': '2' } } }]))).toEqual({ ok: true, value: 2 });
    const bad = effectiveGpuCount(pod([c('1'), { name: 'half', resources: { requests: { 'nvidia.com/gpu': '500m' } } }]));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/spec\.containers\[1\] \(half\).*nvidia\.com\/gpu.*"500m"/);
  });
});

describe('annotations', () => {
  it('defaults: prefer-nvlink, binpack, whole GPUs', () => {
    const a = podGpuAsk(pod([c('2')]));
    expect(a).toEqual({ kind: 'gpu', base: { gpuCount: 2, milliPerGpu: 1000, topology: 'prefer-nvlink', policy: 'binpack' }, requests: { cpuMilli: 0, memoryMiB: 0 } });
  });
  it('parses every linkpack.io annotation', () => {
    const a = podGpuAsk(
      pod([c('1')], [], {
        'linkpack.io/topology': 'any',
        'linkpack.io/policy': 'spread',
        'linkpack.io/gpu-model': 'H100, A100',
        'linkpack.io/gpu-memory-min': '40Gi',
        'linkpack.io/gpu-milli': '250',
        'linkpack.io/include-gpus': 'GPU-a-1,gpu-a-2',
        'linkpack.io/exclude-gpus': 'GPU-a-2',
      }),
    );
    expect(a).toEqual({
      kind: 'gpu',
      base: { gpuCount: 1, milliPerGpu: 250, topology: 'any', policy: 'spread', models: ['H100', 'A100'], minMemoryMiB: 40960 },
      includeUuids: ['GPU-A-1', 'GPU-A-2'],
      excludeUuids: ['GPU-A-2'],
      memoryAnnotation: 'linkpack.io/gpu-memory-min=40Gi',
      requests: { cpuMilli: 0, memoryMiB: 0 },
    });
  });
  it.each([
    ['linkpack.io/topology', 'strict', /linkpack\.io\/topology="strict": accepted values are "require-nvlink", "prefer-nvlink", "any"/],
    ['linkpack.io/policy', 'pack', /linkpack\.io\/policy="pack": accepted values are "binpack", "spread"/],
    ['linkpack.io/gpu-milli', '0', /linkpack\.io\/gpu-milli="0": accepted values are whole numbers 1–1000/],
    ['linkpack.io/gpu-milli', '1001', /gpu-milli/],
    ['linkpack.io/gpu-memory-min', 'lots', /linkpack\.io\/gpu-memory-min="lots": accepted values .*Gi/],
    ['linkpack.io/gpu-model', ' , ', /linkpack\.io\/gpu-model/],
    ['linkpack.io/include-gpus', 'GPU a', /linkpack\.io\/include-gpus=.*comma-separated list of GPU UUIDs/],
    ['linkpack.io/exclude-gpus', '', /linkpack\.io\/exclude-gpus/],
  ])('%s=%j is a clear failure', (key, value, re) => {
    const a = podGpuAsk(pod([c('1')], [], { [key]: value }));
    expect(a.kind).toBe('invalid');
    if (a.kind === 'invalid') expect(a.reason).toMatch(re);
  });
  it('a pod without GPUs is not parsed further (even with a bad annotation)', () => {
    expect(podGpuAsk(pod([c(undefined)], [], { 'linkpack.io/topology': 'bogus' }))).toEqual({ kind: 'none', requests: { cpuMilli: 0, memoryMiB: 0 } });
  });
  it('CPU and memory requests follow kube-scheduler: containers + sidecars, the largest init step, overhead', () => {
    const main = { name: 'main', resources: { requests: { cpu: '1500m', memory: '1Gi', 'nvidia.com/gpu': '1' } } };
    const side = { name: 'side', restartPolicy: 'Always', resources: { requests: { cpu: '250m', memory: '128Mi' } } };
    const init = { name: 'init', resources: { limits: { cpu: '3', memory: '512Mi' } } };
    const p = pod([main], [side, init]);
    (p.spec as Record<string, unknown>).overhead = { cpu: '100m', memory: '64Mi' };
    const a = podGpuAsk(p);
    // cpu: max(1500 + 250, 250 + 3000) + 100; memory: max(1024 + 128, 128 + 512) + 64.
    expect(a.kind === 'gpu' && a.requests).toEqual({ cpuMilli: 3350, memoryMiB: 1216 });
  });
  it('memory sizes', () => {
    expect(parseMemoryMiB('81920')).toBe(81920);
    expect(parseMemoryMiB('80Gi')).toBe(81920);
    expect(parseMemoryMiB('0.5Ti')).toBe(524288);
    expect(parseMemoryMiB('80GB')).toBeUndefined();
  });
});

describe('UUIDs → indices per node', () => {
  it('maps include/exclude through the node topology, ignoring UUIDs that live elsewhere', () => {
    const t = withUuids(getPreset('hgx-h100')!, 'n1');
    const a = podGpuAsk(pod([c('2')], [], { 'linkpack.io/include-gpus': 'GPU-n1-3,GPU-n1-5,GPU-other-1', 'linkpack.io/exclude-gpus': 'GPU-n1-5' }));
    if (a.kind !== 'gpu') throw new Error('expected a GPU ask');
    const r = requestForNode(a, t);
    expect(r.includeGpus).toEqual([3, 5]);
    expect(r.excludeGpus).toEqual([5]);
    const plain = podGpuAsk(pod([c('2')]));
    if (plain.kind !== 'gpu') throw new Error('expected a GPU ask');
    expect(requestForNode(plain, t)).toBe(plain.base);
  });
});
