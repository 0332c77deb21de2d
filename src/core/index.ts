export * from './types.js';
export { compileTopology, MAX_GPUS_PER_NODE, unpackQuality, type CompiledTopology, type SetQuality } from './compile.js';
export { fragPoints, placeOnNode, RAW_SCORE_NVLINK_TIER, scoreNodes, SHARE_CPU_PER_FREE_GPU_MILLI, validateRequest } from './place.js';
export { fragmentationMilli } from './fragmentation.js';
export { popularityProfile, profileFromShapes, typicalProfile, TYPICAL_COVERAGE, type ShapeSource } from './profile.js';
export { modelMatches, modelTokens } from './model-match.js';
export { availableGpusByModel, gpusByModelOf, modelNeed, modelNeedTable, withFreeSupply } from './scarcity.js';
export { freeCapacity, largestNvlinkSet, type FreeCapacity } from './free-capacity.js';
