/**
 * MLTask mode Job on real kubelets (the playground: real control plane, real kubelets on the
 * recording fake CRI runtime, linkpack installed from its chart, the controller under its own
 * ServiceAccount). The fake runtime ends a container with PLAYGROUND_EXIT_CODE once the file
 * PLAYGROUND_EXIT_ON_FILE exists, and writes one log line per container in the kubelet's log file.
 * The exit code comes from a ConfigMap (configMapKeyRef), read by the kubelet when it creates the
 * container: the first attempt's workers get 1, the next attempt's 0.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_MLTASK } from '../../src/api/annotations.js';
import { controlPlaneSkip, type KObj } from '../../src/playground/control-plane.js';
import { Playground } from '../../src/playground/playground.js';

let pg: Playground;
let dir: string;
const NS = 'ml';

const task = () => pg.cp.get('linkpack.io/v1alpha1', 'MLTask', 'real', NS);
const pods = async () => (await pg.cp.request('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`${LABEL_MLTASK}=real`)}`)).items as KObj[];

describe.skipIf(controlPlaneSkip)('MLTask mode Job on real kubelets', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'linkpack-mlt-'));
    pg = await Playground.up({ dir, nodes: [{ name: 'h100', topology: 'hgx-h100' }] });
    await pg.cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  }, 420_000);
  afterAll(async () => {
    await pg?.down();
  }, 60_000);

  it('a failed attempt restarts the whole gang once; the next succeeds; pods and logs stay until the TTL', async () => {
    const exitFile = path.join(dir, 'exit-real');
    await pg.cp.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'exit', namespace: NS }, data: { code: '1' } });
    await pg.cp.apply({
      apiVersion: 'linkpack.io/v1alpha1',
      kind: 'MLTask',
      metadata: { name: 'real', namespace: NS },
      spec: {
        image: 'trainer:1',
        command: ['train'],
        env: [
          { name: 'PLAYGROUND_EXIT_ON_FILE', value: exitFile },
          { name: 'PLAYGROUND_EXIT_CODE', valueFrom: { configMapKeyRef: { name: 'exit', key: 'code' } } },
        ],
        trainingData: { uri: 's3://datasets/real/' },
        modelOutput: { uri: 's3://models/real/' },
        parallelism: 2,
        resources: { gpus: 2, cpu: '100m', memory: '64Mi' },
        backoffLimit: 2,
        ttlSecondsAfterFinished: 10,
      },
    });
    let first: KObj[] = [];
    await pg.cp.eventually(async () => {
      first = await pods();
      return first.length === 2 && first.every((p) => p.status?.phase === 'Running');
    }, 'attempt 1: both workers Running', 150_000);
    await pg.cp.eventually(async () => (await task())?.status?.phase === 'Running', 'task Running', 60_000);

    // The next attempt's containers will read 0; this attempt's already hold 1.
    await pg.cp.request('PATCH', `/api/v1/namespaces/${NS}/configmaps/exit`, { data: { code: '0' } }, 'application/merge-patch+json');
    writeFileSync(exitFile, 'go\n');

    await pg.cp.eventually(async () => (await task())?.status?.phase === 'Succeeded', 'task Succeeded after one gang restart', 180_000);
    const t = (await task())!;
    expect(t.status).toMatchObject({ mode: 'Job', restarts: 1 });
    const kept = await pods();
    // Only the second attempt's pods remain (the first went with its Job), each Succeeded once.
    expect(kept.map((p) => p.metadata.uid).some((u) => first.some((q) => q.metadata.uid === u))).toBe(false);
    expect(kept.map((p) => p.status.phase)).toEqual(['Succeeded', 'Succeeded']);
    // Their logs, where the kubelet keeps them (`kubectl logs` needs the node's name to resolve,
    // which the playground's nodes do not).
    const logsDir = pg.nodes.get('h100')!.paths.podLogs;
    for (const p of kept) {
      const podDir = readdirSync(logsDir).find((d) => d === `${NS}_${p.metadata.name}_${p.metadata.uid}`);
      expect(podDir, `log folder of ${p.metadata.name}`).toBeDefined();
      const files = readdirSync(path.join(logsDir, podDir!, 'worker'));
      expect(files.map((f) => readFileSync(path.join(logsDir, podDir!, 'worker', f), 'utf8')).join('')).toContain(`fakecri: ${NS}/${p.metadata.name} started`);
    }
    // After the TTL the Job controller's TTL removes Job and pods; the task keeps its status.
    await pg.cp.eventually(async () => (await pods()).length === 0 && !(await pg.cp.get('batch/v1', 'Job', 'real', NS)), 'pods gone after the TTL', 90_000);
    expect((await task())!.status.phase).toBe('Succeeded');
  }, 420_000);
});
