/**
 * Gang planning over HTTP (the real server, the real core, state in a MemoryCluster): tasks of 4
 * workers × 8 NVLink GPUs racing for hgx-h100 nodes (one NVLink 8-GPU set each).
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildExtenderServer } from '../../src/extender/server.js';
import { gangShortfall, GangPlanner, parseGang } from '../../src/extender/gang.js';
import { getPreset } from '../../src/topology/presets.js';
import { MemoryCluster, RecordingBinder, withUuids } from './memory-cluster.js';
import { argsByName, schedulerPod } from './fixtures.js';

const hgx = getPreset('hgx-h100')!;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function cluster(nodes: number): MemoryCluster {
  const c = new MemoryCluster();
  for (let i = 0; i < nodes; i++) c.addNode(`n${i}`, withUuids(hgx, `n${i}`));
  return c;
}

const worker = (task: string, i: number, size = 4, gpus = 8) =>
  schedulerPod(`${task}-${i}`, gpus, { 'linkpack.io/topology': 'require-nvlink', 'linkpack.io/gang': `${task}/${size}` }, `${task}-pod-${i}`);

async function filter(pod: ReturnType<typeof worker>, names: string[]) {
  const r = await app!.inject({ method: 'POST', url: '/filter', payload: argsByName(pod, names) });
  expect(r.statusCode).toBe(200);
  return r.json() as { NodeNames: string[] | null; FailedNodes: Record<string, string> };
}
async function bind(pod: ReturnType<typeof worker>, node: string) {
  const r = await app!.inject({ method: 'POST', url: '/bind', payload: { PodName: pod.metadata.name, PodNamespace: 'ml', PodUID: pod.metadata.uid, Node: node } });
  return (r.json() as { Error: string }).Error;
}

/** kube-scheduler's loop for one pod: filter, bind to the first passing node; retry a few times. */
async function schedule(pod: ReturnType<typeof worker>, names: string[], reasons: string[]): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const f = await filter(pod, names);
    const passed = f.NodeNames ?? [];
    if (passed.length === 0) {
      reasons.push(...Object.values(f.FailedNodes));
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      continue;
    }
    if ((await bind(pod, passed[0]!)) === '') return true;
  }
  return false;
}

function noGpuTwice(c: MemoryCluster): void {
  const seen = new Set<string>();
  for (const a of c.assignments.values()) for (const g of a.gpus) {
    const k = `${a.node}/${g.index}`;
    expect(seen.has(k), `GPU ${k} given twice`).toBe(false);
    seen.add(k);
  }
}

describe('parseGang', () => {
  it('reads <uid>/<size> and refuses anything else', () => {
    expect(parseGang(worker('t', 0))).toEqual({ uid: 't', size: 4 });
    expect(parseGang({ metadata: { annotations: {} } })).toBeUndefined();
    expect(parseGang({ metadata: { annotations: { 'linkpack.io/gang': 'abc/0' } } })).toMatch(/invalid annotation linkpack.io\/gang="abc\/0"/);
    expect(parseGang({ metadata: { annotations: { 'linkpack.io/gang': 'no-size' } } })).toMatch(/expected <mltask uid>\/<workers ≥ 1>/);
    expect(() => new GangPlanner({ ttlMs: 0 })).toThrow(/> 0 ms/);
  });
});

describe('gang planning', () => {
  it('3 tasks × 4 workers racing for 12 NVLink sets: every task placed whole, no GPU twice (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([...Array(12).keys()], { minLength: 12, maxLength: 12 }), fc.integer({ min: 10, max: 12 }), async (order, nodes) => {
        const c = cluster(nodes);
        const binder = new RecordingBinder();
        binder.delayMs = 1;
        app = buildExtenderServer({ cluster: c, binder });
        const names = c.nodeNames();
        const pods = order.map((k) => worker(`task${Math.floor(k / 4)}`, k % 4));
        for (const p of pods) c.addPod(p);
        const reasons: string[] = [];
        await Promise.all(pods.map((p) => schedule(p, names, reasons)));
        noGpuTwice(c);
        const perTask = new Map<string, number>();
        for (const a of c.assignments.values()) perTask.set(a.name.split('-')[0]!, (perTask.get(a.name.split('-')[0]!) ?? 0) + 1);
        for (const n of perTask.values()) expect(n).toBe(4); // all or nothing
        expect(perTask.size).toBe(Math.floor(nodes / 4));
        for (const a of c.assignments.values()) expect(a.gpus).toHaveLength(8);
        if (nodes < 12) expect(reasons.some((r) => r.includes(`4 workers need 4 NVLink-connected 8-GPU sets; ${nodes - 8} exist free`))).toBe(true);
        await app.close();
        app = undefined;
      }),
      { numRuns: 15 },
    );
  });

  it('reservations hide GPUs from other pods until they expire; later workers are steered to their slots', async () => {
    const c = cluster(4);
    let nowMs = 1_000_000;
    app = buildExtenderServer({ cluster: c, binder: new RecordingBinder(), now: () => nowMs, gangReservationMs: 60_000 });
    const names = c.nodeNames();
    const ws = [0, 1, 2, 3].map((i) => worker('big', i));
    for (const p of ws) c.addPod(p);
    const first = await filter(ws[0]!, names);
    expect(first.NodeNames).toHaveLength(1);
    expect(Object.values(first.FailedNodes)[0]).toMatch(/reserved for its gang on node/);
    // Every worker gets its own node.
    const slots = new Set<string>();
    for (const w of ws) slots.add((await filter(w, names)).NodeNames![0]!);
    expect(slots.size).toBe(4);
    // A pod outside the gang sees the cluster full.
    const solo = schedulerPod('solo', 8, { 'linkpack.io/topology': 'require-nvlink' }, 'solo-uid');
    expect((await filter(solo, names)).NodeNames).toEqual([]);
    // A worker asked to bind elsewhere than its slot is refused with the reason.
    const slot0 = (await filter(ws[0]!, names)).NodeNames![0]!;
    const other = names.find((n) => n !== slot0)!;
    expect(await bind(ws[0]!, other)).toMatch(/reserved for its gang on node/);
    // Abandoned: after the reservation time the GPUs are free again.
    nowMs += 60_001;
    expect((await filter(solo, names)).NodeNames).toHaveLength(4);
  });

  it('a replacement worker of a running gang plans only itself', async () => {
    const c = cluster(2);
    app = buildExtenderServer({ cluster: c, binder: new RecordingBinder() });
    const ws = [0, 1].map((i) => worker('g', i, 2));
    for (const p of ws) c.addPod(p);
    expect(await schedule(ws[0]!, c.nodeNames(), [])).toBe(true);
    expect(await schedule(ws[1]!, c.nodeNames(), [])).toBe(true);
    // Worker 1's pod is replaced (new UID): the other worker still holds its set.
    const gone = [...c.assignments.values()].find((a) => a.name === 'g-1')!;
    c.assignments.delete(gone.uid);
    const again = worker('g', 1, 2);
    again.metadata.uid = 'g-pod-1-new';
    c.addPod(again);
    expect(await schedule(again, c.nodeNames(), [])).toBe(true);
    noGpuTwice(c);
  });

  it('says why in words', () => {
    const ask = { kind: 'gpu' as const, base: { gpuCount: 8, milliPerGpu: 1000, topology: 'require-nvlink' as const, policy: 'binpack' as const } };
    expect(gangShortfall({ uid: 'u', size: 4 }, ask, 4, 3)).toBe('gang u: 4 workers need 4 NVLink-connected 8-GPU sets; 3 exist free — no worker is placed until all fit');
    expect(gangShortfall({ uid: 'u', size: 4 }, { ...ask, base: { ...ask.base, topology: 'any' } }, 2, 0)).toBe('gang u: 2 workers need 2 sets of 8 GPUs (2 of 4 already placed); 0 exist free — no worker is placed until all fit');
  });
});
