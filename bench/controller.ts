/**
 * `npm run bench:controller [-- --json] [--tasks 200] [--workers 4] [--concurrency 16]`
 *
 * The MLTask controller against the real control plane (etcd + kube-apiserver from
 * test/support/control-plane.ts): the time from creating N MLTasks to all N StatefulSets and
 * Services present, reconciles per second, and the time until every task's status is written.
 * The floor, measured in the same run on the same server: creating the same N Services and N
 * StatefulSets directly (the rendered objects, `--workers` writers in parallel) — the API's
 * own cost of the writes the controller must make. The ratio says what the controller adds.
 * No kube-controller-manager runs: the StatefulSets make no pods, so only the controller is timed.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { ControlPlane, KObj } from '../src/playground/control-plane.js';
import { MLTaskController } from '../src/mltask/controller.js';
import { renderTask } from '../src/mltask/render.js';
import { parseMLTask } from '../src/mltask/validate.js';

interface Args {
  tasks: number;
  workers: number;
  concurrency: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const out: Args = { tasks: 200, workers: 4, concurrency: 16, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') out.json = true;
    else if (a === '--tasks' || a === '--workers' || a === '--concurrency') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} "${argv[i]}": expected a whole number ≥ 1`);
      out[a.slice(2) as 'tasks' | 'workers' | 'concurrency'] = v;
    } else throw new Error(`unknown argument "${a}" (accepted: --json, --tasks N, --workers N, --concurrency N)`);
  }
  return out;
}

function taskObj(ns: string, i: number): KObj {
  return {
    apiVersion: 'linkpack.io/v1alpha1',
    kind: 'MLTask',
    metadata: { name: `task-${String(i).padStart(4, '0')}`, namespace: ns },
    spec: { mode: 'Instance', image: 'trainer:1', trainingData: { uri: 's3://data/set' }, modelOutput: { uri: 's3://models/out' }, parallelism: 4, resources: { gpus: 8 }, gpu: { topology: 'require-nvlink' }, scratch: { size: '100Gi' } },
  };
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function count(cp: ControlPlane, path: string): Promise<number> {
  const r = await cp.request('GET', `${path}?limit=10000`);
  return (r.items as unknown[]).length;
}

async function waitUntil(cond: () => Promise<boolean>, what: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The repository (this file runs from dist/bench). */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // control-plane.ts finds the binaries relative to its own (compiled) place: tell it where they are.
  process.env.KUBE_BIN_DIR ??= execFileSync(process.execPath, [path.join(root, 'test/kube/build.mjs'), '--dir'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  const { controlPlaneSkip, startControlPlane } = await import('../src/playground/control-plane.js');
  const { putMLTaskCrdVerbatim } = await import('../test/mltask/real-crd.js');
  if (controlPlaneSkip) throw new Error(controlPlaneSkip);
  const cp = await startControlPlane({ crds: false });
  try {
    for (const ns of ['bench', 'floor']) await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await putMLTaskCrdVerbatim(cp, 'bench', path.join(root, 'deploy/crds/mltasks.linkpack.io.yaml'));
    await waitUntil(async () => (await cp.request('GET', '/apis/linkpack.io/v1alpha1/namespaces/bench/mltasks').then(() => true, () => false)), 'MLTask API served');

    // Floor: the writes themselves, straight to the API.
    const rendered = Array.from({ length: args.tasks }, (_, i) => {
      const p = parseMLTask({ ...taskObj('floor', i), metadata: { ...taskObj('floor', i).metadata, uid: '' } });
      if (!p.ok) throw new Error(p.errors.join('; '));
      const r = renderTask(p.task);
      for (const o of [r.service, r.workload]) delete o.metadata.ownerReferences;
      return r;
    });
    const f0 = performance.now();
    await pool(rendered, args.workers, async (r) => {
      await cp.request('POST', '/api/v1/namespaces/floor/services', r.service);
      await cp.request('POST', '/apis/apps/v1/namespaces/floor/statefulsets', r.workload);
    });
    const floorMs = performance.now() - f0;

    const controller = new MLTaskController({ kubeConfig: cp.kubeConfig, namespace: 'bench', workers: args.workers });
    await controller.start();
    const before = { ...controller.reconciler.stats };
    const t0 = performance.now();
    await pool(Array.from({ length: args.tasks }, (_, i) => i), args.concurrency, (i) => cp.request('POST', '/apis/linkpack.io/v1alpha1/namespaces/bench/mltasks', taskObj('bench', i)));
    const createdMs = performance.now() - t0;
    await waitUntil(async () => (await count(cp, '/apis/apps/v1/namespaces/bench/statefulsets')) >= args.tasks && (await count(cp, '/api/v1/namespaces/bench/services')) >= args.tasks, 'all StatefulSets and Services');
    const childrenMs = performance.now() - t0;
    const reconcilesAtChildren = controller.reconciler.stats.reconciles - before.reconciles;
    await waitUntil(async () => {
      const r = await cp.request('GET', '/apis/linkpack.io/v1alpha1/namespaces/bench/mltasks?limit=10000');
      return (r.items as KObj[]).every((t) => t.status?.phase === 'Pending' && t.status.observedGeneration === t.metadata.generation);
    }, 'every status written');
    const statusMs = performance.now() - t0;
    // Let the echo reconciles (our own status writes coming back) finish.
    await waitUntil(async () => controller.queue.len() === 0, 'queue drained');
    const s = controller.reconciler.stats;
    await controller.stop();

    const result = {
      tasks: args.tasks,
      workers: args.workers,
      createConcurrency: args.concurrency,
      createTasksMs: Math.round(createdMs),
      allStatefulSetsAndServicesMs: Math.round(childrenMs),
      allStatusWrittenMs: Math.round(statusMs),
      reconciles: s.reconciles - before.reconciles,
      reconcilesUntilChildren: reconcilesAtChildren,
      reconcilesPerSecond: Math.round(((s.reconciles - before.reconciles) / (statusMs / 1000)) * 10) / 10,
      writes: s.writes - before.writes,
      conflicts: s.conflicts - before.conflicts,
      floorDirectWritesMs: Math.round(floorMs),
      ratioToFloor: Math.round((childrenMs / floorMs) * 100) / 100,
    };
    if (args.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`${args.tasks} MLTasks, ${args.workers} workers (real kube-apiserver + etcd)`);
      console.log(`  created in                          ${result.createTasksMs} ms (${args.concurrency} in parallel)`);
      console.log(`  all StatefulSets + Services present ${result.allStatefulSetsAndServicesMs} ms`);
      console.log(`  every status written               ${result.allStatusWrittenMs} ms`);
      console.log(`  reconciles                          ${result.reconciles} (${result.reconcilesPerSecond}/s), writes ${result.writes}, conflicts ${result.conflicts}`);
      console.log(`  floor: the same ${2 * args.tasks} objects written directly  ${result.floorDirectWritesMs} ms → controller/floor ${result.ratioToFloor}×`);
    }
  } finally {
    await cp.stop();
  }
}

main().catch((err) => {
  console.error(`bench:controller: ${(err as Error).message}`);
  process.exitCode = 1;
});
