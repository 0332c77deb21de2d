export * from './types.js';
export { compileTopology, MAX_GPUS_PER_NODE, unpackQuality, type CompiledTopology, type SetQuality } from './compile.js';
export { fragPoints, placeOnNode, scoreNodes, validateRequest } from './place.js';
export { extenderScores, extenderScoresFromRaw } from './extender-score.js';
export { fragmentationMilli } from './fragmentation.js';
export { profileFromShapes, typicalProfile, TYPICAL_COVERAGE, type ShapeSource } from './profile.js';
export { modelMatches, modelTokens } from './model-match.js';
