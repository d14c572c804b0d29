/**
 * dstack's GPU spec string (`GPUSpec.parse`): colon-separated tokens in any order, each classified
 * by its look: a vendor keyword; a token starting with a letter is a name or comma-separated
 * names; one with a letter elsewhere is a memory size or range; anything else is a count or count
 * range. Each kind may appear once. `A100:80GB:2`, `24GB..:2`, `H100,A100:1..2`, `4`.
 *
 * Hosts are found with nvidia-smi, so the only vendor accepted is `nvidia`; naming another is an
 * error rather than a request the runner would quietly ignore.
 */
import type { GpuRequest } from './schema.js';
import { invalid, quote } from './problems.js';
import { parseCountRange, parseMemoryRange } from './ranges.js';

const VENDORS = new Set(['nvidia', 'amd', 'tpu', 'google', 'intel', 'tt']);
const NAME = /^[A-Za-z][A-Za-z0-9._-]*$/;
export const GPU_SPEC_HINT = 'write e.g. A100:80GB:2, H100,A100:1..2, 24GB.. or 2';

/** Checks a vendor keyword: only NVIDIA GPUs can be found and reserved. */
export function checkGpuVendor(token: string, where: string): void {
  if (token.toLowerCase() === 'nvidia') return;
  const what = VENDORS.has(token.toLowerCase()) ? `${quote(token)} GPUs are not supported` : `${quote(token)} is not a GPU vendor`;
  throw invalid(where, `${what}: this runner finds GPUs with nvidia-smi; write nvidia or leave the vendor out`);
}

/** `A100` or `A100,H100` (or a list's items) -> names, each checked. */
export function parseGpuNames(names: string[], where: string, spec?: string): string[] {
  if (names.length === 0) throw invalid(where, `no GPU name given; ${GPU_SPEC_HINT}`);
  for (const name of names) {
    const inSpec = spec !== undefined && spec !== name ? ` in ${quote(spec)}` : '';
    if (name === '') throw invalid(where, `an empty GPU name${inSpec}; separate names with single commas, e.g. A100,H100`);
    if (!NAME.test(name)) {
      const hint = /^\d/.test(name) ? 'names start with a letter; separate a memory or count from the names with ":", e.g. A100:80GB' : 'names are letters, digits, ".", "-" and "_", e.g. A100 or RTX4090';
      throw invalid(where, `${quote(name)}${inSpec} is not a GPU name; ${hint}`);
    }
  }
  return names;
}

/** Parses a dstack GPU spec string; throws KitError INVALID_ARGUMENT naming `where` and the bad token. */
export function parseGpuSpec(spec: string, where = 'gpu'): GpuRequest {
  const compact = spec.replace(/\s+/g, '');
  if (compact === '') throw invalid(where, `the GPU spec is empty; ${GPU_SPEC_HINT}`);
  const seen = new Map<string, string>();
  const request: GpuRequest = { count: { min: 1, max: 1 } };
  for (const token of compact.split(':')) {
    if (token === '') throw invalid(where, `${quote(spec)} has an empty part between ":"; ${GPU_SPEC_HINT}`);
    const kind = VENDORS.has(token.toLowerCase()) ? 'vendor' : /^[A-Za-z]/.test(token) ? 'name' : /[A-Za-z]/.test(token) ? 'memory' : 'count';
    const earlier = seen.get(kind);
    if (earlier !== undefined) {
      throw invalid(where, `${quote(spec)} gives the GPU ${kind} twice (${quote(earlier)} and ${quote(token)}); ${kind === 'name' ? 'list alternative names with commas, e.g. A100,H100' : `keep one ${kind}`}`);
    }
    seen.set(kind, token);
    if (kind === 'vendor') checkGpuVendor(token, where);
    else if (kind === 'name') request.names = parseGpuNames(token.split(','), where, spec);
    else if (kind === 'memory') request.memoryMiB = parseMemoryRange(token, where);
    else request.count = parseCountRange(token, where);
  }
  return request;
}
