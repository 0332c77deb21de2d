/**
 * The extender's feeds into a ClusterCache: GPUNodes, pods, and Nodes (only their allocatable CPU
 * and memory are kept) — src/kube/informer does the list + watch + relist work.
 */
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { Feed, feedOptions, listAllPages, type FeedStats, type InformerOptions, type ListPage } from '../kube/informer.js';
import { API_GROUP, API_VERSION } from '../api/annotations.js';
import type { ClusterCache } from './cache.js';
import { GPUNODE_PLURAL } from './gpunode.js';

export interface ClusterInformersOptions extends InformerOptions {
  kubeConfig: KubeConfig;
  cache: ClusterCache;
}

type Obj = Record<string, unknown>;

/** The feeds the extender needs: GPUNodes and Nodes (cluster-scoped) and pods (all namespaces). */
export class ClusterInformers {
  readonly gpuNodes: Feed;
  readonly pods: Feed;
  readonly nodes: Feed;

  constructor(private readonly opts: ClusterInformersOptions) {
    const kc = opts.kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const watch = new Watch(kc);
    const cache = opts.cache;
    const pageSize = opts.listPageSize ?? 500;
    const loopOpts = feedOptions(opts);

    const listGpuNodes = () =>
      listAllPages(async (cont) => (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: GPUNODE_PLURAL, limit: pageSize, _continue: cont })) as ListPage);
    const listPods = () => listAllPages(async (cont) => (await core.listPodForAllNamespaces({ limit: pageSize, _continue: cont })) as ListPage);
    const listNodes = () => listAllPages(async (cont) => (await core.listNode({ limit: pageSize, _continue: cont })) as ListPage);

    this.gpuNodes = new Feed(
      GPUNODE_PLURAL,
      `/apis/${API_GROUP}/${API_VERSION}/${GPUNODE_PLURAL}`,
      listGpuNodes,
      {
        replace: (items) => cache.replaceGpuNodes(items),
        upsert: (o) => {
          const err = cache.upsertGpuNode(o);
          if (err) loopOpts.log('warn', err);
        },
        remove: (o) => {
          const name = ((o as Obj).metadata as Obj | undefined)?.name;
          if (typeof name === 'string') cache.deleteGpuNode(name);
        },
      },
      watch,
      (synced) => cache.markSynced(GPUNODE_PLURAL, synced),
      loopOpts,
    );
    this.pods = new Feed(
      'pods',
      '/api/v1/pods',
      listPods,
      { replace: (items) => cache.replacePods(items), upsert: (o) => cache.upsertPod(o), remove: (o) => cache.deletePod(o) },
      watch,
      (synced) => cache.markSynced('pods', synced),
      loopOpts,
    );
    this.nodes = new Feed(
      'nodes',
      '/api/v1/nodes',
      listNodes,
      {
        replace: (items) => cache.replaceNodes(items),
        upsert: (o) => cache.upsertNode(o),
        remove: (o) => {
          const name = ((o as Obj).metadata as Obj | undefined)?.name;
          if (typeof name === 'string') cache.deleteNode(name);
        },
      },
      watch,
      (synced) => cache.markSynced('nodes', synced),
      loopOpts,
    );
  }

  /** Start every feed; resolves when each has listed once (the cache is then synced). */
  async start(): Promise<void> {
    await Promise.all([this.gpuNodes.start(), this.pods.start(), this.nodes.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.gpuNodes.stop(), this.pods.stop(), this.nodes.stop()]);
  }

  synced(): boolean {
    return this.opts.cache.synced();
  }

  stats(): { gpuNodes: FeedStats; pods: FeedStats; nodes: FeedStats } {
    return { gpuNodes: { ...this.gpuNodes.stats }, pods: { ...this.pods.stats }, nodes: { ...this.nodes.stats } };
  }
}
