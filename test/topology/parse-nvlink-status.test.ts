import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activeLinkSpeedGBps, parseNvlinkStatus } from '../../src/topology/parse-nvlink-status.js';
import { onlyParseErrors, ownFixture, parseErrorOf } from '../support/nvidia-smi-fixtures.js';


describe('parseNvlinkStatus', () => {
  it('reads link lines indented with TAB + space, as the tool prints them', () => {
    const status = parseNvlinkStatus(ownFixture('nvlink-s-tab-space-indent.txt'));
    expect(status.map((g) => [g.index, g.name, g.uuid, g.allInactive])).toEqual([
      [0, 'NVIDIA A100-SXM4-80GB', 'GPU-11111111-2222-3333-4444-555555555555', false],
      [1, 'NVIDIA A100-SXM4-80GB', 'GPU-11111111-2222-3333-4444-555555555556', false],
    ]);
    expect(status[0].links).toHaveLength(12);
    expect(status[0].links.every((l) => l.speedGBps === 25)).toBe(true);
    expect(status[1].links.slice(9)).toEqual([
      { link: 9, speedGBps: 25 },
      { link: 10, speedGBps: null },
      { link: 11, speedGBps: null },
    ]);
    expect(activeLinkSpeedGBps(status)).toBe(25);
  });

  it('marks a GPU allInactive when every link is <inactive> or NVML says so', () => {
    const text = [
      'GPU 0: Tesla V100-SXM2-16GB (UUID: GPU-a)',
      '\t Link 0: <inactive>',
      '\t Link 1: <inactive>',
      'GPU 1: Tesla V100-SXM2-16GB (UUID: GPU-b)',
      'NVML: Unable to retrieve NVLink information as all links are inActive',
    ].join('\n');
    const status = parseNvlinkStatus(text);
    expect(status).toEqual([
      { index: 0, name: 'Tesla V100-SXM2-16GB', uuid: 'GPU-a', allInactive: true, links: [{ link: 0, speedGBps: null }, { link: 1, speedGBps: null }] },
      { index: 1, name: 'Tesla V100-SXM2-16GB', uuid: 'GPU-b', allInactive: true, links: [] },
    ]);
    expect(activeLinkSpeedGBps(status)).toBeNull();
  });

  it('returns the slowest active per-link speed when they differ', () => {
    const text = 'GPU 0: X (UUID: GPU-a)\n Link 0: 26.562 GB/s\n Link 1: 14.062 GB/s\n';
    expect(activeLinkSpeedGBps(parseNvlinkStatus(text))).toBe(14.062);
  });

  it.each([
    ['empty input', '', /no "GPU <i>: <name> \(UUID: \.\.\.\)" line/, undefined],
    ['link before any GPU', ' Link 0: 25 GB/s\n', /link line before any/, 1],
    ['NVML line before any GPU', 'NVML: Unable to retrieve NVLink information as all links are inActive\n', /NVML message before any/, 1],
    ['unknown speed unit', 'GPU 0: A (UUID: GPU-a)\n Link 0: 25 MB/s\n', /link 0 of GPU 0 is '25 MB\/s'/, 2],
    ['repeated link', 'GPU 0: A (UUID: GPU-a)\n Link 0: 25 GB/s\n Link 0: 25 GB/s\n', /GPU 0 lists link 0 twice/, 3],
    ['repeated GPU', 'GPU 0: A (UUID: GPU-a)\nGPU 0: A (UUID: GPU-a)\n', /GPU 0 appears twice/, 2],
    ['foreign text', 'GPU 0: A (UUID: GPU-a)\nFailed to initialize NVML: Driver/library version mismatch\n', /unexpected line 'Failed to initialize NVML/, 2],
  ])('rejects %s', (_name, text, message, line) => {
    const err = parseErrorOf(() => parseNvlinkStatus(text, 'nvlink.txt'));
    expect(err.message).toMatch(message);
    expect(err.line).toBe(line);
    expect(err.source).toBe('nvlink.txt');
  });

  it('round-trips random status output and throws nothing but ParseError on garbage', () => {
    const gpuArb = fc.record({
      name: fc.constantFrom('NVIDIA H100 80GB HBM3', 'Tesla V100-SXM2-32GB', 'NVIDIA GeForce RTX 3090'),
      uuid: fc.uuid().map((u) => `GPU-${u}`),
      speeds: fc.array(fc.option(fc.constantFrom<number>(14.062, 25, 26.562, 50)), { maxLength: 18 }),
      indent: fc.constantFrom('\t ', '         ', '  '),
    });
    fc.assert(
      fc.property(fc.array(gpuArb, { minLength: 1, maxLength: 8 }), (gpus) => {
        const text = gpus
          .flatMap((g, i) => [
            `GPU ${i}: ${g.name} (UUID: ${g.uuid})`,
            ...(g.speeds.length === 0
              ? ['NVML: Unable to retrieve NVLink information as all links are inActive']
              : g.speeds.map((s, l) => `${g.indent}Link ${l}: ${s === null ? '<inactive>' : `${s} GB/s`}`)),
          ])
          .join('\n');
        const status = parseNvlinkStatus(text);
        expect(status).toEqual(
          gpus.map((g, i) => ({
            index: i,
            name: g.name,
            uuid: g.uuid,
            links: g.speeds.map((s, l) => ({ link: l, speedGBps: s })),
            allInactive: g.speeds.every((s) => s === null),
          })),
        );
        const active = gpus.flatMap((g) => g.speeds).filter((s): s is number => s !== null);
        expect(activeLinkSpeedGBps(status)).toBe(active.length === 0 ? null : Math.min(...active));
      }),
    );
    fc.assert(
      fc.property(fc.string(), (text) => onlyParseErrors(() => parseNvlinkStatus(text))),
      { numRuns: 1000 },
    );
  });
});
