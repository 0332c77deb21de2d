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
export { ClusterInformers, type BackoffOptions, type ClusterInformersOptions, type FeedStats, type InformerLog } from './informers.js';
export { apiErrorMessage, BindError, EVENT_REASON_PLACED, KubePodBinder, type BindStep, type KubePodBinderOptions } from './k8s-binder.js';
export { ClusterFileError, loadClusterFile, parseClusterFile, StaticPodBinder, type ClusterFileContents } from './static-file.js';
