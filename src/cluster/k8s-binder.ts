/**
 * Writes a placement to the cluster with client-node, in the order that keeps it safe:
 * 1. merge-patch the pod's annotations with resourceVersion + uid preconditions (409 if the pod
 *    changed since we decided), 2. POST pods/binding (409 if someone bound it first),
 * 3. a core/v1 Event "LinkpackPlaced" — best effort: its failure never fails the bind.
 */
import { hostname } from 'node:os';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { PodBinder } from './types.js';
import { errorText, statusCodeOf } from '../kube/errors.js';
import { crashPoint } from './crash-point.js';

export const EVENT_REASON_PLACED = 'LinkpackPlaced';
/** kube-apiserver rejects longer Event messages. */
const EVENT_MESSAGE_MAX = 1024;

export type BindStep = 'annotate' | 'bind';

/** A bind that did not happen, with the step, the HTTP status (when any) and a one-line reason. */
export class BindError extends Error {
  constructor(
    message: string,
    readonly step: BindStep,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'BindError';
  }
}

export interface KubePodBinderOptions {
  kubeConfig: KubeConfig;
  /** Event source / reportingController (default 'linkpack-extender'). */
  component?: string;
  log?: (level: 'info' | 'warn', message: string) => void;
  now?: () => Date;
}


export class KubePodBinder implements PodBinder {
  private readonly core: CoreV1Api;
  private readonly component: string;
  private readonly log: NonNullable<KubePodBinderOptions['log']>;
  private readonly now: () => Date;
  private readonly mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  constructor(opts: KubePodBinderOptions) {
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.component = opts.component ?? 'linkpack-extender';
    this.log = opts.log ?? (() => {});
    this.now = opts.now ?? (() => new Date());
  }

  async bind(args: Parameters<PodBinder['bind']>[0]): Promise<void> {
    const { namespace, name, uid, node } = args;
    const pod = `${namespace}/${name}`;
    // resourceVersion inside a merge patch is a precondition (409 if the pod changed after the
    // decision); a uid that differs from the stored one is rejected (422: uid is immutable), so a
    // pod recreated under the same name is never annotated with another pod's GPUs.
    const metadata: Record<string, unknown> = { annotations: args.annotations };
    // Callers fall back to "ns/name" when they know no uid; real uids never contain '/'.
    const realUid = uid && !uid.includes('/') ? uid : undefined;
    if (realUid) metadata.uid = realUid;
    if (args.resourceVersion !== undefined) metadata.resourceVersion = args.resourceVersion;
    try {
      await this.core.patchNamespacedPod({ namespace, name, body: { metadata } }, this.mergePatch);
    } catch (err) {
      const code = statusCodeOf(err);
      const why = errorText(err);
      if (code === 409) {
        throw new BindError(`pod ${pod} changed since it was scheduled (precondition resourceVersion=${args.resourceVersion ?? 'none'}, uid=${uid}): ${why}; not binding`, 'annotate', 409);
      }
      if (code === 422 && why.includes('metadata.uid')) {
        throw new BindError(`pod ${pod} was deleted and recreated since it was scheduled (uid ${uid} is gone): ${why}; not binding`, 'annotate', 422);
      }
      if (code === 404) throw new BindError(`pod ${pod} no longer exists: ${why}`, 'annotate', 404);
      throw new BindError(`annotating pod ${pod} failed: ${why}`, 'annotate', code);
    }
    crashPoint('after-annotate');
    try {
      await this.core.createNamespacedPodBinding({
        namespace,
        name,
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, ...(realUid ? { uid: realUid } : {}) }, target: { apiVersion: 'v1', kind: 'Node', name: node } },
      });
    } catch (err) {
      const code = statusCodeOf(err);
      throw new BindError(`binding pod ${pod} to ${node} failed${code ? ` (HTTP ${code})` : ''}: ${errorText(err)}`, 'bind', code);
    }
    crashPoint('after-binding');
    await this.recordEvent({ ...args, uid: realUid ?? '' });
  }

  private async recordEvent(args: Parameters<PodBinder['bind']>[0]): Promise<void> {
    const { namespace, name, uid } = args;
    const now = this.now();
    const message = args.eventMessage.length > EVENT_MESSAGE_MAX ? `${args.eventMessage.slice(0, EVENT_MESSAGE_MAX - 1)}…` : args.eventMessage;
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', name, namespace, ...(uid ? { uid } : {}) },
          reason: EVENT_REASON_PLACED,
          type: 'Normal',
          message,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: hostname(),
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.log('warn', `pod ${namespace}/${name} is bound, but its ${EVENT_REASON_PLACED} event failed: ${errorText(err)}`);
    }
  }
}
