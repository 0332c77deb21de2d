/**
 * A command line loads only the command it names (the Kubernetes client alone takes 0.7 s to
 * import): the lazy program must register that command exactly as the full program does.
 */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { programFor } from '../../src/cli/lazy-program.js';
import { buildProgram } from '../../src/cli/program.js';

const shape = (c: Command): unknown => ({ name: c.name(), options: c.options.map((o) => o.flags), commands: c.commands.map(shape) });

describe('lazy program', () => {
  it('every command of the full program loads alone, with the same options and subcommands', async () => {
    const full = buildProgram();
    for (const c of full.commands) {
      const lazy = await programFor(c.name());
      expect(lazy.commands.map((x) => x.name()), c.name()).toEqual([c.name()]);
      expect(shape(lazy.commands[0]!)).toEqual(shape(c));
    }
  });

  it('help, a typo or no command get the full program', async () => {
    const names = buildProgram().commands.map((c) => c.name());
    for (const word of ['help', 'nosuch', undefined, '__proto__']) expect((await programFor(word)).commands.map((c) => c.name())).toEqual(names);
  });
});
