// Public API of the Kitfile module: types, parsing, validation, serialisation and loading.
export * from './types.js';
export { KitfileSchema, KitfileConfigSchema } from './schema.js';
export type { KitfilePositions, SourcePos } from './problems.js';
export { parseKitfile, parseKitfileWithPositions, parseKitfileJson, type ParsedKitfile } from './parse.js';
export { validateKitfile, type ValidateOptions, type ValidationResult } from './validate.js';
export { kitfileToConfigJson, kitfileToYaml } from './serialize.js';
export { findKitfile, loadKitfile, DEFAULT_KITFILE_NAMES, STDIN_KITFILE, type LoadedKitfile } from './load.js';
