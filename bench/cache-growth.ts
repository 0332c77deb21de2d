/**
 * `npm run bench:cache -- [--values 1000000] [--json]`
 *
 * RSS stays flat however many distinct annotation values pods carry: filter and prioritize calls
 * (through the real server, in process via inject) for pods whose linkpack.io/gpu-model,
 * gpu-memory-min, include-gpus and exclude-gpus values are all new, against a 100-node
 * ClusterCache. Prints RSS and heap after a GC every tenth of the run; flat = the last sample
 * within 10% (+16 MiB) of the sample at 20%.
 */
import { fileURLToPath } from 'node:url';
import { buildExtenderServer } from '../src/extender/server.js';
import { benchCluster, benchPod } from './http.js';
import { arg } from './child.js';


async function main(): Promise<void> {
  const values = Number(arg('--values') ?? 1_000_000);
  const json = process.argv.includes('--json');
  const nodes = 100;
  const cluster = benchCluster(nodes);
  const app = buildExtenderServer({ cluster, binder: { bind: async () => {} } });
  await app.ready();
  const names = Array.from({ length: 16 }, (_, i) => `gpu-node-${String(i).padStart(5, '0')}`);
  const gc = (globalThis as { gc?: () => void }).gc;
  const samples: { values: number; rssMiB: number; heapMiB: number }[] = [];
  const t0 = Date.now();
  for (let i = 0; i < values; i++) {
    const pod = benchPod();
    const node = i % 16;
    pod.metadata = {
      ...pod.metadata,
      name: `p-${i}`,
      uid: `uid-p-${i}`,
      annotations: {
        'linkpack.io/topology': 'prefer-nvlink',
        ...({
          'linkpack.io/gpu-model': i % 2 ? `H100,model-${i}` : `A${i}`,
          'linkpack.io/gpu-memory-min': `${(i % 81920) + 1}Mi`,
          'linkpack.io/include-gpus': [0, 1, 2, 3, 4, 5, 6, 7].filter((g) => (i >> g) & 1 || g === i % 8).map((g) => `GPU-${node}-${g}`).join(','),
          'linkpack.io/exclude-gpus': `GPU-${(i >> 3) % 16}-${(i >> 7) % 8},GPU-x-${i}`,
        } as Record<string, string>),
      } as { 'linkpack.io/topology': string },
    };
    const payload = JSON.stringify({ Pod: pod, Nodes: null, NodeNames: names });
    const r = await app.inject({ method: 'POST', url: i % 2 ? '/filter' : '/prioritize', headers: { 'content-type': 'application/json' }, payload });
    if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode}: ${r.body.slice(0, 300)}`);
    if ((i + 1) % (values / 10) === 0) {
      gc?.();
      const m = process.memoryUsage();
      samples.push({ values: i + 1, rssMiB: Math.round(m.rss / 1048576), heapMiB: Math.round(m.heapUsed / 1048576) });
      if (!json) console.error(`${i + 1} values, ${Math.round((Date.now() - t0) / 1000)} s: RSS ${samples.at(-1)!.rssMiB} MiB, heap ${samples.at(-1)!.heapMiB} MiB`);
    }
  }
  await app.close();
  const at20 = samples[1] ?? samples[0]!;
  const last = samples.at(-1)!;
  const flat = last.rssMiB <= at20.rssMiB * 1.1 + 16;
  if (json) console.log(JSON.stringify({ values, seconds: Math.round((Date.now() - t0) / 1000), gcExposed: gc !== undefined, samples, flat }));
  else console.log(`${values} distinct values: RSS ${samples.map((s) => s.rssMiB).join(' → ')} MiB → ${flat ? 'flat' : 'GROWING'}`);
  process.exit(flat ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(2);
  });
}
