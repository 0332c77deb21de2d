/**
 * The `nvidia.com/gpu` device plugin: a v1beta1 DevicePlugin gRPC server on a unix socket in the
 * kubelet's device-plugins directory, registered with the kubelet.
 *
 * Lifecycle (device-plugin-protocol.md B.4): serve first, then Register (the kubelet dials us back
 * inside its Register handler). One reconcile step keeps that true: when our socket file is gone
 * or replaced, serve again; when kubelet.sock is new (kubelet restart: new inode) or we served
 * again, register again. It runs on fs.watch events of the directory and on a periodic stat
 * (inotify can miss events, e.g. when the directory is a hostPath re-mounted).
 *
 * The kubelet's calls are answered from memory only: no API call, no lock, no await.
 */
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GPU_RESOURCE } from '../api/annotations.js';
import {
  DEVICE_PLUGIN_VERSION,
  KUBELET_SOCKET_NAME,
  devicePluginService,
  registrationService,
  type AllocateRequest,
  type AllocateResponse,
  type DevicePluginOptions,
  type Empty,
  type ListAndWatchResponse,
  type PreferredAllocationRequest,
  type PreferredAllocationResponse,
  type RegisterRequest,
} from '../kubelet/device-plugin-api.js';
import { bindUnix, callUnary, shutdownServer, unixClient } from '../kubelet/grpc.js';
import { containerAllocation, judgeAllocation, mismatchMessage, PENDING_TTL_MS, type ServedPreference } from './allocate.js';
import { advertisedKey, listAndWatchResponse, type DeviceSource } from './devices.js';
import { EVENT_REASON_MISMATCH, type PodEventRecorder } from './events.js';
import { pickIntent, type ContainerAsk, type IntentStore } from './intents.js';
import { preferredFor, preferredSlotsFor, type NodeGpus } from './preferred.js';
import { deviceIdsOf, gpusOfDevices, slotView } from './slots.js';

export const DEFAULT_SOCKET_NAME = 'linkpack-gpu.sock';
/** Preferences remembered while waiting for their Allocate (the kubelet admits one pod at a time). */
const PENDING_MAX = 32;

export type PluginLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface DevicePluginConfig {
  node: NodeGpus;
  devices: DeviceSource;
  pluginDir: string;
  socketName?: string;
  resourceName?: string;
  /** Absent (`--no-api`): no intents, the core alone decides preferences. */
  intents?: IntentStore;
  /** Absent (`--no-api`): mismatches are logged only. */
  events?: PodEventRecorder;
  cdi?: boolean;
  log?: PluginLog;
  /** Backstop stat of both sockets (default 5 s). */
  recheckMs?: number;
  /** Deadline of the Register call (the kubelet dials us back within it; default 15 s). */
  registerTimeoutMs?: number;
  /** Delay before retrying a failed registration (default 1 s, like the kubelet's own retry). */
  retryMs?: number;
  /** Clock (ms), for the age of pending preferences. */
  now?: () => number;
  /**
   * When no intent fits, wait up to this long for the pod watch to deliver one (default 0). The
   * kubelet learns of a bound pod from its own watch and may ask before ours has the pod; the
   * wait is on the cache (no API call, no lock) and ends at the first fitting intent.
   */
  intentWaitMs?: number;
  /** Devices advertised per GPU (`--share-slots`; default 1: one device per GPU, ID = its UUID). */
  shareSlots?: number;
}

export interface PluginStats {
  serves: number;
  registrations: number;
  registerFailures: number;
  preferredFromIntent: number;
  preferredFromCore: number;
  allocations: number;
  mismatches: number;
}

const inodeOf = (p: string): number | undefined => {
  try {
    const s = statSync(p);
    return s.isSocket() ? s.ino : undefined;
  } catch {
    return undefined;
  }
};

export class LinkpackDevicePlugin {
  readonly stats: PluginStats = { serves: 0, registrations: 0, registerFailures: 0, preferredFromIntent: 0, preferredFromCore: 0, allocations: 0, mismatches: 0 };
  readonly socketPath: string;
  readonly kubeletSocketPath: string;
  private readonly resourceName: string;
  private readonly log: PluginLog;
  private readonly slots: number;
  /** Every device ID advertised (the GPUs' UUIDs, or their share slots). */
  private readonly deviceIds: ReadonlySet<string>;
  private server?: grpc.Server;
  private servedIno?: number;
  private serveGen = 0;
  /** kubelet.sock inode and serve generation of the last successful registration. */
  private registered?: { kubeletIno: number; serveGen: number };
  private reconciling = false;
  private again = false;
  private stopped = true;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private readonly streams = new Set<grpc.ServerWritableStream<Empty, ListAndWatchResponse>>();
  private readonly pending: ServedPreference[] = [];
  private readonly registeredWaiters: Array<() => void> = [];

  constructor(private readonly cfg: DevicePluginConfig) {
    this.socketPath = path.join(cfg.pluginDir, cfg.socketName ?? DEFAULT_SOCKET_NAME);
    this.kubeletSocketPath = path.join(cfg.pluginDir, KUBELET_SOCKET_NAME);
    this.resourceName = cfg.resourceName ?? GPU_RESOURCE;
    this.log = cfg.log ?? (() => {});
    this.slots = cfg.shareSlots ?? 1;
    this.deviceIds = new Set(cfg.node.uuidOf.flatMap((u) => deviceIdsOf(u, this.slots)));
  }

  /** Serves and, once kubelet.sock exists, registers; then keeps both true. Resolves after serving. */
  async start(): Promise<void> {
    if (!existsSync(this.cfg.pluginDir)) {
      throw new Error(`device plugin directory ${this.cfg.pluginDir} does not exist (mount the kubelet's device-plugins directory, or give --plugin-dir)`);
    }
    this.stopped = false;
    this.watcher = watch(this.cfg.pluginDir, (_event, file) => {
      const name = file?.toString();
      if (!name || name === KUBELET_SOCKET_NAME || name === path.basename(this.socketPath)) this.kick();
    });
    this.watcher.on('error', (err) => this.log('warn', `watching ${this.cfg.pluginDir} failed (${err.message}); relying on the ${this.cfg.recheckMs ?? 5000} ms recheck`));
    this.timer = setInterval(() => this.kick(), this.cfg.recheckMs ?? 5000);
    this.timer.unref();
    await this.reconcile();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    for (const s of this.streams) s.end();
    this.streams.clear();
    if (this.server) await shutdownServer(this.server);
    this.server = undefined;
    for (const w of this.registeredWaiters.splice(0)) w();
  }

  /** Resolves once registered with the kubelet (for the command's startup log and for tests). */
  whenRegistered(): Promise<void> {
    if (this.registered) return Promise.resolve();
    return new Promise((resolve) => this.registeredWaiters.push(resolve));
  }

  get isRegistered(): boolean {
    return this.registered !== undefined;
  }

  private kick(): void {
    if (!this.stopped) void this.reconcile();
  }

  /** Serve if our socket is not ours any more; register if the kubelet or our server is new. */
  private async reconcile(): Promise<void> {
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    try {
      do {
        this.again = false;
        if (this.stopped) return;
        if (!this.server || inodeOf(this.socketPath) !== this.servedIno) {
          if (this.server) {
            this.log('info', `socket ${this.socketPath} was removed or replaced; serving again`);
            // Close the old server first: closing a unix listener unlinks its path (libuv), which
            // would delete the new server's socket; the old one is unreachable by name anyway.
            await shutdownServer(this.server, 100);
            this.server = undefined;
          }
          await this.serve();
        }
        const kubeletIno = inodeOf(this.kubeletSocketPath);
        if (kubeletIno === undefined) {
          if (this.registered) this.log('warn', `${this.kubeletSocketPath} is gone (kubelet restarting?); will register when it is back`);
          this.registered = undefined;
        } else if (!this.registered || this.registered.kubeletIno !== kubeletIno || this.registered.serveGen !== this.serveGen) {
          await this.register(kubeletIno);
        }
      } while (this.again);
    } finally {
      this.reconciling = false;
    }
  }

  private async serve(): Promise<void> {
    const server = new grpc.Server();
    server.addService(devicePluginService().service, {
      GetDevicePluginOptions: (_call: grpc.ServerUnaryCall<Empty, DevicePluginOptions>, cb: grpc.sendUnaryData<DevicePluginOptions>) =>
        cb(null, { pre_start_required: false, get_preferred_allocation_available: true }),
      ListAndWatch: (call: grpc.ServerWritableStream<Empty, ListAndWatchResponse>) => this.listAndWatch(call),
      GetPreferredAllocation: (call: grpc.ServerUnaryCall<PreferredAllocationRequest, PreferredAllocationResponse>, cb: grpc.sendUnaryData<PreferredAllocationResponse>) =>
        void this.waitForIntent(call.request).then(() => cb(null, this.preferredAllocation(call.request))),
      Allocate: (call: grpc.ServerUnaryCall<AllocateRequest, AllocateResponse>, cb: grpc.sendUnaryData<AllocateResponse>) => {
        const r = this.allocate(call.request);
        if ('error' in r) cb({ code: grpc.status.INVALID_ARGUMENT, details: r.error });
        else cb(null, r.response);
      },
      PreStartContainer: (_call: unknown, cb: grpc.sendUnaryData<Empty>) => cb(null, {}),
    });
    await bindUnix(server, this.socketPath);
    this.server = server;
    this.servedIno = inodeOf(this.socketPath);
    this.serveGen += 1;
    this.stats.serves += 1;
    this.log('info', `serving the device plugin on ${this.socketPath}`);
  }

  private async register(kubeletIno: number): Promise<void> {
    const req: RegisterRequest = {
      version: DEVICE_PLUGIN_VERSION,
      endpoint: path.basename(this.socketPath),
      resource_name: this.resourceName,
      options: { pre_start_required: false, get_preferred_allocation_available: true },
    };
    const client = unixClient<grpc.Client>(registrationService(), this.kubeletSocketPath);
    try {
      await callUnary(client, 'Register', req, this.cfg.registerTimeoutMs ?? 15_000);
      this.registered = { kubeletIno, serveGen: this.serveGen };
      this.stats.registrations += 1;
      this.log('info', `registered ${this.resourceName} (${this.cfg.devices.devices().length} GPUs${this.slots > 1 ? ` × ${this.slots} share slots` : ''}) with the kubelet at ${this.kubeletSocketPath}`);
      for (const w of this.registeredWaiters.splice(0)) w();
    } catch (err) {
      this.stats.registerFailures += 1;
      this.log('warn', `registering with the kubelet at ${this.kubeletSocketPath} failed: ${(err as Error).message}; retrying in ${this.cfg.retryMs ?? 1000} ms`);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.kick(), this.cfg.retryMs ?? 1000);
      this.retryTimer.unref();
    } finally {
      client.close();
    }
  }

  private listAndWatch(call: grpc.ServerWritableStream<Empty, ListAndWatchResponse>): void {
    this.streams.add(call);
    this.log('info', 'the kubelet opened ListAndWatch');
    let sent = '';
    const send = () => {
      const gpus = this.cfg.devices.devices();
      const key = advertisedKey(gpus);
      if (key === sent) return;
      sent = key;
      call.write(listAndWatchResponse(gpus, this.slots));
    };
    send();
    const unsubscribe = this.cfg.devices.subscribe(send);
    const done = () => {
      unsubscribe();
      if (!this.streams.delete(call)) return;
      // The kubelet marks our devices unhealthy until a stream is open again (re-registration).
      if (!this.stopped) this.log('warn', 'the ListAndWatch stream closed');
    };
    call.on('cancelled', done);
    call.on('close', done);
    call.on('error', done);
  }

  /** Resolves at once when an intent fits every container request, else at the first that does or after intentWaitMs. */
  private waitForIntent(req: PreferredAllocationRequest): Promise<void> {
    const intents = this.cfg.intents;
    const waitMs = this.cfg.intentWaitMs ?? 0;
    if (!intents || waitMs <= 0) return Promise.resolve();
    const asks = (req.container_requests ?? []).map((c) => this.gpuAsk(askOf(c)));
    const fits = () => {
      try {
        const open = intents.open();
        return asks.every((a) => pickIntent(open, a).chosen !== undefined);
      } catch {
        return true; // preferredAllocation reports the problem
      }
    };
    if (fits()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const off = intents.onChange(() => fits() && finish());
      const timer = setTimeout(finish, waitMs);
    });
  }

  /** Answers every container request from memory; never fails (an error would fail pod admission). */
  preferredAllocation(req: PreferredAllocationRequest): PreferredAllocationResponse {
    const intents = this.cfg.intents;
    return {
      container_responses: (req.container_requests ?? []).map((c) => {
        const ask = askOf(c);
        try {
          const open = intents?.open() ?? [];
          const p = this.slots > 1 ? preferredSlotsFor(this.cfg.node, open, ask, this.slots) : preferredFor(this.cfg.node, open, ask);
          if (p.source === 'intent') {
            intents!.take(p.intent, ask.size);
            this.pending.push({ intent: p.intent, deviceIDs: p.deviceIDs, atMs: (this.cfg.now ?? Date.now)() });
            if (this.pending.length > PENDING_MAX) this.pending.shift();
            this.stats.preferredFromIntent += 1;
            const also = p.fitting > 1 ? ` (${p.fitting - 1} other pod(s) also fit; oldest assigned-at first)` : '';
            this.log('info', `preferred ${p.deviceIDs.join(',')} for ${ask.size} GPU(s): assigned to pod ${p.intent.namespace}/${p.intent.name}${also}`);
          } else {
            this.stats.preferredFromCore += 1;
            const waiting = intents?.open().filter((o) => o.sizesLeft.includes(ask.size)) ?? [];
            const why = !intents ? 'no API (--no-api)' : waiting.length === 0 ? 'no pod bound here with a fitting assignment' : `pods ${waiting.map((o) => `${o.intent.namespace}/${o.intent.name} (${o.intent.uuids.join(',')})`).join('; ')} ask for this size but their GPUs are not all available`;
            this.log('info', `preferred ${p.deviceIDs.join(',')} for ${ask.size} GPU(s) of ${ask.available.size} available: the core's best set (${why})`);
          }
          return { deviceIDs: p.deviceIDs };
        } catch (err) {
          // A bug here must not fail admission: answer the kubelet's own order, loudly.
          this.log('error', `GetPreferredAllocation failed (${(err as Error).message}); answering in the kubelet's order`);
          return { deviceIDs: coreFallbackOrder(ask) };
        }
      }),
    };
  }

  allocate(req: AllocateRequest): { response: AllocateResponse } | { error: string } {
    const responses = [];
    for (const c of req.container_requests ?? []) {
      const ids = c.devices_ids ?? [];
      const unknown = ids.filter((id) => !this.deviceIds.has(id));
      if (unknown.length > 0) return { error: `Allocate: ${unknown.join(',')} ${unknown.length === 1 ? 'is not a GPU' : 'are not GPUs'} of node ${this.cfg.node.name}` };
      this.stats.allocations += 1;
      const gpus = gpusOfDevices(ids);
      if (gpus.length < ids.length) {
        this.log('warn', `Allocate: one container got ${ids.join(',')}, more than one share slot of the same GPU: it gets ${gpus.length} GPU(s) (${gpus.join(',')}), fewer than the ${ids.length} it asked for`);
      }
      responses.push(containerAllocation(gpus, { cdi: this.cfg.cdi ?? false }));
      this.afterAllocate(ids);
    }
    return { response: { container_responses: responses } };
  }

  /** A request in GPU terms (what intents are matched against): with share slots, the GPUs that have a free slot. */
  private gpuAsk(ask: ContainerAsk): ContainerAsk {
    return this.slots > 1 ? slotView(ask, this.slots).gpuAsk : ask;
  }

  /** Compares an allocation with linkpack's intent; logs and records an Event off the kubelet's path. */
  private afterAllocate(ids: readonly string[]): void {
    const now = (this.cfg.now ?? Date.now)();
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (now - p.atMs > PENDING_TTL_MS) {
        this.pending.splice(i, 1);
        this.log('info', `preference ${p.deviceIDs.join(',')} for pod ${p.intent.namespace}/${p.intent.name} was never followed by an Allocate; dropped`);
      }
    }
    const v = judgeAllocation(this.pending, ids, this.cfg.intents?.open().map((o) => o.intent) ?? []);
    if (v.kind === 'as-preferred' || v.kind === 'mismatch') this.pending.splice(this.pending.indexOf(v.served), 1);
    if (v.kind === 'as-preferred') {
      this.log('info', `allocated ${ids.join(',')} to pod ${v.served.intent.namespace}/${v.served.intent.name} as assigned`);
    } else if (v.kind === 'mismatch') {
      this.stats.mismatches += 1;
      const message = mismatchMessage(v.served, ids, this.cfg.node.name);
      const i = v.served.intent;
      this.log('warn', `pod ${i.namespace}/${i.name}: ${message}`);
      void this.cfg.events?.record({ namespace: i.namespace, name: i.name, uid: i.uid }, 'Warning', EVENT_REASON_MISMATCH, message);
    } else if (v.kind === 'matches-intent') {
      this.cfg.intents?.take(v.intent, ids.length);
      this.log('info', `allocated ${ids.join(',')}: exactly the set assigned to pod ${v.intent.namespace}/${v.intent.name}`);
    } else {
      this.log('info', `allocated ${ids.join(',')} (no linkpack assignment to compare with)`);
    }
  }
}

function askOf(c: PreferredAllocationRequest['container_requests'][number]): ContainerAsk {
  return {
    available: new Set(c.available_deviceIDs ?? []),
    mustInclude: c.must_include_deviceIDs ?? [],
    size: Math.max(0, Math.trunc(Number(c.allocation_size) || 0)),
  };
}

/** Must-include first, then the kubelet's available order, up to the size. */
function coreFallbackOrder(ask: ContainerAsk): string[] {
  return [...new Set([...ask.mustInclude, ...ask.available])].slice(0, Math.max(ask.size, ask.mustInclude.length));
}

