/**
 * The `deviceplugin` fuzz target of `npm run fuzz` (bench/fuzz-deviceplugin.ts), 2,000 inputs: GetPreferredAllocation and Allocate with random device sets.
 * No crash (an exception other than the module's documented answer to bad input) and no hang. The
 * 100,000-input run and its figures: docs/reliability.md, "Fuzzing".
 */
import { devicePluginTarget } from '../../bench/fuzz-deviceplugin.js';
import { fuzzSuite } from '../support/fuzz.js';

fuzzSuite('deviceplugin', devicePluginTarget);
