import { expect } from 'vitest';

/** The error of class `cls` that fn throws; fails the test when it throws something else or nothing. */
export function thrownBy<E extends Error>(fn: () => unknown, cls: abstract new (...args: never[]) => E): E {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    return e as E;
  }
  throw new Error(`expected a ${cls.name}, but nothing was thrown`);
}
