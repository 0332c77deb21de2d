/**
 * Device plugin API v1beta1 (../shared/reference/device-plugin-protocol.md): constants, the
 * message shapes as the loader delivers them (keepCase, so field names are the proto's), and the
 * two service definitions. Used by our plugin server and by the test stand-in of the kubelet.
 */
import type * as grpc from '@grpc/grpc-js';
import { loadKubeletProto, serviceOf } from './grpc.js';

export const DEVICE_PLUGIN_VERSION = 'v1beta1';
export const DEVICE_PLUGIN_DIR = '/var/lib/kubelet/device-plugins';
export const KUBELET_SOCKET_NAME = 'kubelet.sock';
export const HEALTHY = 'Healthy';
export const UNHEALTHY = 'Unhealthy';

export interface DevicePluginOptions {
  pre_start_required: boolean;
  get_preferred_allocation_available: boolean;
}
export interface RegisterRequest {
  version: string;
  /** File name of the plugin socket, relative to the device-plugins directory. */
  endpoint: string;
  resource_name: string;
  options?: DevicePluginOptions;
}
export type Empty = Record<string, never>;
export interface Device {
  ID: string;
  health: string;
  topology?: { nodes: { ID: number }[] } | null;
}
export interface ListAndWatchResponse {
  devices: Device[];
}
export interface ContainerPreferredAllocationRequest {
  available_deviceIDs: string[];
  must_include_deviceIDs: string[];
  allocation_size: number;
}
export interface PreferredAllocationRequest {
  container_requests: ContainerPreferredAllocationRequest[];
}
export interface PreferredAllocationResponse {
  container_responses: { deviceIDs: string[] }[];
}
export interface AllocateRequest {
  container_requests: { devices_ids: string[] }[];
}
export interface ContainerAllocateResponse {
  envs: Record<string, string>;
  mounts: { container_path: string; host_path: string; read_only: boolean }[];
  devices: { container_path: string; host_path: string; permissions: string }[];
  annotations: Record<string, string>;
  cdi_devices: { name: string }[];
}
export interface AllocateResponse {
  container_responses: ContainerAllocateResponse[];
}
export interface PreStartContainerRequest {
  devices_ids: string[];
}

export const PROTO_FILE = 'device-plugin.proto';

export function registrationService(): grpc.ServiceClientConstructor {
  return serviceOf(loadKubeletProto(PROTO_FILE), 'v1beta1.Registration');
}

export function devicePluginService(): grpc.ServiceClientConstructor {
  return serviceOf(loadKubeletProto(PROTO_FILE), 'v1beta1.DevicePlugin');
}
