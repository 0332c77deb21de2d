/**
 * Kubernetes resource quantities ("500m", "2", "1.5Gi", "128974848", "1e3", "129M") as numbers
 * of the base unit (cores, bytes). client-node's quantityToScalar is not exported from the
 * package and throws on decimals with binary suffixes ("1.5Gi"), which the API server accepts.
 */
const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/** The quantity in base units, or undefined when it is not one (never throws). */
export function parseQuantity(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const m = QUANTITY.exec(raw.trim());
  if (!m) return undefined;
  const v = Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : SUFFIX[m[3] ?? '']!);
  return Number.isFinite(v) ? v : undefined;
}

/** CPU quantity → whole millicores (rounded up, as the API server does for sub-milli values). */
export function cpuMilliOf(raw: unknown): number | undefined {
  const v = parseQuantity(raw);
  return v === undefined || v < 0 ? undefined : Math.ceil(v * 1000 - 1e-9);
}

/** Memory quantity → MiB (fractional MiB kept: pods and nodes are summed before comparing). */
export function memoryMiBOf(raw: unknown): number | undefined {
  const v = parseQuantity(raw);
  return v === undefined || v < 0 ? undefined : v / 2 ** 20;
}
