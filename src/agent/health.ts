/**
 * The one health rule set, shared by the agent and the device plugin: per unit (a GPU, or one
 * NVLink of a GPU) a status with reasons, and hysteresis — a unit flips only after `flipAfter`
 * consecutive readings that agree on the new status, so one odd reading changes nothing. Pure.
 *
 *   let state = emptyHealth();
 *   state = nextHealth(state, verdicts, { flipAfter: 3 });
 *   gpuHealth(state, 0) // → { status: 'Healthy', reasons: [] }
 */

export type HealthStatus = 'Healthy' | 'Unhealthy' | 'Unknown';

/** What one reading says about one unit. */
export interface Verdict {
  status: HealthStatus;
  reasons: string[];
}

export interface UnitHealth extends Verdict {
  /** A different status seen in the latest readings, and how many in a row; absent when none. */
  pending?: Verdict & { count: number };
}

export interface HealthState {
  gpus: Record<number, UnitHealth>;
  /** Keyed `<gpu>:<link>` (see observe.linkKey). */
  links: Record<string, UnitHealth>;
}

export interface HealthOptions {
  /** Consecutive agreeing readings needed to change a unit's status (default 3; 1 = no hysteresis). */
  flipAfter?: number;
}

export const DEFAULT_FLIP_AFTER = 3;

/** The readings of one cycle. Units absent here keep their state (e.g. NVLinks not read this cycle). */
export interface HealthReadings {
  gpus: ReadonlyMap<number, Verdict> | Readonly<Record<number, Verdict>>;
  links?: ReadonlyMap<string, Verdict> | Readonly<Record<string, Verdict>>;
}

export function emptyHealth(): HealthState {
  return { gpus: {}, links: {} };
}

const entries = <K extends string | number>(m: ReadonlyMap<K, Verdict> | Readonly<Record<K, Verdict>> | undefined): [K, Verdict][] =>
  m === undefined ? [] : m instanceof Map ? [...m.entries()] : (Object.entries(m).map(([k, v]) => [k as K, v as Verdict]) as [K, Verdict][]);

/** One unit, one reading. A unit never seen before takes the reading as it is (nothing to smooth). */
export function stepUnit(prev: UnitHealth | undefined, v: Verdict, flipAfter: number): UnitHealth {
  const reasons = [...v.reasons];
  if (prev === undefined || prev.status === v.status) return { status: v.status, reasons: prev === undefined || reasons.length > 0 || v.status === 'Healthy' ? reasons : prev.reasons };
  const count = prev.pending?.status === v.status ? prev.pending.count + 1 : 1;
  if (count >= flipAfter) return { status: v.status, reasons };
  return { status: prev.status, reasons: prev.reasons, pending: { status: v.status, reasons, count } };
}

/** The state after one more cycle of readings. */
export function nextHealth(prev: HealthState, readings: HealthReadings, opts: HealthOptions = {}): HealthState {
  const flipAfter = Math.max(1, Math.floor(opts.flipAfter ?? DEFAULT_FLIP_AFTER));
  const next: HealthState = { gpus: { ...prev.gpus }, links: { ...prev.links } };
  for (const [gpu, v] of entries(readings.gpus)) next.gpus[Number(gpu)] = stepUnit(prev.gpus[Number(gpu)], v, flipAfter);
  for (const [key, v] of entries(readings.links)) next.links[String(key)] = stepUnit(prev.links[String(key)], v, flipAfter);
  return next;
}

/** A GPU's status and reasons; a GPU never read is Unknown. */
export function gpuHealth(state: HealthState, index: number): Verdict {
  const u = state.gpus[index];
  return u ? { status: u.status, reasons: [...u.reasons] } : { status: 'Unknown', reasons: ['never read'] };
}

/** Healthy for scheduling: only a GPU whose status is Healthy. */
export const isHealthy = (state: HealthState, index: number): boolean => state.gpus[index]?.status === 'Healthy';

/** NVLinks whose status is Unhealthy, per GPU, with their reasons. */
export function degradedLinksOf(state: HealthState): { gpu: number; link: string; reasons: string[] }[] {
  return Object.entries(state.links)
    .filter(([, u]) => u.status === 'Unhealthy')
    .map(([key, u]) => {
      const [gpu, link] = key.split(':');
      return { gpu: Number(gpu), link: link ?? '', reasons: [...u.reasons] };
    })
    .sort((a, b) => a.gpu - b.gpu || a.link.localeCompare(b.link, 'en', { numeric: true }));
}
