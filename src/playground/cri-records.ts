/**
 * The fake CRI runtime's records (test/kube/fakecri): one JSON line per CreateContainer request,
 * start, exit and stop. From them, which GPUs each container was given and when it held them, so a
 * test can prove from the runtime's side that no GPU was in two running containers at once.
 */
import { existsSync, readFileSync } from 'node:fs';

/** One line of the records file. Only `create` lines carry the container's config. */
export interface CriRecord {
  event: 'create' | 'start' | 'exit' | 'stop';
  time: string;
  containerId: string;
  podNamespace?: string;
  podName?: string;
  podUid?: string;
  containerName?: string;
  attempt?: number;
  envs?: Record<string, string>;
  devices?: string[];
  cdiDevices?: string[];
  mounts?: string[];
  annotations?: Record<string, string>;
}

export function readCriRecords(file: string): CriRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CriRecord);
}

/** A container that ran, with the GPUs its config named and its running interval (ms since epoch). */
export interface ContainerGpus {
  node: string;
  containerId: string;
  pod: string;
  gpus: string[];
  startMs: number;
  /** Infinity while still running. */
  endMs: number;
}

/** The GPU UUIDs a container config names: NVIDIA_VISIBLE_DEVICES, or CDI names `nvidia.com/gpu=<uuid>`. */
export function configGpus(r: CriRecord): string[] {
  const env = r.envs?.NVIDIA_VISIBLE_DEVICES;
  const fromEnv = env && env !== 'all' && env !== 'none' && env !== 'void' ? env.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
  const fromCdi = (r.cdiDevices ?? []).map((d) => /^[^=]+\/gpu=(.+)$/.exec(d)?.[1]).filter((x): x is string => !!x);
  return [...new Set([...fromEnv, ...fromCdi])];
}

/** The containers that started, each with the GPUs it was given and when it held them. */
export function containerGpus(node: string, records: readonly CriRecord[]): ContainerGpus[] {
  const created = new Map<string, CriRecord>();
  const out = new Map<string, ContainerGpus>();
  for (const r of records) {
    const t = Date.parse(r.time);
    if (r.event === 'create' || r.event === undefined) created.set(r.containerId, r);
    else if (r.event === 'start') {
      const c = created.get(r.containerId);
      if (!c) continue;
      out.set(r.containerId, { node, containerId: r.containerId, pod: `${c.podNamespace}/${c.podName}`, gpus: configGpus(c), startMs: t, endMs: Infinity });
    } else {
      const c = out.get(r.containerId);
      if (c && c.endMs === Infinity) c.endMs = t;
    }
  }
  return [...out.values()];
}

/** Every pair of containers that held the same GPU at overlapping times, in words. */
export function doubleAllocations(containers: readonly ContainerGpus[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < containers.length; i++) {
    for (let j = i + 1; j < containers.length; j++) {
      const a = containers[i]!;
      const b = containers[j]!;
      if (a.node !== b.node || a.startMs >= b.endMs || b.startMs >= a.endMs) continue;
      for (const g of a.gpus) if (b.gpus.includes(g)) out.push(`${g} on ${a.node}: ${a.pod} and ${b.pod} at once`);
    }
  }
  return out;
}
