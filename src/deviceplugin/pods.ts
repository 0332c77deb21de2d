/**
 * The watch that feeds the intent cache: this node's pods only (fieldSelector spec.nodeName), through
 * the one informer. The kubelet's calls read the cache; nothing here runs on their path.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { makeFeed, type Feed, type InformerLog } from '../kube/informer.js';
import type { IntentStore } from './intents.js';

export function nodePodFeed(kubeConfig: KubeConfig, nodeName: string, store: IntentStore, log: InformerLog, onSynced?: (synced: boolean) => void): Feed {
  return makeFeed({
    name: `pods on ${nodeName}`,
    kubeConfig,
    path: '/api/v1/pods',
    query: { fieldSelector: `spec.nodeName=${nodeName}` },
    handlers: store,
    onSynced,
    options: { log },
  });
}
