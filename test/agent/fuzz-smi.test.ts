/**
 * The `smi` fuzz target of `npm run fuzz` (bench/fuzz-smi.ts), 2,000 inputs: nvidia-smi outputs mutated from the recorded fixtures, through the agent's parsers and health rules.
 * No crash (an exception other than the module's documented answer to bad input) and no hang. The
 * 100,000-input run and its figures: docs/reliability.md, "Fuzzing".
 */
import { smiTarget } from '../../bench/fuzz-smi.js';
import { fuzzSuite } from '../support/fuzz.js';

fuzzSuite('smi', smiTarget);
