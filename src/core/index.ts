export * from './types.js';
export { compileTopology, MAX_GPUS_PER_NODE, unpackQuality, type CompiledTopology, type SetQuality } from './compile.js';
export { placeOnNode, validateRequest } from './place.js';
export { extenderScores } from './extender-score.js';
export { fragmentationMilli, profileFromShapes } from './fragmentation.js';
