/** The real control plane for the e2e suites lives with the playground (src/playground/control-plane.ts). */
export * from '../../src/playground/control-plane.js';
