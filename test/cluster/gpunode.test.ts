import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { gpuNodeObject, parseGpuNode, type GpuNodeObject } from '../../src/cluster/gpunode.js';
import { compileTopology } from '../../src/core/index.js';
import { getPreset, listPresets } from '../../src/topology/index.js';
import { parseTopoMatrix } from '../../src/topology/parse-topo-matrix.js';
import { checkStructural, schemaAt, validate, type Schema } from '../support/openapi-check.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env.LINKPACK_SHARED ?? path.resolve(repoRoot, '../shared');
const dgxA100Topo = path.join(shared, 'fixtures/nvidia-smi/topo-dgx-a100-8gpu-nv12-10nic.txt');
const crdPath = path.join(repoRoot, 'deploy/crds/gpunodes.linkpack.io.yaml');

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('GPUNode parse / build', () => {
  it('round-trips a preset topology with health, heartbeat, assignments and an owner reference', () => {
    const topo = getPreset('dgx1-v100')!;
    topo.gpus.forEach((g) => (g.uuid = `GPU-${g.index}0000000-aaaa`));
    const hb = new Date('2026-11-26T10:00:00Z');
    const obj = gpuNodeObject('node-a', topo, { nodeUid: 'uid-node-a', heartbeat: hb, unhealthy: { 3: ['XID 79', 'fell off the bus'] }, assignments: [{ pod: 'ml/a', uid: 'u1', gpus: [0, 1] }] });
    expect(obj.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'v1', kind: 'Node', name: 'node-a', uid: 'uid-node-a' })]);
    expect(obj.status?.healthyCount).toBe(7);
    const parsed = parseGpuNode(JSON.parse(JSON.stringify(obj)));
    if (!parsed.ok) throw new Error(parsed.error);
    const { record, kubeletAssignments } = parsed.value;
    expect(record.name).toBe('node-a');
    expect(record.topology.gpus).toEqual(topo.gpus);
    expect(record.topology.links).toEqual(topo.links);
    expect(record.unhealthy).toEqual({ 3: 'XID 79; fell off the bus' });
    expect(record.heartbeatMs).toBe(hb.getTime());
    expect(kubeletAssignments).toEqual([{ pod: 'ml/a', uid: 'u1', gpus: [0, 1] }]);
    expect(compileTopology(record.topology).n).toBe(8);
  });

  it.skipIf(!existsSync(dgxA100Topo))('carries a real DGX A100 `nvidia-smi topo -m` through a GPUNode (needs ../shared fixtures)', () => {
    const real = parseTopoMatrix(readFileSync(dgxA100Topo, 'utf8'), dgxA100Topo).topology;
    const parsed = parseGpuNode(JSON.parse(JSON.stringify(gpuNodeObject('dgx', real))));
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.record.topology.links).toEqual(real.links);
    expect(parsed.value.record.topology.gpus.map((g) => g.numaNode)).toEqual(real.gpus.map((g) => g.numaNode));
  });

  it('treats degraded NVLink pairs as missing (SYS) for placement, keeps the baseline in status, and reads Unknown health as not usable', () => {
    const obj = gpuNodeObject('n', getPreset('dgx-a100')!, {
      health: { 2: { health: 'Unknown', reasons: ['not read: nvidia-smi timed out'] }, 5: { health: 'Unhealthy', reasons: ['GPU lost'] } },
      degradedLinks: [{ gpus: [0, 1], reasons: ['GPU 0 NVLink 3 inactive (active at baseline)'] }],
      pciBusIds: { 0: '00000000:07:00.0' },
      assignments: [{ pod: 'ml/a', gpus: [3, 4], containers: [{ name: 'main', gpus: [3, 4] }] }],
    });
    expect(obj.status!.links[0][1]).toBe('NV12');
    expect(obj.status!.gpus[2].health).toBe('Unknown');
    expect(obj.status!.healthyCount).toBe(6);
    const r = parseGpuNode(JSON.parse(JSON.stringify(obj)));
    if (!r.ok) throw new Error(r.error);
    expect(r.value.record.topology.links[0][1]).toBe('SYS');
    expect(r.value.record.topology.links[1][0]).toBe('SYS');
    expect(r.value.record.topology.links[0][2]).toBe('NV12');
    expect(r.value.record.unhealthy).toEqual({ 2: 'health unknown: not read: nvidia-smi timed out', 5: 'GPU lost' });
    expect(r.value.degradedLinks).toEqual([{ gpus: [0, 1], reasons: ['GPU 0 NVLink 3 inactive (active at baseline)'] }]);
    expect(r.value.kubeletAssignments[0].containers).toEqual([{ name: 'main', gpus: [3, 4] }]);
    const bad = JSON.parse(JSON.stringify(obj));
    bad.status.degradedLinks = [{ gpus: [0, 9] }];
    const rb = parseGpuNode(bad);
    expect(rb.ok ? '' : rb.error).toMatch(/status\.degradedLinks\[0\]\.gpus: expected two different GPU indices below 8, got \[0, 9\]/);
  });

  const good = (): Any => JSON.parse(JSON.stringify(gpuNodeObject('n1', getPreset('pcie-4x')!, { heartbeat: new Date(0) })));
  const cases: [string, (o: Any) => unknown, RegExp][] = [
    ['not an object', () => 'x', /^GPUNode: not an object/],
    ['no name', (o) => (delete o.metadata.name, o), /metadata\.name is missing/],
    ['wrong kind', (o) => ((o.kind = 'Node'), o), /GPUNode "n1": kind is "Node"/],
    ['no status', (o) => (delete o.status, o), /GPUNode "n1": status is missing/],
    ['empty gpus', (o) => ((o.status.gpus = []), o), /status\.gpus: expected a non-empty list/],
    ['index gap', (o) => ((o.status.gpus[2].index = 7), o), /indices must be 0\.\.3.*0,1,3,7/],
    ['bad index type', (o) => ((o.status.gpus[1].index = '1'), o), /status\.gpus\[1\]\.index: expected an integer/],
    ['bad health', (o) => ((o.status.gpus[0].health = 'Sick'), o), /status\.gpus\[0\]\.health: expected "Healthy", "Unhealthy" or "Unknown", got "Sick"/],
    ['negative memory', (o) => ((o.status.gpus[0].memoryMiB = -1), o), /status\.gpus\[0\]\.memoryMiB/],
    ['short links', (o) => (o.status.links.pop(), o), /status\.links: expected 4 rows/],
    ['ragged links', (o) => (o.status.links[2].pop(), o), /status\.links\[2\]: expected 4 cells/],
    ['non-string cell', (o) => ((o.status.links[1][0] = 5), o), /status\.links\[1\]\[0\]: expected a legend string/],
    ['bad heartbeat', (o) => ((o.status.heartbeatTime = 'yesterday'), o), /status\.heartbeatTime: expected an RFC 3339 time, got "yesterday"/],
    ['bad nvlink speed', (o) => ((o.status.nvlinkGBpsPerLink = 0), o), /status\.nvlinkGBpsPerLink/],
    ['bad assignment', (o) => ((o.status.assignments = [{ pod: 'nonamespace', gpus: [0] }]), o), /status\.assignments\[0\]\.pod/],
  ];
  it.each(cases)('rejects %s with an error naming the GPUNode and field, without throwing', (_n, mutate, re) => {
    const r = parseGpuNode(mutate(good()));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(re);
  });

  it('treats a missing heartbeat as never (heartbeatMs undefined) and missing health reasons as a generic reason', () => {
    const o = good();
    delete o.status.heartbeatTime;
    o.status.gpus[2].health = 'Unhealthy';
    const r = parseGpuNode(o);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.record.heartbeatMs).toBeUndefined();
    expect(r.value.record.unhealthy).toEqual({ 2: 'reported Unhealthy by the agent' });
  });
});

describe('GPUNode CRD (deploy/crds/gpunodes.linkpack.io.yaml)', () => {
  const docs = parseAllDocuments(readFileSync(crdPath, 'utf8'));
  const crd = (Array.isArray(docs) ? docs : [docs])[0]!.toJS() as Any;
  const version = crd.spec.versions[0];
  const schema = version.schema.openAPIV3Schema as Schema;

  it('is an apiextensions.k8s.io/v1 CRD with consistent names, one storage version and a status subresource', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.${crd.spec.group}`);
    expect(crd.spec).toMatchObject({ group: 'linkpack.io', scope: 'Cluster', names: { kind: 'GPUNode', listKind: 'GPUNodeList', plural: 'gpunodes', singular: 'gpunode' } });
    expect(crd.spec.versions.filter((v: Any) => v.storage)).toHaveLength(1);
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
    expect(crd.spec.names.singular).toBe(crd.spec.names.plural.replace(/s$/, ''));
  });

  it('has a structural schema and printer columns that point at declared fields of the right type', () => {
    expect(checkStructural(schema)).toEqual([]);
    for (const col of version.additionalPrinterColumns) {
      expect(['integer', 'number', 'string', 'boolean', 'date']).toContain(col.type);
      if (col.jsonPath.startsWith('.metadata')) continue;
      const target = schemaAt(schema, col.jsonPath);
      expect(target, `${col.name} → ${col.jsonPath}`).toBeDefined();
      expect(col.type === 'date' ? 'string' : col.type).toBe(target!.type);
    }
  });

  it.each(listPresets().map((p) => p.name))('validates gpuNodeObject() of preset %s, with nothing pruned', (name) => {
    const obj: GpuNodeObject = gpuNodeObject('n', getPreset(name)!, { nodeUid: 'u', unhealthy: { 0: ['XID 48'] }, assignments: [{ pod: 'a/b', uid: 'x', gpus: [1] }] });
    expect(validate(JSON.parse(JSON.stringify(obj)), schema)).toEqual([]);
  });

  it('validates the agent-only fields: Unknown health, pciBusId, degraded links, per-container assignments', () => {
    const obj = gpuNodeObject('n', getPreset('dgx-a100')!, {
      health: { 2: { health: 'Unknown', reasons: ['not read'] } },
      pciBusIds: { 0: '00000000:07:00.0' },
      degradedLinks: [{ gpus: [0, 1], reasons: ['x'] }],
      assignments: [{ pod: 'a/b', gpus: [1], containers: [{ name: 'c', gpus: [1] }] }],
    });
    expect(validate(JSON.parse(JSON.stringify(obj)), schema)).toEqual([]);
  });

  it('the checker does catch violations (so the validation above can fail)', () => {
    const obj = JSON.parse(JSON.stringify(gpuNodeObject('n', getPreset('pcie-4x')!))) as Any;
    obj.status.gpus[0].health = 'Sick';
    obj.status.links[0][1] = 'NVLINK';
    obj.status.heartbeatTime = 'noon';
    obj.status.gpus[1].temperatureC = 40;
    delete obj.status.gpus[2].index;
    expect(validate(obj, schema)).toEqual([
      expect.stringMatching(/^status\.gpus\[0\]\.health: Unsupported value "Sick"/),
      expect.stringMatching(/^status\.gpus\[1\]\.temperatureC: field not declared/),
      expect.stringMatching(/^status\.gpus\[2\]\.index: Required value/),
      expect.stringMatching(/^status\.links\[0\]\[1\]: "NVLINK" does not match/),
      expect.stringMatching(/^status\.heartbeatTime: "noon" is not an RFC 3339 date-time/),
    ]);
  });
});
