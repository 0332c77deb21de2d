import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTopoMatrix } from '../../src/topology/parse-topo-matrix.js';
import { expandTabs, onlyParseErrors, ownFixture, parseErrorOf } from '../support/nvidia-smi-fixtures.js';


describe('parseTopoMatrix on hand-written samples (test/fixtures/nvidia-smi)', () => {
  it('reads the newer TAB layout: GPU NUMA ID with its extra empty cell, NIC rows, NIC Legend', () => {
    const m = parseTopoMatrix(ownFixture('topo-tab-4gpu-2island-gpu-numa-id.txt'), 'sample');
    expect(m.topology.name).toBe('sample');
    expect(m.topology.links).toEqual([
      ['X', 'NV4', 'SYS', 'SYS'],
      ['NV4', 'X', 'SYS', 'SYS'],
      ['SYS', 'SYS', 'X', 'NV4'],
      ['SYS', 'SYS', 'NV4', 'X'],
    ]);
    expect(m.topology.gpus).toEqual([
      { index: 0, numaNode: 0, cpuAffinity: '0-15,32-47' },
      { index: 1, numaNode: 0, cpuAffinity: '0-15,32-47' },
      { index: 2, numaNode: 1, cpuAffinity: '16-31,48-63' },
      { index: 3, numaNode: 1, cpuAffinity: '16-31,48-63' },
    ]);
    expect(m.nics).toEqual([
      { name: 'NIC0', device: 'mlx5_bond_0' },
      { name: 'NIC1', device: 'mlx5_2' },
    ]);
    expect(m.gpuNicLinks).toEqual([
      ['PIX', 'SYS'],
      ['PIX', 'SYS'],
      ['SYS', 'PXB'],
      ['SYS', 'PXB'],
    ]);
  });

  it('gives null affinity when the CPU and NUMA cells are empty', () => {
    const m = parseTopoMatrix(ownFixture('topo-tab-empty-affinity.txt'));
    expect(m.topology.gpus).toEqual([
      { index: 0, numaNode: null, cpuAffinity: null },
      { index: 1, numaNode: null, cpuAffinity: null },
    ]);
    expect(m.topology.links).toEqual([
      ['X', 'NV18'],
      ['NV18', 'X'],
    ]);
    expect(m.topology.name).toBeUndefined();
  });

  it('keeps NUMA Affinity in its column when only CPU Affinity is empty', () => {
    const m = parseTopoMatrix(ownFixture('topo-tab-empty-cpu-numa-present.txt'));
    expect(m.topology.gpus.map((g) => [g.cpuAffinity, g.numaNode])).toEqual([
      [null, 1],
      [null, 1],
    ]);
  });

  it('reads the older layout that pads short values with extra TABs', () => {
    const m = parseTopoMatrix(ownFixture('topo-tab-old-padded-layout.txt'));
    expect(m.topology.gpus).toEqual([
      { index: 0, numaNode: null, cpuAffinity: '0-11' },
      { index: 1, numaNode: null, cpuAffinity: '0-11' },
    ]);
    expect(m.topology.links[0][1]).toBe('PHB');
  });

  it('reads a space-aligned legacy copy and turns SOC into SYS', () => {
    const m = parseTopoMatrix(ownFixture('topo-spaces-legacy-soc.txt'));
    expect(m.topology.links).toEqual([
      ['X', 'PIX', 'SYS', 'SYS'],
      ['PIX', 'X', 'SYS', 'SYS'],
      ['SYS', 'SYS', 'X', 'PIX'],
      ['SYS', 'SYS', 'PIX', 'X'],
    ]);
    expect(m.topology.gpus.map((g) => g.cpuAffinity)).toEqual(['0-7,16-23', '0-7,16-23', '8-15,24-31', '8-15,24-31']);
    expect(m.topology.gpus.every((g) => g.numaNode === null)).toBe(true);
    expect(m.nics).toEqual([{ name: 'mlx4_0', device: 'mlx4_0' }]);
    expect(m.gpuNicLinks).toEqual([['PHB'], ['PHB'], ['SYS'], ['SYS']]);
  });

  it('rejects a partial copy, naming the missing GPU row', () => {
    const err = parseErrorOf(() => parseTopoMatrix(ownFixture('topo-partial-missing-gpu3.txt'), 'partial.txt'));
    expect(err.message).toContain('header lists GPU0..GPU3 but no row for GPU3');
    expect(err.line).toBe(5);
    expect(err.source).toBe('partial.txt');
    expect(err.message.startsWith('partial.txt:5: ')).toBe(true);
  });

  it('rejects a glued cell, naming row and column', () => {
    const err = parseErrorOf(() => parseTopoMatrix(ownFixture('topo-bad-cell.txt')));
    expect(err.message).toContain("cell (row GPU0, column GPU2) is 'PH0-115'");
    expect(err.line).toBe(2);
  });
});

const HEADER = '\tGPU0\tGPU1\tCPU Affinity\tNUMA Affinity';

describe('parseTopoMatrix errors', () => {
  const cases: [string, string, RegExp, number | undefined][] = [
    ['empty input', '', /empty input/, undefined],
    ['blank lines only', '\n  \n\t\n', /empty input/, undefined],
    ['no header', 'GPU0\t X \tNV1\nGPU1\tNV1\t X \n', /expected the header row/, 1],
    ['prose instead of output', 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.', /expected the header row/, 1],
    [
      'asymmetric matrix',
      `${HEADER}\nGPU0\t X \tNV2\t0-7\t0\nGPU1\tNV1\t X \t0-7\t0\n`,
      /not symmetric: \(GPU0, GPU1\) is 'NV2' on line 2 but \(GPU1, GPU0\) is 'NV1'/,
      3,
    ],
    ['non-X diagonal', `${HEADER}\nGPU0\tNV2\tNV2\t0-7\t0\nGPU1\tNV2\t X \t0-7\t0\n`, /diagonal cell \(GPU0, GPU0\) is 'NV2'; expected X/, 2],
    ['X off the diagonal', `${HEADER}\nGPU0\t X \t X \t0-7\t0\nGPU1\tNV2\t X \t0-7\t0\n`, /cell \(row GPU0, column GPU1\) is 'X'/, 2],
    ['unknown cell value', `${HEADER}\nGPU0\t X \tNVL\t0-7\t0\nGPU1\tNVL\t X \t0-7\t0\n`, /cell \(row GPU0, column GPU1\) is 'NVL'/, 2],
    ['lower-case cell', `${HEADER}\nGPU0\t X \tsys\t0-7\t0\nGPU1\tsys\t X \t0-7\t0\n`, /'sys'/, 2],
    ['short row', `${HEADER}\nGPU0\t X \nGPU1\tSYS\t X \t0-7\t0\n`, /row GPU0 has 1 link cell\(s\) before the line ends; expected 2/, 2],
    ['empty link cell', `${HEADER}\nGPU0\t X \t\t0-7\t0\nGPU1\tSYS\t X \t0-7\t0\n`, /row GPU0 has 1 link cell\(s\) before an empty cell; expected 2/, 2],
    ['too many values', `${HEADER}\nGPU0\t X \tSYS\tSYS\t0-7\t0\nGPU1\tSYS\t X \t0-7\t0\n`, /row GPU0 has 3 values after its 2 link cells/, 2],
    ['unknown row', `${HEADER}\nGPU0\t X \tSYS\t0-7\t0\nGPU9\tSYS\t X \t0-7\t0\n`, /row 'GPU9' is not one of the header's columns/, 3],
    ['repeated row', `${HEADER}\nGPU0\t X \tSYS\t0-7\t0\nGPU0\t X \tSYS\t0-7\t0\n`, /second row for GPU0 \(first on line 2\)/, 3],
    ['GPU columns out of order', '\tGPU1\tGPU0\tCPU Affinity\nGPU1\t X \tSYS\t0\n', /'GPU1' is out of order; expected GPU0|expected the header row/, 1],
    ['GPU after NIC', '\tGPU0\tNIC0\tGPU1\nGPU0\t X \tSYS\tSYS\n', /'GPU1' is out of order/, 1],
    ['device after the affinity columns', '\tGPU0\tCPU Affinity\tNIC0\nGPU0\t X \t0\tSYS\n', /'NIC0' comes after 'CPU Affinity'/, 1],
    ['bad CPU affinity', `${HEADER}\nGPU0\t X \tSYS\tall\t0\nGPU1\tSYS\t X \t0-7\t0\n`, /CPU Affinity of GPU0 is 'all'/, 2],
    ['bad NUMA affinity', `${HEADER}\nGPU0\t X \tSYS\t0-7\tnode0\nGPU1\tSYS\t X \t0-7\t0\n`, /NUMA Affinity of GPU0 is 'node0'/, 2],
    ['bad GPU NUMA ID', `${HEADER}\tGPU NUMA ID\nGPU0\t X \tSYS\t0-7\t0\t\tx\nGPU1\tSYS\t X \t0-7\t0\t\tN/A\n`, /GPU NUMA ID of GPU0 is 'x'/, 2],
    ['only the header', `${HEADER}\n`, /header lists GPU0..GPU1 but no row for GPU0, GPU1/, 2],
  ];
  it.each(cases)('%s', (_name, text, message, line) => {
    const err = parseErrorOf(() => parseTopoMatrix(text));
    expect(err.message).toMatch(message);
    expect(err.line).toBe(line);
  });

  it('checks NIC rows against GPU rows when both are present', () => {
    const text = '\tGPU0\tNIC0\tCPU Affinity\nGPU0\t X \tPIX\t0-7\nNIC0\tSYS\t X \t\n';
    expect(parseErrorOf(() => parseTopoMatrix(text)).message).toContain("(GPU0, NIC0) is 'PIX' on line 2 but (NIC0, GPU0) is 'SYS'");
  });
});

describe('parseTopoMatrix edge layouts', () => {
  it('accepts CRLF line ends, a missing leading TAB, bare X and a single GPU', () => {
    const m = parseTopoMatrix('GPU0\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\r\nGPU0\tX\t0-31\t0\t\tN/A\r\n');
    expect(m.topology.links).toEqual([['X']]);
    expect(m.topology.gpus).toEqual([{ index: 0, numaNode: 0, cpuAffinity: '0-31' }]);
  });

  it('reads a Grace Hopper NUMA list as its first node and accepts a numeric GPU NUMA ID', () => {
    const m = parseTopoMatrix('\tGPU0\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\nGPU0\t X \t0-71\t0,5-11\t\t4\n');
    expect(m.topology.gpus[0]).toEqual({ index: 0, numaNode: 0, cpuAffinity: '0-71' });
  });

  it('accepts a matrix without affinity columns and NIC rows that lost their trailing TABs', () => {
    const m = parseTopoMatrix('\tGPU0\tGPU1\tNIC0\nGPU0\t X \tNV1\tNODE\nGPU1\tNV1\t X \tNODE\nNIC0\tNODE\tNODE\t X\n');
    expect(m.topology.gpus).toEqual([
      { index: 0, numaNode: null, cpuAffinity: null },
      { index: 1, numaNode: null, cpuAffinity: null },
    ]);
    expect(m.nics).toEqual([{ name: 'NIC0' }]);
    expect(m.gpuNicLinks).toEqual([['NODE'], ['NODE']]);
  });
});

// ---- property tests: render a random valid matrix the way nvidia-smi does, parse it back ----

const LEGENDS = ['NV1', 'NV2', 'NV4', 'NV6', 'NV8', 'NV12', 'NV18', 'PIX', 'PXB', 'PHB', 'NODE', 'SYS', 'SOC'] as const;

interface MatrixSpec {
  gpuCount: number;
  nicNames: string[];
  /** Device-by-device cells (GPUs then NICs), symmetric, 'X' on the diagonal. */
  cells: string[][];
  cpu: string[];
  numa: string[];
  withGpuNumaId: boolean;
  /** 'compact': cpu<TAB>numa<TAB><TAB>id (newer drivers); 'padded': TABs up to each header column (older). */
  layout: 'compact' | 'padded';
  nicLegend: boolean;
}

const cpuListArb = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 60 })), { minLength: 1, maxLength: 2 })
  .map((ranges) => ranges.map(([a, len]) => (len === 0 ? `${a}` : `${a}-${a + len}`)).join(','));

const specArb: fc.Arbitrary<MatrixSpec> = fc
  .record({
    gpuCount: fc.integer({ min: 1, max: 12 }),
    nicCount: fc.integer({ min: 0, max: 3 }),
    nicStyle: fc.constantFrom('NIC', 'mlx5_'),
    withGpuNumaId: fc.boolean(),
    layout: fc.constantFrom('compact' as const, 'padded' as const),
    nicLegend: fc.boolean(),
    seedCells: fc.array(fc.constantFrom(...LEGENDS), { minLength: 120, maxLength: 120 }),
    cpu: fc.array(fc.oneof(fc.constant(''), cpuListArb), { minLength: 12, maxLength: 12 }),
    numa: fc.array(fc.constantFrom('', 'N/A', '0', '1', '3', '7', '0-1'), { minLength: 12, maxLength: 12 }),
  })
  .map((r) => {
    const d = r.gpuCount + r.nicCount;
    const cells = Array.from({ length: d }, () => Array<string>(d).fill('X'));
    let k = 0;
    for (let i = 0; i < d; i++) {
      for (let j = i + 1; j < d; j++) {
        const v = r.seedCells[k++ % r.seedCells.length];
        cells[i][j] = v;
        cells[j][i] = v;
      }
    }
    return {
      gpuCount: r.gpuCount,
      nicNames: Array.from({ length: r.nicCount }, (_, i) => `${r.nicStyle}${i}`),
      cells,
      cpu: r.cpu.slice(0, r.gpuCount),
      numa: r.numa.slice(0, r.gpuCount),
      withGpuNumaId: r.withGpuNumaId,
      layout: r.layout,
      nicLegend: r.nicLegend,
    };
  });

const displayWidth = (s: string): number => [...s].reduce((col, ch) => (ch === '\t' ? (Math.floor(col / 8) + 1) * 8 : col + 1), 0);

function renderTab(spec: MatrixSpec): string {
  const gpus = Array.from({ length: spec.gpuCount }, (_, i) => `GPU${i}`);
  const devices = [...gpus, ...spec.nicNames];
  const trailingNames = ['CPU Affinity', 'NUMA Affinity', ...(spec.withGpuNumaId ? ['GPU NUMA ID'] : [])];
  const header = `\t${[...devices, ...trailingNames].join('\t')}`;
  // Display column where each trailing header cell starts.
  const starts: number[] = [];
  let acc = '';
  for (const part of header.split('\t')) {
    if (trailingNames.includes(part)) starts.push(displayWidth(acc));
    acc += `${part}\t`;
  }
  const lines = [header];
  devices.forEach((name, i) => {
    let line = [name, ...spec.cells[i].map((c) => (c === 'X' ? ' X ' : c))].join('\t');
    if (i >= spec.gpuCount) {
      lines.push(line + '\t'.repeat(spec.withGpuNumaId ? 4 : 2));
      return;
    }
    const values = [spec.cpu[i], spec.numa[i], ...(spec.withGpuNumaId ? ['N/A'] : [])];
    if (spec.layout === 'compact') {
      line += `\t${values[0]}\t${values[1]}${spec.withGpuNumaId ? `\t\t${values[2]}` : ''}`;
    } else {
      values.forEach((v, k) => {
        line += '\t';
        while (displayWidth(line) < starts[k]) line += '\t';
        line += v;
      });
    }
    lines.push(line);
  });
  lines.push('', 'Legend:', '', '  X    = Self', '  NV#  = Connection traversing a bonded set of # NVLinks');
  if (spec.nicLegend && spec.nicNames.length > 0) {
    lines.push('', 'NIC Legend:', '', ...spec.nicNames.map((n, i) => `  ${n}: mlx5_bond_${i}`));
  }
  return lines.join('\n') + '\n';
}

function expected(spec: MatrixSpec) {
  const norm = (c: string) => (c === 'SOC' ? 'SYS' : c);
  const g = spec.gpuCount;
  return {
    links: spec.cells.slice(0, g).map((row) => row.slice(0, g).map(norm)),
    gpuNicLinks: spec.cells.slice(0, g).map((row) => row.slice(g).map(norm)),
    gpus: spec.cpu.map((cpu, index) => ({
      index,
      cpuAffinity: cpu === '' ? null : cpu,
      numaNode: spec.numa[index] === '' || spec.numa[index] === 'N/A' ? null : Number(spec.numa[index].split('-')[0]),
    })),
    nics: spec.nicNames.map((name, i) =>
      name.startsWith('mlx5_') ? { name, device: name } : spec.nicLegend ? { name, device: `mlx5_bond_${i}` } : { name },
    ),
  };
}

function actual(text: string) {
  const m = parseTopoMatrix(text);
  return { links: m.topology.links, gpuNicLinks: m.gpuNicLinks, gpus: m.topology.gpus, nics: m.nics };
}

describe('parseTopoMatrix properties', () => {
  it('parses a random valid matrix rendered with TABs back to the same matrix', () => {
    fc.assert(fc.property(specArb, (spec) => {
      expect(actual(renderTab(spec))).toEqual(expected(spec));
    }), { numRuns: 300 });
  });

  it('parses the same matrix from a space-aligned copy', () => {
    // A compact-layout copy that lost an empty cell is ambiguous in spaces, so only padded
    // output, or compact output with every value present, must round-trip.
    const spaceSafe = specArb.filter((s) => s.layout === 'padded' || s.cpu.every((c, i) => c !== '' && s.numa[i] !== ''));
    fc.assert(fc.property(spaceSafe, (spec) => {
      expect(actual(expandTabs(renderTab(spec)))).toEqual(expected(spec));
    }), { numRuns: 300 });
  });

  it('rejects the output with any one GPU row removed, naming that row', () => {
    fc.assert(
      fc.property(specArb, fc.nat(), fc.boolean(), (spec, pick, spaces) => {
        const gpu = pick % spec.gpuCount;
        const text = renderTab(spec)
          .split('\n')
          .filter((l) => !l.startsWith(`GPU${gpu}\t`))
          .join('\n');
        const err = parseErrorOf(() => parseTopoMatrix(spaces ? expandTabs(text) : text));
        expect(err.message).toContain(`but no row for GPU${gpu}`);
      }),
      { numRuns: 200 },
    );
  });

  it('throws nothing but ParseError on garbage and on mangled output', () => {
    const token = fc.constantFrom('GPU0', 'GPU1', 'NIC0', ' X ', 'NV12', 'SYS', 'SOC', 'CPU Affinity', 'NUMA Affinity', '0-7', 'N/A', '\t', '  ', '\n', 'Legend:', 'NIC Legend:', 'NIC0: mlx5_0', '');
    const garbage = fc.oneof(fc.string(), fc.array(token, { maxLength: 60 }).map((t) => t.join('')));
    const mangled = fc
      .tuple(specArb, fc.nat(), fc.nat({ max: 5 }), fc.string({ maxLength: 4 }))
      .map(([spec, at, cut, insert]) => {
        const text = renderTab(spec);
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i + cut);
      });
    fc.assert(
      fc.property(fc.oneof(garbage, mangled), (text) => onlyParseErrors(() => parseTopoMatrix(text))),
      { numRuns: 1000 },
    );
  });
});
