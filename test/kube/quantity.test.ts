import { describe, expect, it } from 'vitest';
import { cpuMilliOf, memoryMiBOf, parseQuantity } from '../../src/kube/quantity.js';

describe('Kubernetes quantities', () => {
  it('decimal, binary and exponent forms, as the API server accepts them', () => {
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(parseQuantity('129M')).toBe(129e6);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('.5')).toBe(0.5);
    expect(parseQuantity(4)).toBe(4);
    expect(parseQuantity(' 64Ki ')).toBe(65536);
  });
  it('not a quantity: undefined, never a throw', () => {
    for (const bad of ['', 'abc', '1.5.2', '10 Gi', '5mi', 'Gi', null, undefined, {}, Number.NaN]) expect(parseQuantity(bad)).toBeUndefined();
  });
  it('cpu to whole millicores (up), memory to MiB', () => {
    expect(cpuMilliOf('100m')).toBe(100);
    expect(cpuMilliOf('0.0001')).toBe(1);
    expect(cpuMilliOf('4')).toBe(4000);
    expect(cpuMilliOf('-1')).toBeUndefined();
    expect(memoryMiBOf('16Gi')).toBe(16384);
    expect(memoryMiBOf('128974848')).toBeCloseTo(123, 0);
  });
});
