/**
 * Which of these pods the API server no longer has: a GET answers 404, or the name now belongs to
 * another uid. The authoritative answer where a watch may lag (the extender's preemption catch-up).
 * One GET per pod, in parallel, each bounded; an error other than 404 counts as "still there".
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeJson } from '../kube/request.js';

export interface PodIdentity {
  namespace: string;
  name: string;
  uid: string;
}

export type PodsGone = (pods: readonly PodIdentity[]) => Promise<PodIdentity[]>;

export const PODS_GONE_TIMEOUT_MS = 2_000;

export function kubePodsGone(kc: KubeConfig, timeoutMs = PODS_GONE_TIMEOUT_MS, onError: (message: string) => void = () => {}): PodsGone {
  return async (pods) => {
    const gone = await Promise.all(
      pods.map(async (p) => {
        const path = `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.name)}`;
        try {
          const got = (await kubeJson(kc, 'GET', path, undefined, undefined, timeoutMs)) as { metadata?: { uid?: string } } | undefined;
          return got?.metadata?.uid !== p.uid;
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 404) return true;
          onError(`checking whether pod ${p.namespace}/${p.name} still exists failed: ${(err as Error).message}`);
          return false;
        }
      }),
    );
    return pods.filter((_, i) => gone[i]);
  };
}
