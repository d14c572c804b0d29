/**
 * Layer contents: `.kitignore` matching, which layer owns a path, and the ordered walk that
 * yields a layer's entries. (Tar writing and compression live in their own modules here.)
 */
export { cleanPath, cleanRelPath, isWithin } from './clean-path.js';
export { ALWAYS_IGNORED, IGNORE_FILE_NAME, IgnoreMatcher, parseIgnoreFile } from './ignore.js';
export { claimedByOtherLayer, shouldSkip } from './select.js';
export { collectLayerEntries, compareGo, type LayerEntry } from './walk.js';
export * from './tar-header.js';
export * from './tar-writer.js';
export * from './tar-extract.js';
export * from './compression.js';
export * from './tar-reader.js';
export * from './tar-fields.js';
