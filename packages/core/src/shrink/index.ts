export { fullGc } from './full-gc.js';
export { resolveShrink, SHRINK_ENV } from './options.js';
export { type ShrinkLevers, type ShrinkReport, type ShrinkStep, shrinkProcess } from './shrink.js';
