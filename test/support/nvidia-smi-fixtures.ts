/** Helpers for the nvidia-smi parser tests: the hand-written samples and ParseError capture. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ParseError } from '../../src/topology/types.js';
import { thrownBy } from './thrown.js';

const OWN = fileURLToPath(new URL('../fixtures/nvidia-smi/', import.meta.url));

/** A hand-written sample from test/fixtures/nvidia-smi. */
export const ownFixture = (name: string): string => readFileSync(OWN + name, 'utf8');

/** The ParseError a call throws; fails the test when it throws something else or nothing. */
export const parseErrorOf = (fn: () => unknown): ParseError => thrownBy(fn, ParseError);

/** Calls fn; a ParseError is an acceptable outcome, anything else thrown fails the property. */
export function onlyParseErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
  }
}

/** What a terminal copy of a line-oriented output looks like: TABs expanded to 8-column stops, trailing blanks dropped. */
export const expandTabs = (text: string): string =>
  text
    .split('\n')
    .map((line) => {
      let out = '';
      for (const ch of line) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
      return out.trimEnd();
    })
    .join('\n');
