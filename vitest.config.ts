import { defineConfig } from 'vitest/config';

// Two projects: unit suites (in parallel) and e2e suites (`*.e2e.test.ts`, each file starts a real
// etcd + kube-apiserver [+ scheduler, controller-manager, KWOK] from test/support/control-plane.ts).
// E2e files run one at a time: a control plane takes most of a 2-core machine while it starts.
export default defineConfig({
  test: {
    // Lists every skip; under CI=true an unlisted skip fails the run (test/support/skip-reporter.ts).
    reporters: ['default', './test/support/skip-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.e2e.test.ts', '**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          // After every unit file, never beside them: a starting control plane needs the CPUs.
          sequence: { groupOrder: 1 },
          include: ['test/**/*.e2e.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
