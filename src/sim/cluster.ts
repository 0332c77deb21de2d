/**
 * The simulated cluster: static node specs plus the live free amounts in flat typed arrays, so
 * that scoring thousands of pods over a thousand nodes allocates nothing in the inner loops.
 * Each node carries a version (bumped on every change) and an interned state signature, which
 * the policies use to cache per-(state, request) work across identical nodes.
 */
import type { Topology } from '../topology/types.js';
import { compileTopology, fragmentationMilli, modelMatches, type CompiledTopology, type NodeState, type WorkloadProfile } from '../core/index.js';
import type { TraceNode, TracePod } from './trace.js';
import { assumedTopology, type GTopology } from './topology-map.js';

export const MILLI = 1000;

export interface NodeSpec {
  name: string;
  cpuMilli: number;
  memoryMiB: number;
  gpuCount: number;
  model: string;
  topology: Topology;
  /** Human label of the (assumed) topology. */
  topologyLabel: string;
}

/** A pod compiled against a cluster: model constraint as a bitmask over the cluster's model ids. */
export interface SimPod {
  name: string;
  cpuMilli: number;
  memoryMiB: number;
  gpuCount: number;
  milliPerGpu: number;
  gpuSpec: readonly string[];
  /** Bit m set = may use model id m. All bits for "any". */
  modelMask: number;
  totalMilli: number;
  /** Interned id of (cpu, memory, gpuCount, milli, spec): pods with one id are interchangeable. */
  reqId: number;
  /** GpuClustering class: 0 = share, k = k whole GPUs, -1 = CPU-only. */
  gpuClass: number;
}

export function nodeSpecsFromTrace(nodes: readonly TraceNode[], gTopology: GTopology): NodeSpec[] {
  return nodes
    .filter((n) => n.gpuCount > 0)
    .map((n) => {
      const { topology, label } = assumedTopology(n.model, n.gpuCount, gTopology);
      return { name: n.name, cpuMilli: n.cpuMilli, memoryMiB: n.memoryMiB, gpuCount: n.gpuCount, model: n.model, topology, topologyLabel: label };
    });
}

const MAX_CLASS = 17;

export class SimCluster {
  readonly n: number;
  readonly specs: readonly NodeSpec[];
  readonly compiled: readonly CompiledTopology[];
  readonly modelIds = new Map<string, number>();
  readonly nodeModel: Int32Array;
  readonly gpuOffset: Int32Array;
  readonly gpuCount: Int32Array;
  readonly cpuTotal: Int32Array;
  readonly capacityMilli: number;

  readonly cpuFree: Int32Array;
  readonly memFree: Float64Array;
  readonly gpuFree: Int32Array;
  readonly version: Int32Array;
  /** Interned state signature per node (see signature()). */
  readonly sig: Int32Array;
  /** Pods per GpuClustering class on each node, and the number of distinct classes present. */
  readonly classCount: Int32Array;
  readonly classDistinct: Int32Array;
  usedMilli = 0;
  /** GPU milli released by removed pods since reset (churn()). */
  releasedMilli = 0;

  /** Per GPU: the index of its lower-cased model in modelsLower; per such model: free milli (freeGpusByModel, kept as pods come and go). */
  private readonly gpuModel: Int32Array;
  private readonly modelsLower: string[] = [];
  private readonly freeMilliByModel: Float64Array;

  private readonly sigIds = new Map<string, number>();
  private readonly reqIds = new Map<string, number>();
  private fragProfile: WorkloadProfile | null = null;
  private readonly fragBySig = new Map<number, number>();
  readonly nodeFrag: Float64Array;
  fragTotal = 0;

  constructor(specs: readonly NodeSpec[]) {
    if (specs.length === 0) throw new Error('the cluster has no GPU nodes');
    this.n = specs.length;
    this.specs = specs;
    this.compiled = specs.map((s) => compileTopology(s.topology));
    this.nodeModel = new Int32Array(this.n);
    this.gpuOffset = new Int32Array(this.n + 1);
    this.gpuCount = new Int32Array(this.n);
    this.cpuTotal = new Int32Array(this.n);
    let off = 0;
    specs.forEach((s, i) => {
      if (s.topology.gpus.length !== s.gpuCount) throw new Error(`node ${s.name}: ${s.gpuCount} GPUs but its topology has ${s.topology.gpus.length}`);
      let m = this.modelIds.get(s.model);
      if (m === undefined) {
        m = this.modelIds.size;
        if (m >= 31) throw new Error('more than 31 GPU models in one cluster');
        this.modelIds.set(s.model, m);
      }
      this.nodeModel[i] = m;
      this.gpuOffset[i] = off;
      this.gpuCount[i] = s.gpuCount;
      this.cpuTotal[i] = s.cpuMilli;
      off += s.gpuCount;
    });
    this.gpuOffset[this.n] = off;
    this.capacityMilli = off * MILLI;
    this.cpuFree = new Int32Array(this.n);
    this.memFree = new Float64Array(this.n);
    this.gpuFree = new Int32Array(off);
    this.gpuModel = new Int32Array(off);
    for (let i = 0; i < this.n; i++) {
      this.compiled[i].modelsLower.forEach((m, g) => {
        let k = this.modelsLower.indexOf(m);
        if (k < 0) k = this.modelsLower.push(m) - 1;
        this.gpuModel[this.gpuOffset[i] + g] = k;
      });
    }
    this.freeMilliByModel = new Float64Array(this.modelsLower.length);
    this.version = new Int32Array(this.n);
    this.sig = new Int32Array(this.n);
    this.classCount = new Int32Array(this.n * MAX_CLASS);
    this.classDistinct = new Int32Array(this.n);
    this.nodeFrag = new Float64Array(this.n);
    this.reset();
  }

  /** Empty the cluster; state signatures start afresh (request ids are kept). */
  reset(): void {
    // Signatures are interned per run, so caches keyed by them must be dropped with them.
    this.sigIds.clear();
    this.fragBySig.clear();
    for (let i = 0; i < this.n; i++) {
      this.cpuFree[i] = this.specs[i].cpuMilli;
      this.memFree[i] = this.specs[i].memoryMiB;
      this.version[i]++;
    }
    this.gpuFree.fill(MILLI);
    this.freeMilliByModel.fill(0);
    for (let g = 0; g < this.gpuModel.length; g++) this.freeMilliByModel[this.gpuModel[g]] += MILLI;
    this.classCount.fill(0);
    this.classDistinct.fill(0);
    this.usedMilli = 0;
    this.releasedMilli = 0;
    for (let i = 0; i < this.n; i++) this.refreshNode(i);
    for (let i = 0; i < this.n; i++) this.nodeFrag[i] = this.computeFrag(i);
    this.recomputeFragTotal();
  }

  /** Track the FGD fragmentation of every node under this profile (per-event metric). */
  setFragProfile(profile: WorkloadProfile | null): void {
    this.fragProfile = profile;
    this.fragBySig.clear();
    for (let i = 0; i < this.n; i++) this.nodeFrag[i] = this.computeFrag(i);
    this.recomputeFragTotal();
  }

  private recomputeFragTotal(): void {
    let t = 0;
    for (let i = 0; i < this.n; i++) t += this.nodeFrag[i];
    this.fragTotal = t;
  }

  compilePod(p: TracePod): SimPod {
    let modelMask = 0x7fffffff;
    if (p.gpuSpec.length > 0) {
      modelMask = 0;
      // The core's model rule (whole tokens, any case), so a trace pod matches as a pod annotation would.
      for (const [model, id] of this.modelIds) if (modelMatches(model, p.gpuSpec)) modelMask |= 1 << id;
    }
    const key = `${p.cpuMilli}|${p.memoryMiB}|${p.gpuCount}|${p.milliPerGpu}|${p.gpuSpec.join('|')}`;
    let reqId = this.reqIds.get(key);
    if (reqId === undefined) {
      reqId = this.reqIds.size;
      this.reqIds.set(key, reqId);
    }
    return {
      name: p.name,
      cpuMilli: p.cpuMilli,
      memoryMiB: p.memoryMiB,
      gpuCount: p.gpuCount,
      milliPerGpu: p.milliPerGpu,
      gpuSpec: p.gpuSpec,
      modelMask,
      totalMilli: p.gpuCount * p.milliPerGpu,
      reqId,
      gpuClass: p.gpuCount === 0 ? -1 : p.milliPerGpu < MILLI ? 0 : Math.min(p.gpuCount, MAX_CLASS - 1),
    };
  }

  /** Number of distinct request ids seen so far (bounds per-request caches). */
  get requestKinds(): number {
    return this.reqIds.size;
  }

  /** Does the pod fit on the node (model, CPU, memory, enough GPUs with enough free milli)? */
  fits(node: number, pod: SimPod): boolean {
    if (this.cpuFree[node] < pod.cpuMilli || this.memFree[node] < pod.memoryMiB) return false;
    if (pod.gpuCount === 0) return true;
    if (!(pod.modelMask & (1 << this.nodeModel[node]))) return false;
    const off = this.gpuOffset[node];
    const end = off + this.gpuCount[node];
    let ok = 0;
    for (let g = off; g < end; g++) if (this.gpuFree[g] >= pod.milliPerGpu && ++ok >= pod.gpuCount) return true;
    return false;
  }

  freeMilliOf(node: number): Int32Array {
    return this.gpuFree.subarray(this.gpuOffset[node], this.gpuOffset[node + 1]);
  }

  totalFreeMilli(node: number): number {
    let t = 0;
    for (let g = this.gpuOffset[node]; g < this.gpuOffset[node + 1]; g++) t += this.gpuFree[g];
    return t;
  }

  /** Free GPUs per lower-cased model (milli ÷ 1000): the core's freeGpusByModel, as the extender's cache gives it. */
  freeGpusByModel(): Map<string, number> {
    return new Map(this.modelsLower.map((m, k) => [m, this.freeMilliByModel[k] / MILLI]));
  }

  fullyFreeCount(node: number): number {
    let c = 0;
    for (let g = this.gpuOffset[node]; g < this.gpuOffset[node + 1]; g++) if (this.gpuFree[g] === MILLI) c++;
    return c;
  }

  /** The core's view of a node. */
  /** The core's view of a node; without CPU and memory (`withCpu` false) as the extender sees it today. */
  nodeState(node: number, withCpu = true): NodeState {
    const s: NodeState = { name: this.specs[node].name, topology: this.compiled[node], freeMilli: Array.from(this.freeMilliOf(node)) };
    if (withCpu) {
      s.cpuFreeMilli = this.cpuFree[node];
      s.memoryFreeMiB = this.memFree[node];
      s.cpuTotalMilli = this.cpuTotal[node];
    }
    return s;
  }

  place(node: number, pod: SimPod, gpus: readonly number[]): void {
    this.apply(node, pod, gpus, -1);
  }

  remove(node: number, pod: SimPod, gpus: readonly number[]): void {
    this.apply(node, pod, gpus, +1);
    this.releasedMilli += pod.totalMilli;
  }

  /** Of the GPU milli placed since reset, the share released (as ClusterCache.churn): 0 with arrivals only. */
  churn(): number {
    const placed = this.usedMilli + this.releasedMilli;
    return placed > 0 ? this.releasedMilli / placed : 0;
  }

  private apply(node: number, pod: SimPod, gpus: readonly number[], sign: number): void {
    this.cpuFree[node] += sign * pod.cpuMilli;
    this.memFree[node] += sign * pod.memoryMiB;
    const off = this.gpuOffset[node];
    for (const g of gpus) {
      const v = this.gpuFree[off + g] + sign * pod.milliPerGpu;
      if (v < 0 || v > MILLI || g >= this.gpuCount[node]) throw new Error(`GPU ${g} of node ${this.specs[node].name} would hold ${v} milli`);
      this.gpuFree[off + g] = v;
      this.freeMilliByModel[this.gpuModel[off + g]] += sign * pod.milliPerGpu;
    }
    if (this.cpuFree[node] < 0 || this.memFree[node] < 0) throw new Error(`node ${this.specs[node].name} over-committed`);
    this.usedMilli -= sign * pod.totalMilli;
    if (pod.gpuClass >= 0) {
      const idx = node * MAX_CLASS + pod.gpuClass;
      const before = this.classCount[idx];
      this.classCount[idx] -= sign;
      if (before === 0) this.classDistinct[node]++;
      else if (this.classCount[idx] === 0) this.classDistinct[node]--;
    }
    this.version[node]++;
    this.refreshNode(node);
    const f = this.computeFrag(node);
    this.fragTotal += f - this.nodeFrag[node];
    this.nodeFrag[node] = f;
  }

  private refreshNode(node: number): void {
    let key = `${this.topologyId(node)}:${this.nodeModel[node]}:${this.cpuFree[node]}:${this.memFree[node]}:`;
    for (let g = this.gpuOffset[node]; g < this.gpuOffset[node + 1]; g++) key += `${this.gpuFree[g]},`;
    let id = this.sigIds.get(key);
    if (id === undefined) {
      id = this.sigIds.size;
      this.sigIds.set(key, id);
    }
    this.sig[node] = id;
  }

  private readonly topoIds = new Map<CompiledTopology, number>();
  private topologyId(node: number): number {
    const ct = this.compiled[node];
    let id = this.topoIds.get(ct);
    if (id === undefined) {
      id = this.topoIds.size;
      this.topoIds.set(ct, id);
    }
    return id;
  }

  private computeFrag(node: number): number {
    if (!this.fragProfile) return 0;
    const s = this.sig[node];
    let f = this.fragBySig.get(s);
    if (f === undefined) {
      f = fragmentationMilli(this.nodeState(node), this.fragProfile);
      this.fragBySig.set(s, f);
    }
    return f;
  }

  /** Fragmentation of a node after hypothetically taking `cpuMilli` and `milli` from each listed GPU. */
  fragAfter(node: number, cpuMilli: number, gpus: readonly number[], milli: number, profile: WorkloadProfile): number {
    const st = this.nodeState(node);
    const free = st.freeMilli as number[];
    for (const g of gpus) free[g] -= milli;
    return fragmentationMilli({ ...st, cpuFreeMilli: (st.cpuFreeMilli ?? 0) - cpuMilli }, profile);
  }

  fragOf(node: number, profile: WorkloadProfile): number {
    if (profile === this.fragProfile) return this.nodeFrag[node];
    return fragmentationMilli(this.nodeState(node), profile);
  }

  /** Count of signatures interned (for diagnostics). */
  get signatureCount(): number {
    return this.sigIds.size;
  }
}
