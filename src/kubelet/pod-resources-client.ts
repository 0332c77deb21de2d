/**
 * Client of the kubelet PodResources API v1 (`/var/lib/kubelet/pod-resources/kubelet.sock`):
 * which pod and container hold which devices. Plain gRPC over the unix socket, a deadline on
 * every call; the channel reconnects by itself when the kubelet re-creates the socket.
 */
import { existsSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { callUnary, loadKubeletProto, serviceOf, unixClient } from './grpc.js';

export const DEFAULT_POD_RESOURCES_SOCKET = '/var/lib/kubelet/pod-resources/kubelet.sock';
export const POD_RESOURCES_PROTO = 'pod-resources.proto';

/** Wire shapes (keepCase: field names as in the proto). */
export interface WireContainerDevices {
  resource_name: string;
  device_ids: string[];
}
export interface WireContainerResources {
  name: string;
  devices: WireContainerDevices[];
}
export interface WirePodResources {
  name: string;
  namespace: string;
  containers: WireContainerResources[];
}
export interface WireListResponse {
  pod_resources: WirePodResources[];
}

/** One container's devices of one resource. */
export interface ContainerDevices {
  namespace: string;
  pod: string;
  container: string;
  resourceName: string;
  deviceIds: string[];
}

export interface PodResourcesClient {
  /** Devices held by active pods' containers; rejects with one line naming the socket. */
  list(): Promise<ContainerDevices[]>;
  close(): void;
}

export function podResourcesService(): grpc.ServiceClientConstructor {
  return serviceOf(loadKubeletProto(POD_RESOURCES_PROTO), 'v1.PodResourcesLister');
}

export function flattenList(res: WireListResponse): ContainerDevices[] {
  const out: ContainerDevices[] = [];
  for (const p of res.pod_resources ?? []) {
    for (const c of p.containers ?? []) {
      for (const d of c.devices ?? []) {
        out.push({ namespace: p.namespace, pod: p.name, container: c.name, resourceName: d.resource_name, deviceIds: [...(d.device_ids ?? [])] });
      }
    }
  }
  return out;
}

export function podResourcesClient(socketPath: string = DEFAULT_POD_RESOURCES_SOCKET, opts: { deadlineMs?: number } = {}): PodResourcesClient {
  const deadlineMs = opts.deadlineMs ?? 10_000;
  let client: grpc.Client | undefined;
  return {
    async list() {
      // Like dcgm-exporter: no socket is a plain "not available", not a hang on a dead channel.
      if (!existsSync(socketPath)) throw new Error(`kubelet PodResources socket ${socketPath} does not exist (is the pod-resources directory mounted?)`);
      client ??= unixClient<grpc.Client>(podResourcesService(), socketPath);
      try {
        return flattenList(await callUnary<object, WireListResponse>(client, 'List', {}, deadlineMs));
      } catch (e) {
        const err = e as grpc.ServiceError;
        throw new Error(`kubelet PodResources List on ${socketPath}: ${err.details || err.message}`);
      }
    },
    close() {
      client?.close();
      client = undefined;
    },
  };
}

/** NVIDIA device resources, as dcgm-exporter matches them: nvidia.com/gpu and nvidia.com/mig-*. */
export function isGpuResource(name: string, extra: readonly string[] = []): boolean {
  return name === 'nvidia.com/gpu' || name.startsWith('nvidia.com/mig-') || extra.includes(name);
}

/** A device id as the GPU UUID it names: NDP replicas `<uuid>::N` → `<uuid>`. */
export const deviceUuid = (id: string): string => id.replace(/::\d+$/, '');
