#!/usr/bin/env node
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  console.error(`linkpack: ${(e as Error).message}`);
  process.exitCode = 1;
}
