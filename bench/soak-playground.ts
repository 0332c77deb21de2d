/**
 * `npm run soak -- [--minutes 30] [--json] [--pod-every 3] [--task-every 30]`
 *
 * The playground (real kubelets, linkpack from its chart) under a steady load: a GPU pod of 1–4
 * GPUs every `--pod-every` seconds and an MLTask of 2 × 2 GPUs every `--task-every` seconds, each
 * running 5–30 s and ending with exit code 0 (or 1 for one in five). Finished pods and tasks are
 * deleted. Measured:
 * - every process's RSS every 10 s; the slope after a warm-up fifth, in MiB per hour;
 * - GPUs held by two running containers at once, from the CRI runtime's records (create/start/
 *   exit/stop) and from each kubelet's PodResources sampled every 2 s;
 * - error-level lines in linkpack's own logs (pino level ≥ 50), each one unexplained.
 * Prints one JSON object with `--json`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { podResourcesClient } from '../src/kubelet/pod-resources-client.js';
import { containerGpus, doubleAllocations, readCriRecords } from '../src/playground/cri-records.js';
import type { KObj } from '../src/playground/control-plane.js';
import { Playground } from '../src/playground/playground.js';
import { DEFAULT_NODES } from '../src/playground/command.js';
import { rssMiB } from '../src/playground/state.js';
import { arg } from './child.js';

interface Sample {
  atS: number;
  rssMiB: Record<string, number>;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const minutes = Number(arg('--minutes') ?? '30');
  const podEveryS = Number(arg('--pod-every') ?? '3');
  const taskEveryS = Number(arg('--task-every') ?? '30');
  const json = process.argv.includes('--json');
  const say = (l: string) => !json && console.log(l);
  const dir = mkdtempSync(path.join(tmpdir(), 'linkpack-soak-'));
  const pg = await Playground.up({ dir, nodes: DEFAULT_NODES, log: (l) => say(l) });
  const t0 = Date.now();
  const endAt = t0 + minutes * 60_000;
  const cp = pg.cp;
  await cp.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'soak' } });
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
  const ends: { file: string; atMs: number }[] = [];
  const errors: string[] = [];
  const note = (e: unknown) => errors.push(`soak: ${(e as Error).message}`);
  let pods = 0;
  let tasks = 0;
  let podsCompleted = 0;
  let podsFailed = 0;
  let tasksSucceeded = 0;
  let tasksFailed = 0;
  const podResourcesDoubles: string[] = [];
  const samples: Sample[] = [];

  const exitEnv = (name: string) => {
    const file = path.join(dir, `exit-${name}`);
    ends.push({ file, atMs: Date.now() + 5_000 + rand() * 25_000 });
    return [
      { name: 'PLAYGROUND_EXIT_ON_FILE', value: file },
      { name: 'PLAYGROUND_EXIT_CODE', value: rand() < 0.2 ? '1' : '0' },
    ];
  };
  const newPod = () => {
    const name = `pod-${pods++}`;
    const gpus = 1 + Math.floor(rand() * 4);
    return cp.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'soak' },
      spec: { schedulerName: 'linkpack-scheduler', restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'soak:1', env: exitEnv(name), resources: { limits: { 'nvidia.com/gpu': String(gpus), cpu: '10m', memory: '16Mi' } } }] },
    });
  };
  const newTask = () => {
    const name = `task-${tasks++}`;
    return cp.apply({
      apiVersion: 'linkpack.io/v1alpha1',
      kind: 'MLTask',
      metadata: { name, namespace: 'soak' },
      spec: { image: 'trainer:1', command: ['train'], env: exitEnv(name), trainingData: { uri: 's3://d/' }, modelOutput: { uri: 's3://m/' }, parallelism: 2, resources: { gpus: 2, cpu: '10m', memory: '16Mi' }, backoffLimit: 0 },
    });
  };

  const timers = [
    setInterval(() => void newPod().catch(note), podEveryS * 1000),
    setInterval(() => void newTask().catch(note), taskEveryS * 1000),
    setInterval(() => {
      const now = Date.now();
      for (const e of ends.splice(0).filter((x) => (x.atMs <= now ? (writeFileSync(x.file, ''), false) : true))) ends.push(e);
    }, 500),
    setInterval(() => {
      samples.push({ atS: (Date.now() - t0) / 1000, rssMiB: Object.fromEntries(cp.processes().map((p) => [p.name, rssMiB(p.pid) ?? NaN])) });
    }, 10_000),
  ];
  // Finished pods and tasks go; what they were is counted first.
  const reaper = setInterval(() => {
    void (async () => {
      for (const p of (await cp.request('GET', '/api/v1/namespaces/soak/pods')).items as KObj[]) {
        if (p.metadata.labels?.['linkpack.io/mltask']) continue;
        const phase = p.status?.phase;
        if (phase !== 'Succeeded' && phase !== 'Failed') continue;
        if (phase === 'Succeeded') podsCompleted++;
        else podsFailed++;
        await cp.request('DELETE', `/api/v1/namespaces/soak/pods/${p.metadata.name}`).catch(note);
      }
      for (const t of await cp.list('linkpack.io/v1alpha1', 'MLTask', 'soak')) {
        const phase = t.status?.phase;
        if (phase !== 'Succeeded' && phase !== 'Failed') continue;
        if (phase === 'Succeeded') tasksSucceeded++;
        else tasksFailed++;
        await cp.request('DELETE', `/apis/linkpack.io/v1alpha1/namespaces/soak/mltasks/${t.metadata.name}?propagationPolicy=Background`).catch(note);
      }
    })().catch(note);
  }, 5_000);
  const sampler = (async () => {
    while (Date.now() < endAt) {
      for (const [name, node] of pg.nodes) {
        const client = podResourcesClient(node.paths.podResourcesSocket);
        try {
          const seen = new Map<string, string>();
          for (const d of await client.list()) {
            for (const id of d.deviceIds) {
              const holder = `${d.namespace}/${d.pod}`;
              if (seen.has(id) && seen.get(id) !== holder) podResourcesDoubles.push(`${id} on ${name}: ${seen.get(id)} and ${holder}`);
              seen.set(id, holder);
            }
          }
        } catch (e) {
          note(e);
        } finally {
          client.close();
        }
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  })();
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, 5_000));
    say(`${((Date.now() - t0) / 60_000).toFixed(1)} min: pods ${pods} (${podsCompleted} ok, ${podsFailed} failed), tasks ${tasks} (${tasksSucceeded} ok, ${tasksFailed} failed)`);
  }
  for (const t of timers) clearInterval(t);
  clearInterval(reaper);
  await sampler;

  const held = [...pg.nodes.keys()].flatMap((n) => containerGpus(n, readCriRecords(pg.nodes.get(n)!.paths.criRecords)));
  const doubles = [...doubleAllocations(held), ...podResourcesDoubles];
  const linkpackLogs = cp.processes().filter((p) => /^(extender|controller|agent-|device-plugin-)/.test(p.name));
  const logErrors = linkpackLogs.flatMap((p) =>
    readFileSync(p.log, 'utf8')
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l))
      .map((l) => `${p.name}: ${l.slice(0, 300)}`),
  );
  const warm = samples.filter((s) => s.atS >= (minutes * 60) / 5);
  const components: Record<string, { rssStartMiB: number; rssEndMiB: number; rssSlopeMiBPerHour: number }> = {};
  for (const name of Object.keys(samples[0]?.rssMiB ?? {})) {
    const pts = warm.map((s) => [s.atS / 3600, s.rssMiB[name]!] as [number, number]).filter((p) => Number.isFinite(p[1]));
    components[name] = {
      rssStartMiB: Math.round((warm[0]?.rssMiB[name] ?? NaN) * 10) / 10,
      rssEndMiB: Math.round((samples.at(-1)?.rssMiB[name] ?? NaN) * 10) / 10,
      rssSlopeMiBPerHour: Math.round(slope(pts) * 10) / 10,
    };
  }
  const result = {
    minutes,
    podsCreated: pods,
    podsCompleted,
    podsFailed,
    mltasksCreated: tasks,
    mltasksSucceeded: tasksSucceeded,
    mltasksFailed: tasksFailed,
    containersStarted: held.length,
    doubleAllocations: doubles.length,
    unexplainedErrors: logErrors.length + errors.length,
    firstErrors: [...logErrors, ...errors].slice(0, 10),
    firstDoubleAllocations: doubles.slice(0, 10),
    components,
  };
  await pg.down();
  console.log(json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  process.exitCode = doubles.length > 0 ? 1 : 0;
}

await main();
