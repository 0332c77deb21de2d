/**
 * On the real shared openb trace (skipped when ../shared is absent): the loaders read every file,
 * and the baselines land near the FGD authors' published means. The full 10-seed check lives in
 * `npm run bench:placement`; here 5 seeds keep the suite quick.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeRuns } from '../../src/sim/metrics.js';
import { makePolicy, type PolicyName } from '../../src/sim/policies.js';
import { loadPublishedUnallocated } from '../../src/sim/published.js';
import { runFgdProtocol } from '../../src/sim/protocol.js';
import { loadTrace } from '../../src/sim/run.js';
import { loadNodeCsv, loadPodCsv } from '../../src/sim/trace.js';
import { sharedDir } from '../support/paths.js';

const traceDir = path.join(sharedDir, 'traces/alibaba-v2023');
const nodesFile = path.join(traceDir, 'csv/openb_node_list_gpu_node.csv');
const present = existsSync(nodesFile);

describe.skipIf(!present)('openb trace (shared)', () => {
  it('loads the GPU node list: 1,213 nodes, 6,212 GPUs', () => {
    const nodes = loadNodeCsv(nodesFile);
    expect(nodes).toHaveLength(1213);
    expect(nodes.reduce((a, n) => a + n.gpuCount, 0)).toBe(6212);
  });

  it('loads every pod list, full and five-column ones', () => {
    const files = readdirSync(path.join(traceDir, 'csv')).filter((f) => f.startsWith('openb_pod_list_'));
    expect(files.length).toBeGreaterThanOrEqual(16);
    for (const f of files) {
      const pods = loadPodCsv(path.join(traceDir, 'csv', f));
      expect(pods.length).toBeGreaterThan(7000);
    }
    const spec = loadPodCsv(path.join(traceDir, 'csv/openb_pod_list_gpuspec25.csv'));
    expect(spec.some((p) => p.gpuSpec.length > 1)).toBe(true);
  });

  it('reproduces the published unallocated GPU % at 100% arrival on default (seeds 42–46)', () => {
    const trace = loadTrace(nodesFile, path.join(traceDir, 'csv/openb_pod_list_default.csv'));
    const published = loadPublishedUnallocated(path.join(traceDir, 'fgd-published')).get('default')!;
    // Tolerances: the issue's ±0.5 (Random ±1.0) for means over 10 seeds, widened by 0.2 for 5 seeds.
    // Ties follow the artifact (a per-seed random node order); with file-order ties GpuPacking and
    // GpuClustering missed by +0.5–0.6 (see docs/simulator.md, "Fidelity check").
    const tolerance: Partial<Record<PolicyName, number>> = { random: 1.2, dotprod: 0.7, gpuclustering: 0.7, gpupacking: 0.7, bestfit: 0.7, fgd: 0.7 };
    for (const [name, tol] of Object.entries(tolerance) as [PolicyName, number][]) {
      const policy = makePolicy(name);
      const runs = [42, 43, 44, 45, 46].map((seed) => runFgdProtocol(trace.cluster, trace.pods, policy, seed, trace.profile));
      const ours = summarizeRuns('default', runs).unallocatedPct[100]!;
      const pub = published.get(name)!.mean!;
      expect(Math.abs(ours - pub), `${name}: ours ${ours.toFixed(2)} vs published ${pub.toFixed(2)}`).toBeLessThanOrEqual(tol);
    }
  }, 120_000);
});

// Registered only when the data is absent, so a run with it shows no misleading skip.
if (!present) describe('openb trace (shared)', () => {
  it.skip(`skipped: ${nodesFile} not found (set LINKPACK_SHARED to the shared folder to run these)`, () => {});
});
