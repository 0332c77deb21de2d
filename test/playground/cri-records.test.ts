import { describe, expect, it } from 'vitest';
import { configGpus, containerGpus, doubleAllocations, type CriRecord } from '../../src/playground/cri-records.js';
import { overrideFlags, linkpackContainers } from '../../src/playground/workloads.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const create = (id: string, pod: string, env: Record<string, string>, s: number, cdi: string[] = []): CriRecord => ({ event: 'create', time: at(s), containerId: id, podNamespace: 'ml', podName: pod, envs: env, cdiDevices: cdi });
const ev = (event: CriRecord['event'], id: string, s: number): CriRecord => ({ event, time: at(s), containerId: id });

describe('the fake runtime records', () => {
  it('reads GPUs from NVIDIA_VISIBLE_DEVICES and from CDI names, ignoring all/none', () => {
    expect(configGpus(create('c', 'p', { NVIDIA_VISIBLE_DEVICES: 'GPU-a,GPU-b' }, 0))).toEqual(['GPU-a', 'GPU-b']);
    expect(configGpus(create('c', 'p', {}, 0, ['nvidia.com/gpu=GPU-c']))).toEqual(['GPU-c']);
    expect(configGpus(create('c', 'p', { NVIDIA_VISIBLE_DEVICES: 'all' }, 0))).toEqual([]);
  });

  it('finds two running containers holding one GPU, and not one that ended before the other started', () => {
    const records = [
      create('a', 'p1', { NVIDIA_VISIBLE_DEVICES: 'GPU-1,GPU-2' }, 0),
      ev('start', 'a', 1),
      create('b', 'p2', { NVIDIA_VISIBLE_DEVICES: 'GPU-2' }, 2),
      ev('start', 'b', 3),
      ev('exit', 'a', 4),
      create('c', 'p3', { NVIDIA_VISIBLE_DEVICES: 'GPU-1' }, 5),
      ev('start', 'c', 6),
    ];
    const held = containerGpus('n1', records);
    expect(held.map((c) => [c.pod, c.endMs === Infinity])).toEqual([['ml/p1', false], ['ml/p2', true], ['ml/p3', true]]);
    expect(doubleAllocations(held)).toEqual(['GPU-2 on n1: ml/p1 and ml/p2 at once']);
    expect(doubleAllocations(containerGpus('n1', records.filter((r) => r.containerId !== 'b')))).toEqual([]);
  });

  it('a container created but never started holds nothing', () => {
    expect(containerGpus('n1', [create('a', 'p1', { NVIDIA_VISIBLE_DEVICES: 'GPU-1' }, 0)])).toEqual([]);
  });
});

describe('the chart as local processes', () => {
  it('replaces a flag given as --f=v or --f v, appends a missing one, drops a false one', () => {
    expect(overrideFlags(['agent', '--port=9400', '--host', '0.0.0.0', '--once'], { '--port': '1', '--host': '127.0.0.1', '--kubeconfig': 'k', '--once': false })).toEqual(['agent', '--port=1', '--host=127.0.0.1', '--kubeconfig=k']);
  });

  it("runs a container's shipped command from this checkout, with $(VAR) from the pod's env", () => {
    const ds = {
      kind: 'DaemonSet',
      metadata: { name: 'lp-node', namespace: 'linkpack-system' },
      spec: { template: { spec: { serviceAccountName: 'lp-agent', containers: [
        { name: 'agent', command: ['node', '--lite-mode', '/app/dist/src/agent/main.js', 'agent'], args: ['--node-name=$(NODE_NAME)'], env: [{ name: 'A', value: '1' }, { name: 'NODE_NAME', valueFrom: {} }] },
        { name: 'kube-scheduler', command: ['kube-scheduler'] },
      ] } } },
    };
    const [c, ...rest] = linkpackContainers(ds, '/repo', { NODE_NAME: 'n1' });
    expect(rest).toEqual([]);
    expect(c).toEqual({ source: 'DaemonSet/lp-node agent', serviceAccount: 'lp-agent', namespace: 'linkpack-system', nodeArgs: ['--lite-mode'], script: '/repo/dist/src/agent/main.js', args: ['agent', '--node-name=n1'], env: { A: '1' } });
  });
});
