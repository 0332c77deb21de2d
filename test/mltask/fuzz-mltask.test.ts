/**
 * The `mltask` fuzz target of `npm run fuzz` (bench/fuzz-mltask.ts), 2,000 inputs: random MLTask manifests (and MLTaskClasses, and their YAML) through validation and render.
 * No crash (an exception other than the module's documented answer to bad input) and no hang. The
 * 100,000-input run and its figures: docs/reliability.md, "Fuzzing".
 */
import { mltaskTarget } from '../../bench/fuzz-mltask.js';
import { fuzzSuite } from '../support/fuzz.js';

fuzzSuite('mltask', mltaskTarget);
