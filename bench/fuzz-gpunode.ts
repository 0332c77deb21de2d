/**
 * Fuzz target `gpunode`: random GPUNode objects into parseGpuNode and into one long-lived
 * ClusterCache (upsert, lookups, counts, problems, free GPUs by model, relists, deletes), with pods
 * holding GPUs on those nodes. Bases are the presets' GPUNodes as the agent writes them (health,
 * degraded links, kubelet assignments), edited (subtrees replaced, deleted, extra keys), and fully
 * generated statuses (random sizes, link matrices, indices). The documented answer to a bad object
 * is `{ok:false, error}` naming the GPUNode and the field (kept by the cache for lookupNode); a
 * TypeError caught and reported that way is counted as a crash.
 */
import fc from 'fast-check';
import { ClusterCache } from '../src/cluster/cache.js';
import { parseGpuNode } from '../src/cluster/gpunode.js';
import { placeOnNode, validateRequest } from '../src/core/index.js';
import { PACKING_POLICIES, TOPOLOGY_MODES, type GpuRequest } from '../src/core/types.js';
import { gpuNodeJson, podJson } from '../test/support/cluster-fixtures.js';
import { checkMessage, FuzzCrash, jsonOps, mutateJson, ODD_VALUES, type FuzzTarget, type JsonOp } from './fuzz-kit.js';

const PRESETS = ['dgx1-v100', 'hgx-h100', 'dgx2', 'pcie-8x-2socket', 'pcie-4x', 'nvlink-bridge-2x'] as const;
const NAMES = ['n0', 'n1', 'n2', 'n3'] as const;
const NOW = Date.parse('2026-12-01T00:00:00Z');

type Obj = Record<string, unknown>;

function bases(): Obj[] {
  return PRESETS.flatMap((p, k) => [
    gpuNodeJson(NAMES[k % NAMES.length]!, p, { heartbeat: new Date(NOW - 1000) }),
    gpuNodeJson(NAMES[(k + 1) % NAMES.length]!, p, {
      heartbeat: new Date(NOW - 10_000),
      health: { 0: { health: 'Unhealthy', reasons: ['uncorrected ECC errors since driver load: 3'] }, 1: { health: 'Unknown', reasons: [] } },
      pciBusIds: { 0: '00000000:10:00.0' },
      degradedLinks: [{ gpus: [0, 1], reasons: ['GPU 0 NVLink 2 inactive (active at baseline)'] }],
      assignments: [{ pod: 'ml/a', uid: 'uid-a', gpus: [0, 1], containers: [{ name: 'c', gpus: [0, 1] }] }],
    }),
  ]);
}

const LEGEND = ['X', 'NV1', 'NV2', 'NV4', 'NV6', 'NV12', 'NV18', 'PIX', 'PXB', 'PHB', 'NODE', 'SYS', 'SOC', 'NV0', 'NV99', 'nv2', '', 'junk'];

/** A status built from scratch: n GPUs (0..20, past the core's limit of 16), a matrix mostly symmetric with X on the diagonal. */
const generatedGen: fc.Arbitrary<Obj> = fc.integer({ min: 0, max: 20 }).chain((n) =>
  fc
    .record({
      name: fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 8 })),
      indices: fc.oneof({ weight: 5, arbitrary: fc.constant<number[]>([...Array(n).keys()]) }, { weight: 1, arbitrary: fc.array(fc.integer({ min: -1, max: 22 }), { minLength: n, maxLength: n }) }),
      cells: fc.array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom('NV1', 'NV2', 'NV12', 'SYS', 'PIX', 'NODE') }, { weight: 1, arbitrary: fc.constantFrom(...LEGEND) }), { minLength: n * n, maxLength: n * n }),
      symmetric: fc.boolean(),
      health: fc.array(fc.constantFrom('Healthy', 'Healthy', 'Unhealthy', 'Unknown', 'healthy'), { minLength: n, maxLength: n }),
      model: fc.oneof(fc.constantFrom('NVIDIA H100 80GB HBM3', 'Tesla V100-SXM2-16GB', '', 'x'.repeat(300)), fc.string({ unit: 'grapheme', maxLength: 10 })),
      memoryMiB: fc.oneof(fc.constantFrom(81559, 16384, 0), fc.integer()),
      numa: fc.oneof(fc.constant(null), fc.nat(8)),
      nvlinkGBpsPerLink: fc.option(fc.oneof(fc.constantFrom(25, 26.562, 0, -1), fc.double()), { nil: undefined }),
      heartbeat: fc.oneof(fc.constantFrom('2026-12-01T00:00:00Z', '2026-11-30T23:00:00Z', 'yesterday', '', '2026-13-45T99:99:99Z'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
      degraded: fc.array(fc.tuple(fc.integer({ min: -1, max: n + 1 }), fc.integer({ min: -1, max: n + 1 })), { maxLength: 3 }),
      assigned: fc.array(fc.record({ pod: fc.constantFrom('ml/a', 'ml/b', 'x', ''), gpus: fc.array(fc.integer({ min: -1, max: n + 1 }), { maxLength: 4 }) }), { maxLength: 3 }),
    })
    .map((g) => {
      const links = [...Array(n)].map((_, i) => [...Array(n)].map((_, j) => (i === j ? 'X' : g.cells[g.symmetric ? Math.min(i, j) * n + Math.max(i, j) : i * n + j]!)));
      return {
        apiVersion: 'linkpack.io/v1alpha1',
        kind: 'GPUNode',
        metadata: { name: g.name },
        status: {
          gpus: g.indices.map((index, k) => ({ index, uuid: `GPU-${g.name}-${k}`, model: g.model, memoryMiB: g.memoryMiB, numaNode: g.numa, health: g.health[k] })),
          links,
          ...(g.nvlinkGBpsPerLink !== undefined ? { nvlinkGBpsPerLink: g.nvlinkGBpsPerLink } : {}),
          heartbeatTime: g.heartbeat,
          degradedLinks: g.degraded.map(([a, b]) => ({ gpus: [a, b], reasons: ['down'] })),
          assignments: g.assigned,
        },
      };
    }),
);

/** Absent 4 times in 5. */
const seldom = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });

export interface GpuNodeInput {
  base: number | Obj;
  ops: JsonOp[];
  /** What else happens to the cache around this upsert. */
  then: 'none' | 'delete' | 'relist' | 'pod' | 'podGone';
  pod: { node: number; gpus: number[]; milli: number | string; phase: string };
  /** A valid request placed on every usable node (the core reads what the cache made of the object). */
  req: GpuRequest;
}

export function gpuNodeTarget(): FuzzTarget<GpuNodeInput> {
  const all = bases();
  const cache = new ClusterCache({ now: () => NOW, heartbeatTimeoutMs: 120_000 });
  cache.markSynced('gpunodes', true);
  const gen: fc.Arbitrary<GpuNodeInput> = fc.record({
    base: fc.oneof({ weight: 3, arbitrary: fc.nat(all.length - 1) }, { weight: 2, arbitrary: generatedGen }, { weight: 1, arbitrary: fc.constantFrom<Obj>(...(ODD_VALUES as unknown as Obj[]), null as unknown as Obj, [] as unknown as Obj, {}) }),
    ops: fc.oneof({ weight: 1, arbitrary: fc.constant<JsonOp[]>([]) }, { weight: 3, arbitrary: jsonOps }),
    then: fc.constantFrom('none', 'none', 'delete', 'relist', 'pod', 'pod', 'podGone'),
    pod: fc.record({
      node: fc.nat(NAMES.length - 1),
      gpus: fc.uniqueArray(fc.integer({ min: -1, max: 17 }), { maxLength: 8 }),
      milli: fc.oneof(fc.constantFrom(1000, 500, 1, 0, 1001, -5), fc.constantFrom('250', 'abc', '')),
      phase: fc.constantFrom('Running', 'Pending', 'Succeeded', 'Failed', 'Unknown'),
    }),
    req: fc
      .record({
        gpuCount: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 })),
        milli: fc.constantFrom(1000, 1000, 500, 1),
        models: seldom(fc.constantFrom(['H100'], ['V100', 'A100'], ['x'])),
        minMemoryMiB: seldom(fc.constantFrom(1, 16384, 81559, 1e9)),
        include: seldom(fc.uniqueArray(fc.nat(20), { maxLength: 12 })),
        exclude: seldom(fc.uniqueArray(fc.nat(20), { maxLength: 4 })),
        topology: fc.constantFrom(...TOPOLOGY_MODES),
        policy: fc.constantFrom(...PACKING_POLICIES),
      })
      .map(
        (r): GpuRequest => ({
          gpuCount: r.gpuCount,
          milliPerGpu: r.gpuCount === 1 ? r.milli : 1000,
          topology: r.topology,
          policy: r.policy,
          ...(r.models ? { models: r.models } : {}),
          ...(r.minMemoryMiB !== undefined ? { minMemoryMiB: r.minMemoryMiB } : {}),
          ...(r.include ? { includeGpus: r.include } : {}),
          ...(r.exclude ? { excludeGpus: r.exclude } : {}),
        }),
      ),
  });
  const objOf = (i: GpuNodeInput): unknown => mutateJson(typeof i.base === 'number' ? all[i.base] : i.base, i.ops);
  let podSeq = 0;
  return {
    name: 'gpunode',
    gen,
    show: (i) => JSON.stringify({ obj: objOf(i), then: i.then, pod: i.pod }),
    run(i) {
      const obj = objOf(i);
      const parsed = parseGpuNode(obj);
      if (!parsed.ok) checkMessage('parseGpuNode', parsed.error);
      const err = cache.upsertGpuNode(obj);
      if (err !== null) checkMessage('ClusterCache.upsertGpuNode', err);
      const names = [...NAMES, ...cache.nodeNames()];
      for (const n of names) {
        const l = cache.lookupNode(n, NOW);
        if (!l.ok) checkMessage('lookupNode', l.reason);
        else if (l.state.freeMilli.length !== l.gpuNode.topology.gpus.length || l.state.freeMilli.some((m) => !(m >= 0 && m <= 1000))) {
          throw new FuzzCrash(`lookupNode ${n}: free milli ${JSON.stringify(l.state.freeMilli)} for ${l.gpuNode.topology.gpus.length} GPUs`);
        } else {
          if (validateRequest(i.req) !== null) throw new FuzzCrash(`generated request refused: ${validateRequest(i.req)}`);
          const d = placeOnNode(l.state, i.req);
          if (!d.fits) checkMessage('placeOnNode', d.reason);
          else if (d.gpus.length !== i.req.gpuCount || d.gpus.some((g) => !(l.state.freeMilli[g]! >= i.req.milliPerGpu))) {
            throw new FuzzCrash(`placeOnNode ${n}: GPUs ${d.gpus.join(',')} for ${i.req.gpuCount} × ${i.req.milliPerGpu} milli, free ${l.state.freeMilli.join(',')}`);
          } else if (d.gpus.some((g) => ((l.state.unhealthyMask ?? 0) >> g) & 1 || i.req.excludeGpus?.includes(g) || (i.req.includeGpus && !i.req.includeGpus.includes(g)))) {
            throw new FuzzCrash(`placeOnNode ${n}: GPUs ${d.gpus.join(',')} include an unhealthy or excluded GPU (unhealthy mask ${l.state.unhealthyMask}, request ${JSON.stringify(i.req)})`);
          }
        }
      }
      cache.lookupNodes(names, NOW);
      cache.counts();
      for (const p of cache.problems()) checkMessage('problems', p);
      cache.gpusByModel();
      cache.freeGpusByModel(NOW);
      const node = NAMES[i.pod.node]!;
      if (i.then === 'pod' || i.then === 'podGone') {
        const name = `p${podSeq++ % 8}`;
        const pod = podJson('ml', name, { node, gpus: i.pod.gpus, milli: i.pod.milli, phase: i.pod.phase });
        cache.upsertPod(pod);
        cache.lookupNode(node, NOW);
        cache.assignmentsOn(node);
        if (i.then === 'podGone') cache.podGone('ml', name, String((pod.metadata as Obj).uid));
      }
      if (i.then === 'delete') {
        const name = (obj as { metadata?: { name?: unknown } } | null)?.metadata?.name;
        if (typeof name === 'string') cache.deleteGpuNode(name);
      }
      if (i.then === 'relist') cache.replaceGpuNodes([obj, all[0]]);
      // Bounded like a real cluster: an unknown name added by a generated object goes again.
      for (const n of cache.nodeNames()) if (!(NAMES as readonly string[]).includes(n)) cache.deleteGpuNode(n);
    },
  };
}
