/**
 * The ResourceSlice the agent publishes for its node (driver gpu.linkpack.io, one pool per node,
 * one device per GPU). resourceSliceObject is pure: the same inputs as the GPUNode builder, so `linkpack inspect
 * --as-resourceslice` prints exactly what the agent would write.
 */
import {
  DRA_ATTR_INDEX,
  DRA_ATTR_MODEL,
  DRA_ATTR_NUMA_NODE,
  DRA_ATTR_NVLINK_ISLAND,
  DRA_ATTR_PCI_BUS_ID,
  DRA_ATTR_PCIE_ROOT,
  DRA_ATTR_UUID,
  DRA_ATTRIBUTE_STRING_MAX_CHARS,
  DRA_CAPACITY_MEMORY,
  DRA_DRIVER,
  DRA_TAINT_UNHEALTHY,
  LABEL_VALUE_MAX_CHARS,
  RESOURCE_API_VERSION,
  RESOURCE_SLICE_KIND,
  draDeviceName,
  type DeviceAttribute,
  type ResourceSliceDevice,
  type ResourceSliceObject,
} from '../api/dra.js';
import type { GpuHealth, GpuNodeDegradedLink } from '../cluster/gpunode.js';
import { realpathSync } from 'node:fs';
import { islands } from '../topology/islands.js';
import { isNvlink } from '../topology/link.js';
import type { Topology } from '../topology/types.js';

export interface ResourceSliceOptions {
  /** Pool generation: the agent bumps it whenever the devices change (default 1). */
  generation?: number;
  /** uid of the Node: an ownerReference, so the slice is collected with its Node. */
  nodeUid?: string;
  /** GPU index → health and reasons; a GPU not Healthy gets the unhealthy taint. */
  health?: Record<number, { health: GpuHealth; reasons: string[] }>;
  /** NVLink pairs degraded now: island ids are computed without them. */
  degradedLinks?: GpuNodeDegradedLink[];
  /** GPU index → PCI bus id as nvidia-smi prints it (`00000000:8A:00.0`). */
  pciBusIds?: Record<number, string>;
  /** GPU index → PCIe root complex (`pci0000:00`), from sysfs; left out where unknown. */
  pcieRoots?: Record<number, string>;
}

/** The slice's name: fixed per node, so the agent finds its own slice again after a restart. */
export function resourceSliceName(nodeName: string): string {
  return `${nodeName}-${DRA_DRIVER}`;
}

/**
 * Island id per GPU index: the position of its NVLink-connected component (islands() order, by
 * first GPU), with degraded pairs taken as having no NVLink. A GPU with no NVLink is an island of
 * its own, so `matchAttribute` never pairs two GPUs that share no NVLink path.
 */
export function nvlinkIslandIds(topology: Topology, degradedLinks: GpuNodeDegradedLink[] = []): number[] {
  const links = topology.links.map((r) => [...r]);
  for (const { gpus: [a, b] } of degradedLinks) {
    if (isNvlink(links[a]?.[b] ?? '')) links[a]![b] = links[b]![a] = 'SYS';
  }
  const ids = new Array<number>(topology.gpus.length).fill(-1);
  islands({ ...topology, links }).forEach((comp, id) => comp.forEach((i) => (ids[i] = id)));
  return ids;
}

/** A reason as a taint value: a label value keeps only [A-Za-z0-9._-] and 63 characters. */
export function taintValue(reason: string): string {
  const slug = reason
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, LABEL_VALUE_MAX_CHARS)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return slug === '' ? 'unknown' : slug;
}

/** nvidia-smi's `00000000:8A:00.0` → the standard BDF form `0000:8a:00.0`. */
export function standardBusId(nvidiaSmiBusId: string): string | undefined {
  const m = /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(nvidiaSmiBusId.trim());
  if (!m) return undefined;
  return `${m[1]!.slice(-4)}:${m[2]}:${m[3]}.${m[4]}`.toLowerCase();
}

/**
 * MiB as the API server writes the Quantity back (canonical: the largest binary suffix that divides
 * it), so the publisher's stored-versus-wanted comparison sees no change where there is none.
 */
export function mibQuantity(memoryMiB: number): string {
  if (memoryMiB === 0) return '0';
  if (memoryMiB % (1024 * 1024) === 0) return `${memoryMiB / (1024 * 1024)}Ti`;
  if (memoryMiB % 1024 === 0) return `${memoryMiB / 1024}Gi`;
  return `${memoryMiB}Mi`;
}

const str = (s: string): DeviceAttribute => ({ string: s.slice(0, DRA_ATTRIBUTE_STRING_MAX_CHARS) });

/** The ResourceSlice for `nodeName` describing `topology` (one per node: resourceSliceCount 1). */
export function resourceSliceObject(nodeName: string, topology: Topology, opts: ResourceSliceOptions = {}): ResourceSliceObject {
  const island = nvlinkIslandIds(topology, opts.degradedLinks);
  const devices: ResourceSliceDevice[] = topology.gpus.map((g) => {
    const attributes: Record<string, DeviceAttribute> = { [DRA_ATTR_INDEX]: { int: g.index }, [DRA_ATTR_NVLINK_ISLAND]: { int: island[g.index]! } };
    if (g.uuid !== undefined) attributes[DRA_ATTR_UUID] = str(g.uuid);
    if (g.model !== undefined) attributes[DRA_ATTR_MODEL] = str(g.model);
    const root = opts.pcieRoots?.[g.index];
    if (root !== undefined) attributes[DRA_ATTR_PCIE_ROOT] = str(root);
    const bus = opts.pciBusIds?.[g.index] !== undefined ? standardBusId(opts.pciBusIds[g.index]!) : undefined;
    if (bus !== undefined) attributes[DRA_ATTR_PCI_BUS_ID] = str(bus);
    // nvidia-smi's N/A (null) is no NUMA affinity: the standard says leave the attribute out.
    if (typeof g.numaNode === 'number' && g.numaNode >= 0) attributes[DRA_ATTR_NUMA_NODE] = { int: g.numaNode };
    const d: ResourceSliceDevice = { name: draDeviceName(g.index), attributes };
    if (g.memoryMiB !== undefined) d.capacity = { [DRA_CAPACITY_MEMORY]: { value: mibQuantity(g.memoryMiB) } };
    const h = opts.health?.[g.index];
    if (h && h.health !== 'Healthy') {
      const why = h.reasons.length > 0 ? h.reasons.join('; ') : h.health === 'Unknown' ? 'health unknown' : 'unhealthy';
      d.taints = [{ key: DRA_TAINT_UNHEALTHY, value: taintValue(why), effect: 'NoSchedule' }];
    }
    return d;
  });
  const obj: ResourceSliceObject = {
    apiVersion: RESOURCE_API_VERSION,
    kind: RESOURCE_SLICE_KIND,
    metadata: { name: resourceSliceName(nodeName) },
    spec: { driver: DRA_DRIVER, pool: { name: nodeName, generation: opts.generation ?? 1, resourceSliceCount: 1 }, nodeName, devices },
  };
  if (opts.nodeUid) obj.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: opts.nodeUid, controller: false, blockOwnerDeletion: false }];
  return obj;
}

/**
 * The PCIe root complex (`pci0000:00`) of a GPU from sysfs: /sys/bus/pci/devices/<bdf> links to
 * /sys/devices/pci<domain>:<bus>/…/<bdf> (as k8s.io/dynamic-resource-allocation/deviceattribute
 * reads it). Undefined where sysfs has no such device (a container without /sys, a fake nvidia-smi).
 */
export function pcieRootOf(nvidiaSmiBusId: string, sysfsRoot = '/sys'): string | undefined {
  const bdf = standardBusId(nvidiaSmiBusId);
  if (!bdf) return undefined;
  try {
    return /\/devices\/(pci[0-9a-f]{4}:[0-9a-f]{2})\//.exec(realpathSync(`${sysfsRoot}/bus/pci/devices/${bdf}`))?.[1];
  } catch {
    return undefined;
  }
}
