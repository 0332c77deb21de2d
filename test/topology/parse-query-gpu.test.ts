import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalField, gpuInfoFromQueryRow, parseQueryGpuCsv, splitCsvLine } from '../../src/topology/parse-query-gpu.js';
import { onlyParseErrors, ownFixture, parseErrorOf } from '../support/nvidia-smi-fixtures.js';


describe('parseQueryGpuCsv on hand-written samples', () => {
  it('keeps a quoted name with a comma whole, strips units, maps bracketed errors to null', () => {
    const rows = parseQueryGpuCsv(ownFixture('query-gpu-quoted-name-with-comma.csv'));
    expect(rows).toEqual([
      {
        line: 2,
        fields: {
          index: 0,
          name: 'NVIDIA H100 80GB HBM3, rev "B"',
          uuid: 'GPU-0a1b2c3d-0000-1111-2222-333344445555',
          'memory.total': 81559,
          'power.draw': 71.52,
          'clocks.current.sm': 1980,
        },
      },
      {
        line: 3,
        fields: {
          index: 1,
          name: 'NVIDIA H100 80GB HBM3',
          uuid: 'GPU-0a1b2c3d-0000-1111-2222-333344445556',
          'memory.total': 81559,
          'power.draw': null,
          'clocks.current.sm': null,
        },
      },
    ]);
    expect(gpuInfoFromQueryRow(rows[0])).toEqual({
      index: 0,
      uuid: 'GPU-0a1b2c3d-0000-1111-2222-333344445555',
      model: 'NVIDIA H100 80GB HBM3, rev "B"',
      memoryMiB: 81559,
    });
  });

  it('takes field names from opts.fields for noheader output and resolves aliases', () => {
    const fields = 'index,gpu_name,gpu_uuid,memory.total,gpu_bus_id,driver_version,temperature.gpu';
    const rows = parseQueryGpuCsv(ownFixture('query-gpu-noheader-nounits-aliases.csv'), { fields });
    expect(rows.map((r) => r.fields)).toEqual([
      {
        index: 0,
        name: 'NVIDIA A100-SXM4-40GB',
        uuid: 'GPU-aaaaaaaa-1111-2222-3333-444444444444',
        'memory.total': 40960,
        'pci.bus_id': '00000000:07:00.0',
        driver_version: '535.129.03',
        'temperature.gpu': null,
      },
      {
        index: 1,
        name: 'NVIDIA A100-SXM4-40GB',
        uuid: 'GPU-aaaaaaaa-1111-2222-3333-444444444445',
        'memory.total': 40960,
        'pci.bus_id': '00000000:0F:00.0',
        driver_version: '535.129.03',
        'temperature.gpu': 34,
      },
    ]);
    // The same list given as an array, or space-separated as on the HPE command line, is equivalent.
    expect(parseQueryGpuCsv(ownFixture('query-gpu-noheader-nounits-aliases.csv'), { fields: fields.split(',') })).toEqual(rows);
    expect(parseQueryGpuCsv(ownFixture('query-gpu-noheader-nounits-aliases.csv'), { fields: fields.replaceAll(',', ' ') })).toEqual(rows);
    expect(gpuInfoFromQueryRow(rows[1])).toEqual({
      index: 1,
      uuid: 'GPU-aaaaaaaa-1111-2222-3333-444444444445',
      model: 'NVIDIA A100-SXM4-40GB',
      memoryMiB: 40960,
    });
  });

  it('rejects a row with the wrong number of values, naming line and counts', () => {
    const err = parseErrorOf(() => parseQueryGpuCsv(ownFixture('query-gpu-wrong-field-count.csv'), { source: 'q.csv' }));
    expect(err.line).toBe(3);
    expect(err.message).toBe('q.csv:3: 2 value(s) but 3 field(s) (index, name, memory.total)');
  });
});

describe('parseQueryGpuCsv details', () => {
  it('requires opts.fields when there is no header', () => {
    const err = parseErrorOf(() => parseQueryGpuCsv('0, 81559, 12\n'));
    expect(err.message).toContain('no header line (noheader), so opts.fields must list');
    expect(err.line).toBe(1);
  });

  it('honours header: false and header: true', () => {
    // A one-field noheader output whose value looks like a field name.
    expect(parseQueryGpuCsv('disabled\n', { fields: ['persistence_mode'], header: false })).toEqual([
      { line: 1, fields: { persistence_mode: 'disabled' } },
    ]);
    expect(parseErrorOf(() => parseQueryGpuCsv('0, 1\n', { header: true })).message).toContain('expected a header of field names');
  });

  it('uses the header even when opts.fields is given (the header has the canonical names)', () => {
    const rows = parseQueryGpuCsv('name, memory.total [MiB]\nTesla T4, 15360 MiB\n', { fields: ['gpu_name', 'memory.total'] });
    expect(rows[0].fields).toEqual({ name: 'Tesla T4', 'memory.total': 15360 });
  });

  it.each([
    ['[N/A]'],
    ['[Not Supported]'],
    ['N/A'],
    ['[Unknown Error]'],
    ['[GPU requires reset]'],
    ['[Insufficient Permissions]'],
    ['[Requested functionality has been deprecated]'],
  ])('reads the sentinel %s as null in numeric and string fields', (sentinel) => {
    const rows = parseQueryGpuCsv(`fan.speed [%], serial\n${sentinel}, ${sentinel}\n`);
    expect(rows[0].fields).toEqual({ 'fan.speed': null, serial: null });
  });

  it('keeps version-like and identifier fields as strings', () => {
    const rows = parseQueryGpuCsv('driver_version, vbios_version, compute_cap, serial, pstate\n440.64, 90.04.23.00.5F, 8.0, 1320521022547, P0\n');
    expect(rows[0].fields).toEqual({
      driver_version: '440.64',
      vbios_version: '90.04.23.00.5F',
      compute_cap: '8.0',
      serial: '1320521022547',
      pstate: 'P0',
    });
  });

  it('takes a field named like an Object.prototype member (constructor) as a plain name (found by npm run fuzz)', () => {
    // Was: the alias table's inherited `constructor` (a function) became the field name, and
    // isNumericField threw "field.startsWith is not a function".
    expect(canonicalField('constructor')).toBe('constructor');
    expect(canonicalField('__proto__')).toBe('__proto__');
    expect(parseQueryGpuCsv('index, constructor [MHz]\n0, 1980 MHz\n')[0].fields).toEqual({ index: 0, constructor: '1980 MHz' });
    expect(parseQueryGpuCsv('0, x\n', { fields: ['index', 'constructor'], header: false })[0].fields).toEqual({ index: 0, constructor: 'x' });
  });

  it('rejects a non-number in a numeric field, naming line and field', () => {
    const err = parseErrorOf(() => parseQueryGpuCsv('index, memory.total [MiB]\n0, lots MiB\n'));
    expect(err.line).toBe(2);
    expect(err.message).toContain("field memory.total is 'lots MiB'; expected a number");
  });

  it('rejects empty input, "No devices were found" and an unterminated quote', () => {
    expect(parseErrorOf(() => parseQueryGpuCsv('  \n')).message).toContain('empty input');
    expect(parseErrorOf(() => parseQueryGpuCsv('No devices were found\n')).message).toContain('found no GPUs');
    const err = parseErrorOf(() => parseQueryGpuCsv('name, index\n"Tesla, 0\n'));
    expect(err.line).toBe(2);
    expect(err.message).toContain('unterminated double quote');
  });

  it('skips blank lines and accepts CRLF', () => {
    const rows = parseQueryGpuCsv('index, memory.used [MiB]\r\n\r\n0, 7 MiB\r\n1, 21 MiB\r\n');
    expect(rows).toEqual([
      { line: 3, fields: { index: 0, 'memory.used': 7 } },
      { line: 4, fields: { index: 1, 'memory.used': 21 } },
    ]);
  });

  it('canonicalField strips the unit and resolves aliases', () => {
    expect(canonicalField('utilization.gpu [%]')).toBe('utilization.gpu');
    expect(canonicalField(' clocks.sm ')).toBe('clocks.current.sm');
    expect(canonicalField('retired_pages.sbe')).toBe('retired_pages.single_bit_ecc.count');
  });

  it('splitCsvLine: quoted commas and doubled quotes survive, whitespace is trimmed', () => {
    expect(splitCsvLine(' a , "b, c" ,"d ""e""",', 1)).toEqual(['a', 'b, c', 'd "e"', '']);
  });

  it('round-trips random rows and throws nothing but ParseError on garbage', () => {
    const value = fc.oneof(
      fc.integer({ min: 0, max: 1_000_000 }).map((n) => ({ text: `${n} MiB`, parsed: n as number | string | null })),
      fc.constantFrom('[N/A]', '[Not Supported]', 'N/A').map((t) => ({ text: t, parsed: null })),
    );
    const name = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() === s && !/["\r\n]/.test(s) && !/^(N\/A|\[.*\])$/.test(s));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 8 }), (rows) => {
        const text = ['name, memory.total [MiB]', ...rows.map(([n, v]) => `"${n.replaceAll('"', '""')}", ${v.text}`)].join('\n');
        const parsed = parseQueryGpuCsv(text);
        expect(parsed.map((r) => r.fields)).toEqual(rows.map(([n, v]) => ({ name: n, 'memory.total': v.parsed })));
      }),
    );
    fc.assert(
      fc.property(
        fc.string(),
        fc.option(fc.array(fc.constantFrom('index', 'name', 'memory.total', 'fan.speed'), { maxLength: 5 })),
        (text, fields) => onlyParseErrors(() => parseQueryGpuCsv(text, fields === null ? {} : { fields })),
      ),
      { numRuns: 1000 },
    );
  });
});
