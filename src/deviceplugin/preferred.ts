/**
 * GetPreferredAllocation, decided (pure): the extender's set for a pod bound here when one fits
 * the request, otherwise the core's best set among the available devices. No I/O, no clock: the
 * server passes the cached intents in and acts on the answer.
 */
import { compileTopology, placeOnNode, type CompiledTopology } from '../core/index.js';
import { GPU_MILLI, type GpuRequest, type NodeState } from '../core/types.js';
import { DEFAULT_POLICY, DEFAULT_TOPOLOGY } from '../extender/preferences.js';
import type { Topology } from '../topology/types.js';
import { candidatesOf, pickIntent, type ContainerAsk, type Intent, type OpenIntent } from './intents.js';
import { slotsForGpus, slotView } from './slots.js';

/** This node's GPUs in the core's terms, plus the UUID ↔ index maps. */
export interface NodeGpus {
  name: string;
  topology: Topology;
  compiled: CompiledTopology;
  uuidOf: readonly string[];
  indexOf: ReadonlyMap<string, number>;
}

/** Builds the node view; throws naming the GPU when a UUID is missing or repeated. */
export function nodeGpus(name: string, topology: Topology): NodeGpus {
  const uuidOf: string[] = [];
  const indexOf = new Map<string, number>();
  topology.gpus.forEach((g, pos) => {
    if (g.index !== pos) throw new Error(`topology of ${name}: GPU at position ${pos} has index ${g.index} (expected ${pos})`);
    if (!g.uuid) throw new Error(`topology of ${name}: GPU ${g.index} has no UUID (the device plugin advertises GPUs by UUID)`);
    if (indexOf.has(g.uuid)) throw new Error(`topology of ${name}: UUID ${g.uuid} is listed for GPU ${indexOf.get(g.uuid)} and GPU ${g.index}`);
    uuidOf.push(g.uuid);
    indexOf.set(g.uuid, g.index);
  });
  return { name, topology, compiled: compileTopology(topology), uuidOf, indexOf };
}

/** What the request would be for a pod that said nothing: the extender's defaults. */
const baseRequest: Omit<GpuRequest, 'gpuCount'> = { milliPerGpu: GPU_MILLI, topology: DEFAULT_TOPOLOGY, policy: DEFAULT_POLICY };

/**
 * The core's best `size` devices among the available ones (optionally only among `within`),
 * must-include devices always in. Must-include devices count as taken when the core chooses the
 * rest (the core has no "must contain" constraint; the kubelet only sends one for devices reused
 * from init containers or aligned by the Topology Manager). Always exactly `size` IDs when the
 * kubelet offered that many: anything the core cannot place is topped up in the kubelet's order.
 */
export function coreChoice(node: NodeGpus, ask: ContainerAsk, within?: readonly string[]): string[] {
  const must = [...new Set(ask.mustInclude)];
  const rest = ask.size - must.length;
  if (rest <= 0) return must;
  const taken = new Set(must);
  const pool = (within ?? [...ask.available]).filter((u) => !taken.has(u));
  const n = node.compiled.n;
  const freeMilli = new Array<number>(n).fill(0);
  let placeable = 0;
  for (const u of pool) {
    const i = node.indexOf.get(u);
    if (i !== undefined) {
      freeMilli[i] = GPU_MILLI;
      placeable += 1;
    }
  }
  const chosen: string[] = [...must];
  if (placeable >= rest) {
    const state: NodeState = { name: node.name, topology: node.compiled, freeMilli };
    const d = placeOnNode(state, { ...baseRequest, gpuCount: rest });
    if (d.fits) for (const i of d.gpus) chosen.push(node.uuidOf[i]!);
  }
  if (chosen.length < ask.size) {
    const have = new Set(chosen);
    for (const u of [...pool, ...ask.available]) {
      if (chosen.length >= ask.size) break;
      if (!have.has(u)) {
        chosen.push(u);
        have.add(u);
      }
    }
  }
  return chosen;
}

export type Preference =
  | { source: 'intent'; deviceIDs: string[]; intent: Intent; fitting: number }
  | { source: 'core'; deviceIDs: string[]; fitting: 0 };

/** The answer to one container request; the core, when it decides, chooses among `corePool` if given (else every available device). */
export function preferredFor(node: NodeGpus, open: readonly OpenIntent[], ask: ContainerAsk, corePool?: readonly string[]): Preference {
  const { chosen, fitting } = pickIntent(open, ask);
  if (chosen) {
    const cands = candidatesOf(chosen.intent, ask);
    // The whole set when it is exactly the request (the usual one-container pod); else the core
    // picks this container's share among the pod's devices.
    const deviceIDs = cands.length === ask.size && ask.mustInclude.every((u) => cands.includes(u)) ? cands : coreChoice(node, ask, cands);
    return { source: 'intent', deviceIDs, intent: chosen.intent, fitting };
  }
  return { source: 'core', deviceIDs: coreChoice(node, ask, corePool), fitting: 0 };
}

/**
 * The answer to one container request in share slots (`--share-slots` > 1), decided in GPU terms:
 * an intent's GPUs when one fits (a GPU fits while it has a free slot), else the core's best set
 * among the fully free GPUs, and only when those are too few among every GPU with a free slot.
 * Each GPU chosen is answered with its lowest free slot.
 */
export function preferredSlotsFor(node: NodeGpus, open: readonly OpenIntent[], ask: ContainerAsk, slots: number): Preference {
  const view = slotView(ask, slots);
  const g = view.gpuAsk;
  const must = new Set(g.mustInclude);
  const spare = [...view.fullyFree].filter((u) => !must.has(u) && node.indexOf.has(u));
  const p = preferredFor(node, open, g, spare.length >= g.size - must.size ? spare : undefined);
  return { ...p, deviceIDs: slotsForGpus(p.deviceIDs, view, ask) };
}
