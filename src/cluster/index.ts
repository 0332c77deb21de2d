export type { ClusterView, GpuNodeRecord, NodeLookup, PodAssignment, PodBinder } from './types.js';
export { ClusterCache, type ClusterCacheOptions } from './cache.js';
export {
  GPUNODE_KIND,
  GPUNODE_PLURAL,
  gpuNodeObject,
  parseGpuNode,
  type GpuHealth,
  type GpuNodeAssignment,
  type GpuNodeGpuStatus,
  type GpuNodeObject,
  type GpuNodeObjectOptions,
  type GpuNodeStatus,
  type ParsedGpuNode,
} from './gpunode.js';
export { podFacts, type PodFacts } from './pod.js';
export { ClusterInformers, type ClusterInformersOptions } from './informers.js';
export type { BackoffOptions, FeedStats, InformerLog } from '../kube/informer.js';
export { BindError, EVENT_REASON_PLACED, KubePodBinder, type BindStep, type KubePodBinderOptions } from './k8s-binder.js';
export { ClusterFileError, loadClusterFile, parseClusterFile, StaticPodBinder, type ClusterFileContents } from './static-file.js';
