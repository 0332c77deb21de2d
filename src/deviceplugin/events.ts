/**
 * Events on pods, off the kubelet's path: the plugin answers Allocate first and records the Event
 * afterwards (never awaited by a gRPC handler), best effort.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { errorText } from '../kube/errors.js';

export const EVENT_REASON_MISMATCH = 'LinkpackAllocationMismatch';
const EVENT_MESSAGE_MAX = 1024;

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface PodEventRecorder {
  record(pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export class KubePodEventRecorder implements PodEventRecorder {
  private readonly core: CoreV1Api;
  constructor(
    kubeConfig: KubeConfig,
    private readonly component: string,
    private readonly node: string,
    private readonly log: (level: 'info' | 'warn', message: string) => void,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async record(pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    const text = message.length > EVENT_MESSAGE_MAX ? `${message.slice(0, EVENT_MESSAGE_MAX - 1)}…` : message;
    try {
      await this.core.createNamespacedEvent({
        namespace: pod.namespace,
        body: {
          metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace, uid: pod.uid },
          reason,
          type,
          message: text,
          source: { component: this.component, host: this.node },
          reportingComponent: this.component,
          reportingInstance: this.node,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.log('warn', `event ${reason} on pod ${pod.namespace}/${pod.name} failed: ${errorText(err)}`);
    }
  }
}
