/** The MLTask contract lives in src/api (DESIGN.md: contracts in one place); the mltask files import it from here. */
export * from '../api/mltask.js';
