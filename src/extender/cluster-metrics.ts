/**
 * Cluster-wide gauges computed from the extender's cache when Prometheus scrapes (nothing is
 * kept between scrapes): GPUs by state, nodes that still have a free NVLink-connected set of k
 * GPUs (asked of the core, so it is the set the scheduler could give), and the FGD fragmentation
 * of the free capacity under the workload profile; and per node its free GPUs and largest free
 * NVLink-connected set (a `node` label: one series per GPU node, as dcgm-exporter's `Hostname`).
 */
import { Gauge, type Registry } from 'prom-client';
import { assignmentProblems, type AssignmentProblemKind } from '../cluster/assignment-checks.js';
import type { ClusterView } from '../cluster/types.js';
import { freeCapacity, fragmentationMilli, placeOnNode, type FreeCapacity } from '../core/index.js';
import { GPU_MILLI, type GpuRequest, type WorkloadProfile } from '../core/types.js';

export const NVLINK_SET_SIZES = [2, 4, 8] as const;

export interface ClusterMetricsSource {
  cluster: ClusterView;
  now: () => number;
  profile: () => WorkloadProfile | undefined;
}

export interface ClusterSnapshot {
  gpus: { free: number; partial: number; used: number; unhealthy: number };
  nodes: { usable: number; unavailable: number };
  /** size → nodes with a free NVLink-connected set of that many GPUs. */
  nvlinkSetNodes: Record<number, number>;
  fragmentationMilli: number | undefined;
  freeMilli: number;
  /** Usable nodes only: an unusable node's GPUs are not the scheduler's to give. */
  perNode: Map<string, FreeCapacity>;
  /** GPU assignments the API shows that cannot be true (assignment-checks.ts), by kind. */
  assignmentProblems: Record<AssignmentProblemKind, number>;
}

export function clusterSnapshot(src: ClusterMetricsSource): ClusterSnapshot {
  const out: ClusterSnapshot = { gpus: { free: 0, partial: 0, used: 0, unhealthy: 0 }, nodes: { usable: 0, unavailable: 0 }, nvlinkSetNodes: {}, fragmentationMilli: undefined, freeMilli: 0, perNode: new Map(), assignmentProblems: { 'unknown-gpu': 0, 'uuid-mismatch': 0, 'held-twice': 0 } };
  for (const k of NVLINK_SET_SIZES) out.nvlinkSetNodes[k] = 0;
  const profile = src.profile();
  const nowMs = src.now();
  let frag = 0;
  for (const name of src.cluster.nodeNames()) {
    const look = src.cluster.lookupNode(name, nowMs);
    if (!look.ok) {
      out.nodes.unavailable++;
      continue;
    }
    out.nodes.usable++;
    const s = look.state;
    out.perNode.set(name, freeCapacity(s));
    const holders = src.cluster.assignmentsOn(name).map((a) => ({ ref: `${a.namespace}/${a.name}`, gpus: a.gpus, milliPerGpu: a.milliPerGpu }));
    for (const p of assignmentProblems(name, look.gpuNode.topology.gpus, holders)) out.assignmentProblems[p.kind]++;
    s.freeMilli.forEach((f, i) => {
      if ((s.unhealthyMask ?? 0) & (1 << i)) out.gpus.unhealthy++;
      else {
        out.freeMilli += f;
        if (f >= GPU_MILLI) out.gpus.free++;
        else if (f <= 0) out.gpus.used++;
        else out.gpus.partial++;
      }
    });
    for (const k of NVLINK_SET_SIZES) {
      if (k > s.topology.n) continue;
      const req: GpuRequest = { gpuCount: k, milliPerGpu: GPU_MILLI, topology: 'require-nvlink', policy: 'binpack' };
      if (placeOnNode(s, req).fits) out.nvlinkSetNodes[k]!++;
    }
    if (profile && profile.shapes.length > 0) frag += fragmentationMilli(s, profile);
  }
  if (profile && profile.shapes.length > 0) out.fragmentationMilli = frag;
  return out;
}

export function registerClusterMetrics(registry: Registry, src: ClusterMetricsSource): void {
  // One snapshot per scrape, shared by the gauges (prom-client collects them one after another).
  let cached: { at: number; snap: ClusterSnapshot } | undefined;
  const snap = () => {
    const t = Date.now();
    if (!cached || t - cached.at > 500) cached = { at: t, snap: clusterSnapshot(src) };
    return cached.snap;
  };
  // One labelled gauge per breakdown of the snapshot.
  const breakdown = (name: string, help: string, label: string, values: (s: ClusterSnapshot) => [string, number][]) =>
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        for (const [k, v] of values(snap())) this.set({ [label]: k }, v);
      },
    });
  breakdown('linkpack_cluster_gpus', 'GPUs in the extender cache by state: free (whole GPU free), partial (shared, some milli free), used, unhealthy', 'state', (s) => Object.entries(s.gpus));
  breakdown('linkpack_cluster_nodes', 'GPU nodes by whether the extender can use them (unavailable: stale heartbeat, bad GPUNode…)', 'state', (s) => Object.entries(s.nodes));
  breakdown('linkpack_cluster_free_nvlink_set_nodes', 'Nodes that can still give a free NVLink-connected set of `size` whole GPUs (as the core would choose it)', 'size', (s) =>
    NVLINK_SET_SIZES.map((k) => [String(k), s.nvlinkSetNodes[k] ?? 0]),
  );
  breakdown(
    'linkpack_cluster_assignment_problems',
    'GPU assignments in the API that cannot be true: a GPU the node lacks (unknown-gpu), a UUID of another GPU (uuid-mismatch), a GPU held beyond one whole GPU (held-twice)',
    'kind',
    (s) => Object.entries(s.assignmentProblems),
  );
  const perNode = (name: string, help: string, pick: (c: FreeCapacity) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['node'],
      registers: [registry],
      collect() {
        // Nodes come and go: only the ones in this snapshot have a series.
        this.reset();
        for (const [node, c] of snap().perNode) this.set({ node }, pick(c));
      },
    });
  perNode('linkpack_node_free_gpus', 'Whole healthy GPUs with nothing on them, per node the extender can use', (c) => c.freeGpus);
  perNode('linkpack_node_largest_free_nvlink_set', 'Largest NVLink-connected set among the free GPUs, per node the extender can use (1: free GPUs but no NVLink pair)', (c) => c.largestFreeNvlinkSet);
  new Gauge({
    name: 'linkpack_cluster_fragmentation_ratio',
    help: 'Share of the free GPU capacity that the typical workload (observed profile) cannot use: FGD fragmentation / free milli-GPU',
    registers: [registry],
    collect() {
      const s = snap();
      if (s.fragmentationMilli !== undefined) this.set(s.freeMilli > 0 ? s.fragmentationMilli / s.freeMilli : 0);
    },
  });
}
