import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { thrownBy } from '../support/thrown.js';
import { loadNodeCsv, loadPodCsv, parseNodeCsv, parsePodCsv, TraceError, workloadNameOf } from '../../src/sim/trace.js';

const POD_HEADER = 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time';

const errorOf = (fn: () => unknown): TraceError => thrownBy(fn, TraceError);

describe('node list loader', () => {
  it('parses good rows', () => {
    const nodes = parseNodeCsv('sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\nn1,96000,786432,8,G2\nn2,32000,65536,0,\n', 'nodes.csv');
    expect(nodes).toEqual([
      { name: 'n0', cpuMilli: 64000, memoryMiB: 262144, gpuCount: 2, model: 'P100' },
      { name: 'n1', cpuMilli: 96000, memoryMiB: 786432, gpuCount: 8, model: 'G2' },
      { name: 'n2', cpuMilli: 32000, memoryMiB: 65536, gpuCount: 0, model: '' },
    ]);
  });

  it.each([
    ['sn,cpu_milli,memory_mib,gpu\nn0,1,1,1\n', 1, undefined, /lacks column\(s\) model/],
    ['sn,cpu_milli,memory_mib,gpu,model\nn0,64000,1,2,P100\nn1,abc,1,2,P100\n', 3, 'cpu_milli', /expected an integer, got "abc"/],
    ['sn,cpu_milli,memory_mib,gpu,model\nn0,64000,1,99,P100\n', 2, 'gpu', /out of range 0\.\.16/],
    ['sn,cpu_milli,memory_mib,gpu,model\nn0,64000,1,2\n', 2, undefined, /expected 5 fields, found 4/],
    ['sn,cpu_milli,memory_mib,gpu,model\nn0,64000,1,2,\n', 2, 'model', /no model/],
    ['sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,1,T4\nn0,1,1,1,T4\n', 3, 'sn', /duplicate node name/],
    ['sn,cpu_milli,memory_mib,gpu,model\n,1,1,1,T4\n', 2, 'sn', /empty node name/],
    ['sn,cpu_milli,memory_mib,gpu,model\nn0,-5,1,1,T4\n', 2, 'cpu_milli', /out of range/],
  ])('rejects malformed input %#', (text, line, column, message) => {
    const e = errorOf(() => parseNodeCsv(text, 'nodes.csv'));
    expect(e.file).toBe('nodes.csv');
    expect(e.line).toBe(line);
    expect(e.column).toBe(column);
    expect(e.message).toMatch(message);
    expect(e.message.startsWith(`nodes.csv:${line}`)).toBe(true);
  });

  it('rejects an empty file and names a missing one', () => {
    expect(errorOf(() => parseNodeCsv('', 'empty.csv')).message).toMatch(/empty\.csv:1: empty file/);
    const missing = path.join(tmpdir(), 'no-such-linkpack-nodes.csv');
    const e = errorOf(() => loadNodeCsv(missing));
    expect(e.message).toBe(`${missing}: file not found`);
  });
});

describe('pod list loader', () => {
  it('parses all documented columns, gpu_spec with |, and empty times', () => {
    const text = `${POD_HEADER}\np0,12000,16384,1,1000,,LS,Running,0,12537496,0\np1,6000,12288,1,460,V100M16|V100M32,BE,Failed,5,,\np2,8000,0,0,0,,LS,Pending,,,\n`;
    const pods = parsePodCsv(text, 'pods.csv');
    expect(pods[0]).toEqual({
      name: 'p0',
      cpuMilli: 12000,
      memoryMiB: 16384,
      gpuCount: 1,
      milliPerGpu: 1000,
      gpuSpec: [],
      qos: 'LS',
      phase: 'Running',
      creationTime: 0,
      deletionTime: 12537496,
      scheduledTime: 0,
    });
    expect(pods[1].gpuSpec).toEqual(['V100M16', 'V100M32']);
    expect(pods[1].deletionTime).toBeUndefined();
    expect(pods[2]).toMatchObject({ gpuCount: 0, milliPerGpu: 0, memoryMiB: 0 });
  });

  it('parses the five-column multigpu files', () => {
    const pods = parsePodCsv('name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,88000,327680,8,1000\n', 'openb_pod_list_multigpu50.csv');
    expect(pods).toEqual([{ name: 'p0', cpuMilli: 88000, memoryMiB: 327680, gpuCount: 8, milliPerGpu: 1000, gpuSpec: [] }]);
  });

  it.each([
    [`${POD_HEADER}\np0,1,1,2,500,,LS,Running,0,1,0\n`, 2, 'gpu_milli', /needs num_gpu 1/],
    [`${POD_HEADER}\np0,1,1,0,500,,LS,Running,0,1,0\n`, 2, 'gpu_milli', /num_gpu is 0/],
    [`${POD_HEADER}\np0,1,1,1,0,,LS,Running,0,1,0\n`, 2, 'gpu_milli', /gpu_milli is 0/],
    [`${POD_HEADER}\np0,1,1,1,1001,,LS,Running,0,1,0\n`, 2, 'gpu_milli', /out of range 0\.\.1000/],
    [`${POD_HEADER}\np0,1,1,1,1000,,LS,Running,zero,1,0\n`, 2, 'creation_time', /integer time/],
    [`${POD_HEADER}\np0,1,1,1,1000,,LS\n`, 2, undefined, /expected 11 fields, found 7/],
    ['name,cpu_milli,memory_mib,num_gpu\np0,1,1,1\n', 1, undefined, /lacks column\(s\) gpu_milli/],
    [`${POD_HEADER}\np0,1,1,1,1000,,LS,Running,0,1,0\np1,1,1,x,1000,,LS,Running,0,1,0\n`, 3, 'num_gpu', /expected an integer, got "x"/],
    [`${POD_HEADER}\n,1,1,1,1000,,LS,Running,0,1,0\n`, 2, 'name', /empty pod name/],
  ])('rejects malformed row %#', (text, line, column, message) => {
    const e = errorOf(() => parsePodCsv(text, 'pods.csv'));
    expect([e.file, e.line, e.column]).toEqual(['pods.csv', line, column]);
    expect(e.message).toMatch(message);
  });

  it('reports broken CSV quoting with the file name', () => {
    const e = errorOf(() => parsePodCsv(`${POD_HEADER}\n"p0,1,1,1,1000,,LS,Running,0,1,0\n`, 'pods.csv'));
    expect(e.message).toMatch(/^pods\.csv.*not valid CSV/);
  });

  it('loads from disk and names the workload', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'linkpack-trace-'));
    const file = path.join(dir, 'openb_pod_list_gpushare40.csv');
    writeFileSync(file, 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,1024,1,250\n');
    expect(loadPodCsv(file)).toHaveLength(1);
    expect(workloadNameOf(file)).toBe('gpushare40');
    writeFileSync(file, 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\n');
    expect(errorOf(() => loadPodCsv(file)).message).toBe(`${file}: no pods in file`);
  });
});
