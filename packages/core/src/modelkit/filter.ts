import { KitError } from '../errors.js';
import type { LayerKind } from '../kitfile/types.js';

/** What `--filter` can name; `model` includes the model's parts, as in kit. */
export type FilterType = 'kitfile' | 'model' | 'datasets' | 'code' | 'docs' | 'prompts' | 'mcpservers';
const FILTER_TYPES: readonly FilterType[] = ['kitfile', 'model', 'datasets', 'code', 'docs', 'prompts', 'mcpservers'];

/** One `types[:names]` filter; several filters are OR-ed. */
export interface UnpackFilter {
  types: FilterType[];
  /** Element names or paths; empty means every element of those types. */
  names: string[];
}

/** Parse kit's filter syntax: `model`, `datasets:train,eval`, `model,docs`. */
export function parseFilter(input: string): UnpackFilter {
  const [typePart = '', namePart] = input.split(':', 2);
  const types = typePart.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  if (types.length === 0) throw new KitError('INVALID_ARGUMENT', `empty filter "${input}": use TYPE[,TYPE][:NAME[,NAME]] with TYPE one of ${FILTER_TYPES.join(', ')}`);
  for (const t of types) {
    if (!(FILTER_TYPES as readonly string[]).includes(t)) {
      throw new KitError('INVALID_ARGUMENT', `unknown filter type "${t}" in "${input}": use one of ${FILTER_TYPES.join(', ')}`);
    }
  }
  const names = namePart === undefined ? [] : namePart.split(',').map((n) => n.trim()).filter(Boolean);
  return { types: types as FilterType[], names };
}

const KIND_TO_FILTER: Record<LayerKind, FilterType> = {
  model: 'model',
  modelpart: 'model',
  dataset: 'datasets',
  code: 'code',
  docs: 'docs',
  prompt: 'prompts',
  mcpserver: 'mcpservers',
};

/** Does a layer (its kind and element) pass the filters? No filters means everything. */
export function layerSelected(filters: UnpackFilter[], kind: LayerKind, element: { name?: string; path?: string }): boolean {
  if (filters.length === 0) return true;
  return filters.some(
    (f) => f.types.includes(KIND_TO_FILTER[kind]) && (f.names.length === 0 || f.names.some((n) => n === element.name || n === element.path)),
  );
}

export function kitfileSelected(filters: UnpackFilter[]): boolean {
  return filters.length === 0 || filters.some((f) => f.types.includes('kitfile'));
}
