/**
 * Wire contract: requests exactly as kube-scheduler sends them (capitalised keys, null for the
 * unused field, full Kubernetes objects), answers read as kube-scheduler reads them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { getPreset } from '../../src/topology/index.js';
import { buildExtenderServer } from '../../src/extender/server.js';
import { ANN_ASSIGNED_AT, ANN_ASSIGNED_GPUS, ANN_DECISION, ANN_GPU_MILLI, ANN_POLICY, ANN_TOPOLOGY, parseAssignedGpus } from '../../src/api/annotations.js';
import { MemoryCluster, RecordingBinder, withUuids } from './memory-cluster.js';
import { argsByName, argsByNodes, schedulerNode, schedulerPod } from './fixtures.js';

const h100 = () => withUuids(getPreset('hgx-h100')!, 'h');
const NAMES = ['h100-a', 'h100-b', 'pcie', 'small', 'ghost'];

let cluster: MemoryCluster;
let binder: RecordingBinder;
let app: FastifyInstance;

beforeEach(async () => {
  cluster = new MemoryCluster();
  cluster.addNode('h100-a', h100());
  cluster.addNode('h100-b', h100());
  cluster.addNode('pcie', withUuids(getPreset('pcie-8x-2socket')!, 'p'));
  cluster.addNode('small', withUuids(getPreset('nvlink-bridge-2x')!, 's'));
  cluster.hold({ uid: 'busy', namespace: 'ml', name: 'busy', node: 'h100-b', gpus: [0, 1, 2, 3, 4, 5].map((index) => ({ index })), milliPerGpu: 1000 });
  binder = new RecordingBinder();
  app = buildExtenderServer({ cluster, binder, now: () => Date.parse('2026-11-26T12:00:00Z') });
  await app.ready();
});
afterEach(async () => {
  await app.close();
});

const post = (url: string, body: unknown) => app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

describe('filter', () => {
  it('nodeCacheCapable: true — answers NodeNames, a reason for every refused node, resolvable or not', async () => {
    const pod = schedulerPod('w0', 4, { [ANN_TOPOLOGY]: 'require-nvlink' });
    const res = await post('/filter', argsByName(pod, NAMES));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['Error', 'FailedAndUnresolvableNodes', 'FailedNodes', 'NodeNames', 'Nodes']);
    expect(body.Nodes).toBeNull();
    expect(body.Error).toBe('');
    expect(body.NodeNames).toEqual(['h100-a']);
    // h100-b has 2 free GPUs of 8: preemption could help.
    expect(Object.keys(body.FailedNodes)).toEqual(['h100-b']);
    expect(body.FailedNodes['h100-b']).toBe('only 2 free GPUs, 4 asked (GPUs 0,1,2,3,4,5 in use)');
    // PCIe box never has NVLink, the bridge box has 2 GPUs, ghost has no GPUNode: no eviction helps.
    expect(Object.keys(body.FailedAndUnresolvableNodes).sort()).toEqual(['ghost', 'pcie', 'small']);
    expect(body.FailedAndUnresolvableNodes.pcie).toMatch(/NVLink/);
    expect(body.FailedAndUnresolvableNodes.ghost).toMatch(/GPUNode/);
    // Every name we return was in the input (else kube-scheduler rejects the whole answer).
    for (const n of body.NodeNames) expect(NAMES).toContain(n);
  });

  it('nodeCacheCapable: false — returns the passing Node objects themselves in Nodes.items', async () => {
    const nodes = NAMES.map((n) => schedulerNode(n, 8));
    const pod = schedulerPod('w1', 2);
    const res = await post('/filter', argsByNodes(pod, nodes));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.NodeNames).toBeNull();
    const passed = body.Nodes.items.map((n: { metadata: { name: string } }) => n.metadata.name);
    expect(passed).toEqual(['h100-a', 'h100-b', 'pcie', 'small']);
    // Whole objects, unchanged: the scheduler uses what we return.
    expect(body.Nodes.items[2]).toEqual(nodes[2]);
    expect(Object.keys(body.FailedAndUnresolvableNodes)).toEqual(['ghost']);
  });

  it('an invalid annotation fails the pod everywhere, naming the annotation and the accepted values', async () => {
    const pod = schedulerPod('w2', 2, { [ANN_TOPOLOGY]: 'nvlink-please' });
    const body = (await post('/filter', argsByName(pod, NAMES))).json();
    expect(body.NodeNames).toEqual([]);
    expect(Object.keys(body.FailedAndUnresolvableNodes).sort()).toEqual([...NAMES].sort());
    const reason = body.FailedAndUnresolvableNodes['h100-a'];
    expect(reason).toContain('linkpack.io/topology');
    expect(reason).toContain('"nvlink-please"');
    for (const v of ['require-nvlink', 'prefer-nvlink', 'any']) expect(reason).toContain(v);
  });

  it('include-gpus names UUIDs of one node: other nodes cannot satisfy it, and no preemption helps', async () => {
    const pod = schedulerPod('pin', 2, { 'linkpack.io/include-gpus': 'GPU-s-0,GPU-s-1' });
    const body = (await post('/filter', argsByName(pod, NAMES))).json();
    expect(body.NodeNames).toEqual(['small']);
    expect(body.FailedAndUnresolvableNodes['h100-a']).toBe('none of include-gpus is on this node');
  });

  it('a GPU share above one GPU is refused with the annotation name', async () => {
    const body = (await post('/filter', argsByName(schedulerPod('w3', 2, { [ANN_GPU_MILLI]: '500' }), NAMES))).json();
    expect(body.FailedAndUnresolvableNodes['h100-a']).toMatch(/linkpack\.io\/gpu-milli.*exactly 1/);
  });

  it('pods without GPUs pass every node; prioritize ranks a node without GPUs first, then the GPU node whose GPUs are most used', async () => {
    const pod = schedulerPod('web', 0);
    const f = (await post('/filter', argsByName(pod, NAMES))).json();
    expect(f.NodeNames).toEqual(NAMES);
    expect(f.FailedNodes).toEqual({});
    const p = await post('/prioritize', argsByName(pod, NAMES));
    expect(p.statusCode).toBe(200);
    const score = Object.fromEntries((p.json() as { Host: string; Score: number }[]).map((h) => [h.Host, h.Score]));
    expect(Object.keys(score)).toEqual(NAMES);
    // ghost has no GPUNode: the pod strands no GPU there. h100-b has 6 of 8 GPUs in use.
    expect(score.ghost).toBe(10);
    for (const n of ['h100-a', 'pcie', 'small']) expect(score['h100-b']).toBeGreaterThan(score[n]!);
    for (const n of NAMES) expect(score[n]).toBeGreaterThanOrEqual(1);
  });
});

describe('prioritize', () => {
  it('answers a HostPriorityList: one {Host, Score} per input node, integers 0..10, best node highest', async () => {
    const pod = schedulerPod('w4', 2, { [ANN_POLICY]: 'binpack' });
    const res = await post('/prioritize', argsByName(pod, ['h100-a', 'h100-b', 'pcie', 'ghost']));
    expect(res.statusCode).toBe(200);
    const list = res.json() as { Host: string; Score: number }[];
    expect(list.map((h) => h.Host)).toEqual(['h100-a', 'h100-b', 'pcie', 'ghost']);
    for (const h of list) {
      expect(Object.keys(h).sort()).toEqual(['Host', 'Score']);
      expect(Number.isInteger(h.Score) && h.Score >= 0 && h.Score <= 10).toBe(true);
    }
    const score = Object.fromEntries(list.map((h) => [h.Host, h.Score]));
    expect(score.ghost).toBe(0);
    // binpack: the partly used NVSwitch box (2 free, exactly the ask) beats the empty one; NVLink beats PCIe.
    expect(score['h100-b']).toBeGreaterThan(score['h100-a']);
    expect(score['h100-a']).toBeGreaterThan(score.pcie);
  });

  it('works with full Node objects (nodeCacheCapable: false)', async () => {
    const res = await post('/prioritize', argsByNodes(schedulerPod('w5', 1), [schedulerNode('h100-a', 8), schedulerNode('pcie', 8)]));
    expect(res.json().map((h: { Host: string }) => h.Host)).toEqual(['h100-a', 'pcie']);
  });
});

describe('bind', () => {
  it('re-runs the core on the chosen node, writes the decision annotations with a resourceVersion precondition, and binds', async () => {
    const pod = schedulerPod('w6', 4, { [ANN_TOPOLOGY]: 'require-nvlink' });
    cluster.addPod(pod);
    const res = await post('/bind', { PodName: 'w6', PodNamespace: 'ml', PodUID: pod.metadata.uid, Node: 'h100-a' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ Error: '' });
    expect(binder.calls).toHaveLength(1);
    const call = binder.calls[0]!;
    expect(call).toMatchObject({ namespace: 'ml', name: 'w6', uid: pod.metadata.uid, node: 'h100-a', resourceVersion: '48213' });
    const assigned = parseAssignedGpus(call.annotations[ANN_ASSIGNED_GPUS]!);
    expect(assigned.ok).toBe(true);
    if (!assigned.ok) return;
    expect(assigned.value).toHaveLength(4);
    for (const g of assigned.value) expect(g.uuid).toBe(`GPU-h-${g.index}`);
    expect(call.annotations[ANN_ASSIGNED_AT]).toBe('2026-11-26T12:00:00.000Z');
    expect(call.annotations[ANN_DECISION]).toMatch(/^node h100-a, GPUs \d,\d,\d,\d: NVLink all pairs/);
    expect(call.eventMessage).not.toContain('\n');
    expect(call.eventMessage).toMatch(/h100-a.*GPUs.*NVLink/);
    // The decision counts at once: a second 8-GPU pod no longer fits there.
    const big = schedulerPod('w7', 8);
    cluster.addPod(big);
    const second = (await post('/bind', { PodName: 'w7', PodNamespace: 'ml', PodUID: big.metadata.uid, Node: 'h100-a' })).json();
    expect(second.Error).toMatch(/no longer fits on h100-a/);
  });

  it('revalidates: a node that cannot hold the pod is refused with a clear error, nothing written', async () => {
    const pod = schedulerPod('w8', 4, { [ANN_TOPOLOGY]: 'require-nvlink' });
    cluster.addPod(pod);
    const res = (await post('/bind', { PodName: 'w8', PodNamespace: 'ml', PodUID: pod.metadata.uid, Node: 'pcie' })).json();
    expect(res.Error).toMatch(/w8 no longer fits on pcie/);
    expect(binder.calls).toHaveLength(0);
  });

  it('an API failure un-assumes the GPUs and reports the error', async () => {
    const pod = schedulerPod('w9', 8);
    cluster.addPod(pod);
    binder.failWith = new Error('Operation cannot be fulfilled on pods "w9": the object has been modified (409)');
    const res = (await post('/bind', { PodName: 'w9', PodNamespace: 'ml', PodUID: pod.metadata.uid, Node: 'h100-a' })).json();
    expect(res.Error).toMatch(/409/);
    expect(cluster.assignmentsOn('h100-a')).toEqual([]);
    binder.failWith = undefined;
    expect((await post('/bind', { PodName: 'w9', PodNamespace: 'ml', PodUID: pod.metadata.uid, Node: 'h100-a' })).json()).toEqual({ Error: '' });
  });

  it('an unknown pod or a uid mismatch is an Error, not a crash', async () => {
    expect((await post('/bind', { PodName: 'nope', PodNamespace: 'ml', PodUID: 'x', Node: 'h100-a' })).json().Error).toMatch(/neither in the extender's cache nor in a filter\/prioritize call/);
    const pod = schedulerPod('w10', 1);
    cluster.addPod(pod);
    expect((await post('/bind', { PodName: 'w10', PodNamespace: 'ml', PodUID: 'other', Node: 'h100-a' })).json().Error).toMatch(/uid/);
  });
});

describe('preempt', () => {
  beforeEach(() => {
    // h100-a: four 2-GPU pods fill it.
    for (let i = 0; i < 4; i++) {
      const p = schedulerPod(`v${i}`, 2, {}, `uid-v${i}`);
      cluster.addPod({ ...p, spec: { ...p.spec, priority: i } });
      cluster.hold({ uid: `uid-v${i}`, namespace: 'ml', name: `v${i}`, node: 'h100-a', gpus: [2 * i, 2 * i + 1].map((index) => ({ index })), milliPerGpu: 1000 });
    }
  });

  it('meta victims (nodeCacheCapable: true): keeps the fewest victims that free a fitting set, drops hopeless nodes', async () => {
    const pod = schedulerPod('hi', 2, { [ANN_TOPOLOGY]: 'require-nvlink' });
    const res = await post('/preempt', {
      Pod: pod,
      NodeNameToVictims: null,
      NodeNameToMetaVictims: {
        'h100-a': { Pods: [0, 1, 2, 3].map((i) => ({ UID: `uid-v${i}` })), NumPDBViolations: 0 },
        ghost: { Pods: [{ UID: 'uid-x' }], NumPDBViolations: 0 },
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['NodeNameToMetaVictims']);
    expect(Object.keys(body.NodeNameToMetaVictims)).toEqual(['h100-a']);
    // One 2-GPU pod is enough; the lowest priority one goes.
    expect(body.NodeNameToMetaVictims['h100-a']).toEqual({ Pods: [{ UID: 'uid-v0' }], NumPDBViolations: 0 });
  });

  it('keeps victims that hold no GPUs (the scheduler needed them for CPU or memory) and returns the list unchanged when no GPU holder must go', async () => {
    cluster.addPod(schedulerPod('cpu-hog', 0, {}, 'uid-cpu'));
    const pod = schedulerPod('small', 2);
    const res = await post('/preempt', {
      Pod: pod,
      NodeNameToVictims: null,
      NodeNameToMetaVictims: {
        'h100-a': { Pods: [{ UID: 'uid-v3' }, { UID: 'uid-cpu' }, { UID: 'uid-v2' }], NumPDBViolations: 0 },
        'h100-b': { Pods: [{ UID: 'uid-cpu' }], NumPDBViolations: 0 },
      },
    });
    const out = res.json().NodeNameToMetaVictims;
    // h100-a: one 2-GPU holder suffices — the lower priority one (v2) goes, v3 is reprieved; the CPU victim stays.
    expect(out['h100-a'].Pods).toEqual([{ UID: 'uid-v2' }, { UID: 'uid-cpu' }]);
    // h100-b already has 2 free GPUs: GPU-wise nothing must go, the scheduler's list stands.
    expect(out['h100-b'].Pods).toEqual([{ UID: 'uid-cpu' }]);
  });

  it('when the scheduler\'s victims free unconnected GPUs, lower-priority pods of the node complete an NVLink pair', async () => {
    const dgx = getPreset('dgx1-v100')!;
    cluster.addNode('dgx', withUuids(dgx, 'd'));
    for (let g = 0; g < 8; g++) {
      cluster.addPod({ ...schedulerPod(`one-${g}`, 1, {}, `uid-one-${g}`), spec: { ...schedulerPod('x', 1).spec, priority: 1 } });
      cluster.hold({ uid: `uid-one-${g}`, namespace: 'ml', name: `one-${g}`, node: 'dgx', gpus: [{ index: g }], milliPerGpu: 1000 });
    }
    expect(dgx.links[0]![5]).not.toMatch(/^NV/);
    const ask = (priority: number) => ({
      Pod: { ...schedulerPod('urgent', 2, { [ANN_TOPOLOGY]: 'require-nvlink' }), spec: { ...schedulerPod('urgent', 2).spec, priority } },
      NodeNameToVictims: null,
      // The scheduler's dry run freed two GPUs (0 and 5) — enough by count, not linked.
      NodeNameToMetaVictims: { dgx: { Pods: [{ UID: 'uid-one-0' }, { UID: 'uid-one-5' }], NumPDBViolations: 0 } },
    });
    const out = (await post('/preempt', ask(100))).json().NodeNameToMetaVictims;
    const victims = out.dgx.Pods.map((p: { UID: string }) => Number(p.UID.replace('uid-one-', ''))) as number[];
    expect(victims).toHaveLength(2);
    expect(dgx.links[victims[0]!]![victims[1]!]).toMatch(/^NV/);
    // A preemptor that outranks no other pod there cannot use them: the node is dropped.
    expect((await post('/preempt', ask(1))).json().NodeNameToMetaVictims).toEqual({});
  });

  it('full victims (nodeCacheCapable: false): uses the pods\' priorities; a node where no eviction helps is dropped', async () => {
    const victims = [0, 1, 2, 3].map((i) => ({ metadata: { name: `v${i}`, namespace: 'ml', uid: `uid-v${i}` }, spec: { priority: 10 - i, containers: [] } }));
    const pod = schedulerPod('big', 8);
    const res = await post('/preempt', {
      Pod: pod,
      NodeNameToVictims: { 'h100-a': { Pods: victims, NumPDBViolations: 1 }, 'h100-b': { Pods: [victims[0]], NumPDBViolations: 0 } },
      NodeNameToMetaVictims: null,
    });
    const body = res.json();
    // 8 GPUs need all four on h100-a; h100-b's 6 GPUs are held by "busy", not a victim.
    expect(Object.keys(body.NodeNameToMetaVictims)).toEqual(['h100-a']);
    expect(body.NodeNameToMetaVictims['h100-a'].Pods).toHaveLength(4);
    expect(body.NodeNameToMetaVictims['h100-a'].NumPDBViolations).toBe(1);
  });
});

describe('health, metrics, explain', () => {
  it('readyz follows cache sync, healthz is always ok', async () => {
    cluster.isSynced = false;
    expect((await app.inject('/readyz')).statusCode).toBe(503);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    cluster.isSynced = true;
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it('metrics count latency per verb, decisions and failures by reason', async () => {
    await post('/filter', argsByName(schedulerPod('m0', 4, { [ANN_TOPOLOGY]: 'require-nvlink' }), NAMES));
    await post('/filter', { Pod: {}, NodeNames: [] });
    await post('/bind', { PodName: 'nope', PodNamespace: 'ml', PodUID: 'x', Node: 'h100-a' });
    const text = (await app.inject('/metrics')).body;
    expect(text).toMatch(/linkpack_extender_request_duration_seconds_count\{verb="filter",code="200"\} 1/);
    expect(text).toMatch(/linkpack_extender_request_duration_seconds_count\{verb="filter",code="400"\} 1/);
    expect(text).toMatch(/linkpack_extender_node_decisions_total\{result="fit"\} 1/);
    expect(text).toMatch(/linkpack_extender_node_decisions_total\{result="never-fits"\} 2/);
    expect(text).toMatch(/linkpack_extender_node_decisions_total\{result="node-unavailable"\} 1/);
    expect(text).toMatch(/linkpack_extender_failures_total\{verb="bind",reason="pod-not-found"\} 1/);
    expect(text).toMatch(/linkpack_extender_failures_total\{verb="filter",reason="bad-request"\} 1/);
  });

  it('explain shows every node considered: fit or why not, the GPU set, the breakdown and the runner-up', async () => {
    const pod = schedulerPod('e0', 2, { [ANN_TOPOLOGY]: 'require-nvlink' });
    await post('/filter', argsByName(pod, NAMES));
    const res = await app.inject('/explain?pod=ml/e0');
    expect(res.statusCode).toBe(200);
    const x = res.json();
    expect(x.nodesFrom).toBe('last-scheduler-call');
    expect(x.nodes.map((n: { node: string }) => n.node).sort()).toEqual([...NAMES].sort());
    // binpack: the 2-GPU bridge box fills up exactly; next, the last two GPUs of the busy NVSwitch box.
    expect(x.best.node).toBe('small');
    expect(x.best.gpus).toEqual([0, 1]);
    expect(x.best.breakdown.nvlinkConnected).toBe(true);
    expect(x.runnerUp.node).toBe('h100-b');
    expect(x.runnerUp.gpus).toEqual([6, 7]);
    expect(x.best.score).toBeGreaterThanOrEqual(x.runnerUp.score);
    const pcie = x.nodes.find((n: { node: string }) => n.node === 'pcie');
    expect(pcie).toMatchObject({ fits: false, unresolvable: true });
    expect((await app.inject('/explain?pod=ml/unknown')).statusCode).toBe(404);
    expect((await app.inject('/explain?pod=no-slash')).statusCode).toBe(400);
  });
});
