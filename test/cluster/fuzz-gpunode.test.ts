/**
 * The `gpunode` fuzz target of `npm run fuzz` (bench/fuzz-gpunode.ts), 2,000 inputs: random GPUNode objects through parseGpuNode and the ClusterCache.
 * No crash (an exception other than the module's documented answer to bad input) and no hang. The
 * 100,000-input run and its figures: docs/reliability.md, "Fuzzing".
 */
import { gpuNodeTarget } from '../../bench/fuzz-gpunode.js';
import { fuzzSuite } from '../support/fuzz.js';

fuzzSuite('gpunode', gpuNodeTarget);
