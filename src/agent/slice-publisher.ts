/**
 * Publishes the node's ResourceSlice (with --dra): creates it owned by its Node, and replaces it
 * only when its devices changed, with the pool generation one higher (the allocator trusts only
 * the newest generation of a pool). The agent calls publish() every cycle, so a failed write is
 * retried at the next cycle; 409 re-reads and retries at once. A taint that stays keeps the time
 * the API server first stamped on it.
 */
import { RESOURCE_API_VERSION, type DeviceTaint, type ResourceSliceDevice, type ResourceSliceObject } from '../api/dra.js';
import { canonicalJson } from '../kube/canonical-json.js';
import { errorText, statusCodeOf } from '../kube/errors.js';
import type { KubeRest } from './kube-rest.js';

export interface SlicePublisherOptions {
  api: KubeRest;
  nodeName: string;
  /** Re-read + retry rounds on 409 (default 5). */
  maxConflictRetries?: number;
  log?: (level: 'info' | 'warn', message: string) => void;
}

export interface SlicePublisherStats {
  creates: number;
  updates: number;
  failures: number;
  lastError?: string;
}

export type SlicePublishResult = 'created' | 'updated' | 'unchanged';

/** Devices as compared: without the server-stamped taint times, maps in key order (as the API server writes them). */
function devicesKey(devices: ResourceSliceDevice[]): string {
  return canonicalJson(devices.map((d) => (d.taints ? { ...d, taints: d.taints.map(({ timeAdded: _t, ...t }) => t) } : d)));
}

const sameTaint = (a: DeviceTaint, b: DeviceTaint) => a.key === b.key && (a.value ?? '') === (b.value ?? '') && a.effect === b.effect;

/** Carries over the time a still-present taint was added, so an update does not restamp it. */
function keepTaintTimes(devices: ResourceSliceDevice[], before: ResourceSliceDevice[]): ResourceSliceDevice[] {
  return devices.map((d) => {
    const old = before.find((b) => b.name === d.name)?.taints ?? [];
    if (!d.taints) return d;
    return {
      ...d,
      taints: d.taints.map((t) => {
        const timeAdded = old.find((o) => sameTaint(o, t))?.timeAdded;
        return timeAdded ? { ...t, timeAdded } : t;
      }),
    };
  });
}

export class SlicePublisher {
  readonly stats: SlicePublisherStats = { creates: 0, updates: 0, failures: 0 };
  private readonly collection = `/apis/${RESOURCE_API_VERSION}/resourceslices`;
  private nodeUid?: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SlicePublisherOptions) {}

  /** Writes `want` (its generation and ownerReferences are the publisher's) if its devices differ from the stored slice. */
  publish(want: ResourceSliceObject): Promise<SlicePublishResult> {
    // One write at a time: two cycles racing would bump the generation twice.
    const run = this.chain.then(() => this.syncOnce(want));
    this.chain = run.catch(() => {});
    return run;
  }

  private async syncOnce(want: ResourceSliceObject): Promise<SlicePublishResult> {
    try {
      this.nodeUid ??= await this.readNodeUid();
      const one = `${this.collection}/${encodeURIComponent(want.metadata.name)}`;
      const retries = this.opts.maxConflictRetries ?? 5;
      for (let attempt = 0; ; attempt++) {
        const current = await this.read(one);
        const owner = [{ apiVersion: 'v1', kind: 'Node', name: this.opts.nodeName, uid: this.nodeUid, controller: false, blockOwnerDeletion: false }];
        try {
          if (!current) {
            const body: ResourceSliceObject = { ...want, metadata: { ...want.metadata, ownerReferences: owner }, spec: { ...want.spec, pool: { ...want.spec.pool, generation: 1 } } };
            await this.opts.api.request('POST', this.collection, body);
            this.stats.creates++;
            this.opts.log?.('info', `created ResourceSlice ${want.metadata.name} (${want.spec.devices.length} devices)`);
            return 'created';
          }
          if (devicesKey(current.spec.devices ?? []) === devicesKey(want.spec.devices) && current.spec.nodeName === want.spec.nodeName) return 'unchanged';
          const body: ResourceSliceObject = {
            ...want,
            metadata: { ...current.metadata, ownerReferences: current.metadata.ownerReferences ?? owner },
            spec: { ...want.spec, devices: keepTaintTimes(want.spec.devices, current.spec.devices ?? []), pool: { ...want.spec.pool, generation: current.spec.pool.generation + 1 } },
          };
          await this.opts.api.request('PUT', one, body);
          this.stats.updates++;
          this.opts.log?.('info', `updated ResourceSlice ${want.metadata.name} (pool generation ${body.spec.pool.generation})`);
          return 'updated';
        } catch (e) {
          const code = statusCodeOf(e);
          // 409: written or created meanwhile; 404: deleted meanwhile. Either way, read again.
          if ((code === 409 || code === 404) && attempt < retries) continue;
          throw e;
        }
      }
    } catch (e) {
      this.stats.failures++;
      this.stats.lastError = errorText(e);
      throw e;
    }
  }

  private async read(one: string): Promise<ResourceSliceObject | undefined> {
    try {
      return (await this.opts.api.request('GET', one)) as ResourceSliceObject;
    } catch (e) {
      if (statusCodeOf(e) === 404) return undefined;
      throw e;
    }
  }

  private async readNodeUid(): Promise<string> {
    const node = (await this.opts.api.request('GET', `/api/v1/nodes/${encodeURIComponent(this.opts.nodeName)}`)) as { metadata?: { uid?: string } };
    if (!node.metadata?.uid) throw new Error(`Node ${this.opts.nodeName} has no uid`);
    return node.metadata.uid;
  }
}
