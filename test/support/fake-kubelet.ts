/**
 * A stand-in for the kubelet's device manager over real gRPC on unix sockets, following
 * device-plugin-protocol.md B.4: a Registration server on <dir>/kubelet.sock whose Register
 * handler dials the plugin back and calls GetDevicePluginOptions before it returns (so a plugin
 * that registers before serving is refused, as by a real kubelet), then keeps ListAndWatch open.
 * `restart()` does what a kubelet start does to the directory: deletes every socket, serves anew.
 */
import { readdirSync, lstatSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  DEVICE_PLUGIN_VERSION,
  KUBELET_SOCKET_NAME,
  devicePluginService,
  registrationService,
  type AllocateResponse,
  type Device,
  type DevicePluginOptions,
  type Empty,
  type ListAndWatchResponse,
  type PreferredAllocationResponse,
  type RegisterRequest,
} from '../../src/kubelet/device-plugin-api.js';
import { bindUnix, callUnary, shutdownServer, unixClient } from '../../src/kubelet/grpc.js';

export interface Registration {
  request: RegisterRequest;
  /** What GetDevicePluginOptions answered inside the Register handler. */
  options: DevicePluginOptions;
}

export class FakeKubelet {
  readonly registrations: Registration[] = [];
  readonly refused: string[] = [];
  /** Every ListAndWatch message received, newest last. */
  readonly lists: Device[][] = [];
  private server?: grpc.Server;
  private plugin?: grpc.Client;
  private stream?: grpc.ClientReadableStream<ListAndWatchResponse>;

  constructor(readonly dir: string) {}

  get socketPath(): string {
    return path.join(this.dir, KUBELET_SOCKET_NAME);
  }

  /** The latest device list. */
  get devices(): Device[] {
    return this.lists.at(-1) ?? [];
  }

  async start(): Promise<void> {
    const server = new grpc.Server();
    server.addService(registrationService().service, {
      Register: (call: grpc.ServerUnaryCall<RegisterRequest, Empty>, cb: grpc.sendUnaryData<Empty>) => {
        this.onRegister(call.request).then(
          () => cb(null, {}),
          (err: Error) => {
            this.refused.push(err.message);
            cb({ code: grpc.status.UNKNOWN, details: err.message });
          },
        );
      },
    });
    await bindUnix(server, this.socketPath);
    this.server = server;
  }

  private async onRegister(req: RegisterRequest): Promise<void> {
    if (req.version !== DEVICE_PLUGIN_VERSION) throw new Error(`unsupported version "${req.version}"`);
    if (!req.resource_name.includes('/')) throw new Error(`invalid resource name "${req.resource_name}"`);
    const client = unixClient<grpc.Client>(devicePluginService(), path.join(this.dir, req.endpoint));
    let options: DevicePluginOptions;
    try {
      // The real kubelet dials with a 10 s timeout; a plugin that is not serving fails at once here.
      options = await callUnary<Empty, DevicePluginOptions>(client, 'GetDevicePluginOptions', {}, 2000);
    } catch (err) {
      client.close();
      throw new Error(`failed to dial device plugin: ${(err as Error).message}`);
    }
    this.registrations.push({ request: req, options });
    // A new registration replaces the old endpoint.
    this.stream?.cancel();
    this.plugin?.close();
    this.plugin = client;
    const stream = (client as unknown as { ListAndWatch(req: Empty): grpc.ClientReadableStream<ListAndWatchResponse> }).ListAndWatch({});
    stream.on('data', (m: ListAndWatchResponse) => this.lists.push(m.devices));
    stream.on('error', () => {});
    this.stream = stream;
  }

  async preferred(available: readonly string[], size: number, mustInclude: readonly string[] = []): Promise<string[]> {
    const r = await callUnary<unknown, PreferredAllocationResponse>(this.requirePlugin(), 'GetPreferredAllocation', {
      container_requests: [{ available_deviceIDs: available, must_include_deviceIDs: mustInclude, allocation_size: size }],
    }, 5000);
    return r.container_responses[0]?.deviceIDs ?? [];
  }

  async allocate(ids: readonly string[]): Promise<AllocateResponse> {
    return callUnary<unknown, AllocateResponse>(this.requirePlugin(), 'Allocate', { container_requests: [{ devices_ids: ids }] }, 5000);
  }

  /** Any unary call on the plugin (for the bench floor). */
  call<Res>(method: string, req: unknown): Promise<Res> {
    return callUnary<unknown, Res>(this.requirePlugin(), method, req, 5000);
  }

  private requirePlugin(): grpc.Client {
    if (!this.plugin) throw new Error('no plugin registered with the fake kubelet');
    return this.plugin;
  }

  /** A kubelet restart: stop, delete every socket in the directory, serve kubelet.sock again. */
  async restart(): Promise<void> {
    await this.stop();
    for (const f of readdirSync(this.dir)) {
      const p = path.join(this.dir, f);
      if (lstatSync(p).isSocket()) unlinkSync(p);
    }
    await this.start();
  }

  async stop(): Promise<void> {
    this.stream?.cancel();
    this.plugin?.close();
    this.stream = undefined;
    this.plugin = undefined;
    if (this.server) await shutdownServer(this.server, 100);
    this.server = undefined;
  }
}
