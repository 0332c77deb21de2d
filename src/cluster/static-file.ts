/**
 * A cluster from a file: multi-document YAML (or JSON) of Node, GPUNode and Pod objects (a `List`
 * of them also works), for `linkpack extender --cluster-file`, demos and tests. Binds go into the
 * same in-memory cache (StaticPodBinder), so a file-backed extender behaves like a live one.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { ClusterCache, type ClusterCacheOptions } from './cache.js';
import { GPUNODE_KIND, parseGpuNode } from './gpunode.js';
import { podFacts } from './pod.js';
import { clusterFileProblem } from './static-checks.js';
import type { PodBinder } from './types.js';

export class ClusterFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterFileError';
  }
}

export interface ClusterFileContents {
  nodes: Record<string, unknown>[];
  gpuNodes: Record<string, unknown>[];
  pods: Record<string, unknown>[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse and check the file's objects; errors name the source, the document number and the field. */
export function parseClusterFile(text: string, source: string): ClusterFileContents {
  const out: ClusterFileContents = { nodes: [], gpuNodes: [], pods: [] };
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, di) => {
    const at = `${source}: document ${di + 1}`;
    const yamlErr = doc.errors[0];
    if (yamlErr) throw new ClusterFileError(`${at}: YAML error at line ${yamlErr.linePos?.[0].line ?? '?'}: ${yamlErr.message.split('\n')[0]}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // empty document (e.g. trailing ---)
    const items = isObj(value) && value.kind === 'List' ? value.items : [value];
    if (!Array.isArray(items)) throw new ClusterFileError(`${at}: List.items must be a list`);
    items.forEach((item, ii) => classify(item, items.length > 1 || value !== item ? `${at}, items[${ii}]` : at, out));
  });
  checkReferences(out, source);
  const problem = clusterFileProblem(out, source);
  if (problem) throw new ClusterFileError(problem);
  return out;
}

function classify(item: unknown, at: string, out: ClusterFileContents): void {
  if (!isObj(item)) throw new ClusterFileError(`${at}: expected a Kubernetes object, got ${JSON.stringify(item)}`);
  const kind = item.kind;
  const meta = item.metadata;
  if (typeof kind !== 'string') throw new ClusterFileError(`${at}: field "kind" is missing`);
  if (!isObj(meta) || typeof meta.name !== 'string' || meta.name === '') throw new ClusterFileError(`${at} (${kind}): field "metadata.name" is missing`);
  const where = `${at} (${kind} ${meta.name})`;
  switch (kind) {
    case 'Node':
      out.nodes.push(item);
      return;
    case GPUNODE_KIND: {
      const p = parseGpuNode(item);
      if (!p.ok) throw new ClusterFileError(`${at}: ${p.error}`);
      out.gpuNodes.push(item);
      return;
    }
    case 'Pod': {
      const pod = { ...item, metadata: { namespace: 'default', ...meta } } as Obj;
      const m = pod.metadata as Obj;
      // Files rarely carry uids; a stable one keeps assignments and binds addressable.
      if (typeof m.uid !== 'string' || m.uid === '') m.uid = `static-${m.namespace}-${m.name}`;
      if (typeof m.resourceVersion !== 'string') m.resourceVersion = '1';
      const facts = podFacts(pod)!;
      if (facts.problems.length > 0) throw new ClusterFileError(`${where}: ${facts.problems[0]}`);
      out.pods.push(pod);
      return;
    }
    default:
      throw new ClusterFileError(`${where}: field "kind": "${kind}" is not supported here (Node, GPUNode, Pod, List)`);
  }
}

function checkReferences(c: ClusterFileContents, source: string): void {
  const known = new Set([...c.nodes, ...c.gpuNodes].map((o) => (o.metadata as Obj).name as string));
  const seen = new Set<string>();
  for (const p of c.pods) {
    const m = p.metadata as Obj;
    const ref = `${m.namespace}/${m.name}`;
    if (seen.has(ref)) throw new ClusterFileError(`${source}: Pod ${ref} appears twice`);
    seen.add(ref);
    const node = isObj(p.spec) ? p.spec.nodeName : undefined;
    if (typeof node === 'string' && node !== '' && !known.has(node)) {
      throw new ClusterFileError(`${source}: Pod ${ref}: field "spec.nodeName": node "${node}" has no Node or GPUNode in the file`);
    }
  }
}

/** Load a cluster file into a new, synced cache (heartbeats are not checked unless asked: a file is a snapshot). */
export async function loadClusterFile(path: string, opts: ClusterCacheOptions = {}): Promise<{ cache: ClusterCache; contents: ClusterFileContents }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ClusterFileError(`${path}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const contents = parseClusterFile(text, path);
  const cache = new ClusterCache({ heartbeatTimeoutMs: Infinity, ...opts });
  for (const g of contents.gpuNodes) {
    const err = cache.upsertGpuNode(g);
    if (err) throw new ClusterFileError(`${path}: ${err}`);
  }
  for (const p of contents.pods) cache.upsertPod(p);
  // Nodes with status.allocatable give the CPU and memory side of scoring.
  cache.replaceNodes(contents.nodes);
  cache.markSynced('static', true);
  return { cache, contents };
}

/** A PodBinder that writes binds into the cache itself, with the API server's checks. */
export class StaticPodBinder implements PodBinder {
  readonly binds: Parameters<PodBinder['bind']>[0][] = [];

  constructor(private readonly cache: ClusterCache) {}

  async bind(args: Parameters<PodBinder['bind']>[0]): Promise<void> {
    const ref = `${args.namespace}/${args.name}`;
    // A pod only kube-scheduler knows (not in the file): it exists from now on, as created.
    const cur = (this.cache.getPod(args.namespace, args.name) ?? (isObj(args.pod) ? args.pod : undefined)) as Obj | undefined;
    if (!cur) throw new Error(`pod ${ref} not found`);
    const meta = cur.metadata as Obj;
    if (args.uid && meta.uid !== args.uid) throw new Error(`pod ${ref} has uid ${String(meta.uid)}, not ${args.uid}`);
    if (args.resourceVersion !== undefined && meta.resourceVersion !== args.resourceVersion) {
      throw new Error(`pod ${ref} changed since it was scheduled (resourceVersion ${String(meta.resourceVersion)}, expected ${args.resourceVersion})`);
    }
    const spec = isObj(cur.spec) ? cur.spec : {};
    if (typeof spec.nodeName === 'string' && spec.nodeName !== '') throw new Error(`pod ${ref} is already assigned to node "${spec.nodeName}"`);
    const next: Obj = structuredClone(cur);
    const nextMeta = next.metadata as Obj;
    nextMeta.annotations = { ...(isObj(meta.annotations) ? meta.annotations : {}), ...args.annotations };
    const rv = Number(meta.resourceVersion);
    nextMeta.resourceVersion = String(Number.isFinite(rv) ? rv + 1 : 1);
    next.spec = { ...spec, nodeName: args.node };
    this.cache.upsertPod(next);
    this.binds.push(structuredClone(args));
  }
}
