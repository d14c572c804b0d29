// Public API of the run file (kitrun.yaml): its shape, parsing, loading and the dstack grammars.
export {
  RUNFILE_NAMES, RUNFILE_KEYS, RETRY_EVENTS, DEFAULT_RETRY,
  type RunFile, type GpuRequest, type CountRange, type RetryEvent,
} from './schema.js';
export { parseRunFile } from './parse.js';
export { loadRunFile } from './load.js';
export { parseGpuSpec } from './gpu-spec.js';
export { parseDuration } from './duration.js';
export { parseCountRange, parseMemoryRange, parseMemoryMiB } from './ranges.js';
