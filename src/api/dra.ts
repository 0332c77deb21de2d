/**
 * The DRA contract (resource.k8s.io/v1): driver and DeviceClass names, attribute and taint names,
 * and the ResourceSlice shape linkpack publishes. Field names follow the v1 API (Kubernetes 1.37).
 */

export const DRA_DRIVER = 'gpu.linkpack.io';
export const DRA_DEVICE_CLASS = 'gpu.linkpack.io';
export const RESOURCE_API_VERSION = 'resource.k8s.io/v1';
export const RESOURCE_SLICE_KIND = 'ResourceSlice';

/** Attribute names without a domain are the driver's own (`gpu.linkpack.io/<name>` in CEL and constraints). */
export const DRA_ATTR_UUID = 'uuid';
export const DRA_ATTR_MODEL = 'model';
export const DRA_ATTR_INDEX = 'index';
/** Equal exactly for GPUs in one NVLink-connected component: `matchAttribute` on it asks for an NVLink-connected set. */
export const DRA_ATTR_NVLINK_ISLAND = 'nvlinkIsland';
/** Standard attributes (k8s.io/dynamic-resource-allocation/deviceattribute). */
export const DRA_ATTR_PCIE_ROOT = 'resource.kubernetes.io/pcieRoot';
export const DRA_ATTR_PCI_BUS_ID = 'resource.kubernetes.io/pciBusID';
export const DRA_ATTR_NUMA_NODE = 'resource.kubernetes.io/numaNode';
export const DRA_CAPACITY_MEMORY = 'memory';

/** The taint on a GPU the agent finds Unhealthy or cannot read; its value says why. */
export const DRA_TAINT_UNHEALTHY = `${DRA_DRIVER}/unhealthy`;

/** Limits of the v1 API that a built slice must stay within. */
export const DRA_ATTRIBUTE_STRING_MAX_CHARS = 64;
export const LABEL_VALUE_MAX_CHARS = 63;

/** Exactly one field set (v1 DeviceAttribute). */
export type DeviceAttribute = { int: number } | { bool: boolean } | { string: string } | { version: string };

export interface DeviceCapacity {
  /** A Quantity, e.g. `81559Mi`. */
  value: string;
}

export type DeviceTaintEffect = 'NoSchedule' | 'NoExecute' | 'None';

export interface DeviceTaint {
  /** A label name. */
  key: string;
  /** A label value (≤ 63 characters of [A-Za-z0-9._-]). */
  value?: string;
  effect: DeviceTaintEffect;
  /** RFC 3339; the API server sets it on create or update when left out. */
  timeAdded?: string;
}

export interface ResourceSliceDevice {
  /** A DNS label, unique in the pool: `gpu-<index>`. */
  name: string;
  attributes?: Record<string, DeviceAttribute>;
  capacity?: Record<string, DeviceCapacity>;
  taints?: DeviceTaint[];
}

export interface ResourceSliceObject {
  apiVersion: typeof RESOURCE_API_VERSION;
  kind: typeof RESOURCE_SLICE_KIND;
  metadata: {
    name: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  };
  spec: {
    driver: string;
    pool: { name: string; generation: number; resourceSliceCount: number };
    nodeName: string;
    devices: ResourceSliceDevice[];
  };
}

/** The device name of GPU `index`. */
export function draDeviceName(index: number): string {
  return `gpu-${index}`;
}
