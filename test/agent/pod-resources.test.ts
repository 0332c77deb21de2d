import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { bindUnix, shutdownServer } from '../../src/kubelet/grpc.js';
import { deviceUuid, isGpuResource, podResourcesClient, podResourcesService, type WireListResponse } from '../../src/kubelet/pod-resources-client.js';

/** A kubelet PodResources stand-in on a real unix socket. */
async function standIn(list: (call: grpc.ServerUnaryCall<object, WireListResponse>, cb: grpc.sendUnaryData<WireListResponse>) => void) {
  const dir = mkdtempSync(path.join(tmpdir(), 'linkpack-podres-'));
  const socket = path.join(dir, 'kubelet.sock');
  const server = new grpc.Server();
  const unimplemented = (_c: unknown, cb: grpc.sendUnaryData<object>) => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not in the stand-in' });
  server.addService(podResourcesService().service, { List: list, GetAllocatableResources: unimplemented, Get: unimplemented });
  await bindUnix(server, socket);
  return { socket, stop: async () => (await shutdownServer(server), rmSync(dir, { recursive: true, force: true })) };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

describe('kubelet PodResources client (real gRPC over a unix socket)', () => {
  it('lists which pod and container hold which devices', async () => {
    const s = await standIn((_c, cb) =>
      cb(null, {
        pod_resources: [
          { name: 'train-0', namespace: 'ml', containers: [{ name: 'main', devices: [{ resource_name: 'nvidia.com/gpu', device_ids: ['GPU-a', 'GPU-b'] }] }, { name: 'side', devices: [] }] },
          { name: 'web', namespace: 'default', containers: [{ name: 'c', devices: [{ resource_name: 'example.com/fpga', device_ids: ['f0'] }] }] },
        ],
      }),
    );
    stops.push(s.stop);
    const client = podResourcesClient(s.socket, { deadlineMs: 2000 });
    stops.push(async () => client.close());
    expect(await client.list()).toEqual([
      { namespace: 'ml', pod: 'train-0', container: 'main', resourceName: 'nvidia.com/gpu', deviceIds: ['GPU-a', 'GPU-b'] },
      { namespace: 'default', pod: 'web', container: 'c', resourceName: 'example.com/fpga', deviceIds: ['f0'] },
    ]);
  });

  it('gives up at the deadline when the kubelet does not answer', async () => {
    const s = await standIn(() => {}); // never answers
    stops.push(s.stop);
    const client = podResourcesClient(s.socket, { deadlineMs: 200 });
    stops.push(async () => client.close());
    await expect(client.list()).rejects.toThrow(/^kubelet PodResources List on .*kubelet\.sock: Deadline exceeded/);
  });

  it('says the socket is missing instead of waiting on a dead channel', async () => {
    await expect(podResourcesClient('/nonexistent/kubelet.sock').list()).rejects.toThrow('kubelet PodResources socket /nonexistent/kubelet.sock does not exist (is the pod-resources directory mounted?)');
  });

  it('passes a kubelet error through in one line', async () => {
    const s = await standIn((_c, cb) => cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'rejected by rate limit' }));
    stops.push(s.stop);
    const client = podResourcesClient(s.socket);
    stops.push(async () => client.close());
    await expect(client.list()).rejects.toThrow(/List on .*: rejected by rate limit$/);
  });

  it('matches GPU resources like dcgm-exporter and strips replica suffixes', () => {
    expect(['nvidia.com/gpu', 'nvidia.com/mig-1g.5gb', 'nvidia.com/gpu.shared', 'amd.com/gpu'].map((n) => isGpuResource(n))).toEqual([true, true, false, false]);
    expect(isGpuResource('nvidia.com/gpu.shared', ['nvidia.com/gpu.shared'])).toBe(true);
    expect(deviceUuid('GPU-abc::3')).toBe('GPU-abc');
  });
});
