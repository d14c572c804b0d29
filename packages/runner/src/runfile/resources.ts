/** The `resources` section: CPU cores, host memory and GPUs, in dstack's grammar. */
import { checkGpuVendor, GPU_SPEC_HINT, parseGpuNames, parseGpuSpec } from './gpu-spec.js';
import { parseCountRange, parseMemoryRange } from './ranges.js';
import { describe, present, type Reader } from './read.js';
import { RUNFILE_KEYS, type GpuRequest, type RunFile } from './schema.js';
import type { TreeNode } from './yaml-tree.js';

export function readResources(r: Reader, node: TreeNode): RunFile['resources'] | undefined {
  const entries = r.mapping(node, 'resources', RUNFILE_KEYS.resources, 'write cpu, memory and gpu under it, e.g. gpu: A100:80GB:2');
  if (!entries) return undefined;
  const out: RunFile['resources'] = {};
  const cpu = present(entries, 'cpu');
  if (cpu) {
    const text = r.text(cpu, 'resources.cpu', 'write a number of cores like 4, or a range like 2..');
    const range = text === undefined ? undefined : r.grammar(cpu.pos, () => parseCountRange(text, 'resources.cpu'));
    if (range) out.cpu = range;
  }
  const memory = present(entries, 'memory');
  if (memory) {
    const text = r.text(memory, 'resources.memory', 'write a size like 16GB, or a range like 8GB..');
    const range = text === undefined ? undefined : r.grammar(memory.pos, () => parseMemoryRange(text, 'resources.memory'));
    // An open lower bound (`..64GB`) asks for no minimum.
    if (range) out.memoryMiB = { min: range.min ?? 0, ...(range.max !== undefined && { max: range.max }) };
  }
  const gpu = present(entries, 'gpu');
  if (gpu) {
    const request = gpu.kind === 'map' ? readGpuMapping(r, gpu) : gpuFromText(r, gpu);
    if (request) out.gpu = request;
  }
  return out;
}

function gpuFromText(r: Reader, node: TreeNode): GpuRequest | undefined {
  if (node.kind !== 'scalar') {
    return r.report(node.pos, 'resources.gpu', `must be a GPU spec or a mapping, got ${describe(node)}; ${GPU_SPEC_HINT}, or name: [A100, H100] with memory and count`);
  }
  return r.grammar(node.pos, () => parseGpuSpec(node.text, 'resources.gpu'));
}

/** dstack's structured form: `{name: [A100, H100], memory: 80GB.., count: 1..2, vendor: nvidia}`. */
function readGpuMapping(r: Reader, node: TreeNode): GpuRequest | undefined {
  const entries = r.mapping(node, 'resources.gpu', RUNFILE_KEYS.gpu, 'write name, memory and count under it');
  if (!entries) return undefined;
  const request: GpuRequest = { count: { min: 1, max: 1 } };
  const vendor = present(entries, 'vendor');
  if (vendor) {
    const text = r.text(vendor, 'resources.gpu.vendor', 'write vendor: nvidia or leave it out');
    if (text !== undefined) r.grammar(vendor.pos, () => checkGpuVendor(text, 'resources.gpu.vendor'));
  }
  const name = present(entries, 'name');
  if (name) {
    const hint = 'write a GPU name or a list of alternatives, e.g. name: [A100, H100]';
    // Each item may itself be comma-separated, as in the string form.
    const names = r.list(name, 'resources.gpu.name', hint, (item, field) => {
      const text = r.text(item, field, hint);
      return text === undefined ? undefined : r.grammar(item.pos, () => parseGpuNames(text.replace(/\s+/g, '').split(','), field, text));
    });
    if (names) request.names = names.flat();
  }
  const memory = present(entries, 'memory');
  if (memory) {
    const text = r.text(memory, 'resources.gpu.memory', 'write a size per GPU like 80GB, or a range like 24GB..');
    const range = text === undefined ? undefined : r.grammar(memory.pos, () => parseMemoryRange(text, 'resources.gpu.memory'));
    if (range) request.memoryMiB = range;
  }
  const count = present(entries, 'count');
  if (count) {
    const text = r.text(count, 'resources.gpu.count', 'write a number of GPUs like 2, or a range like 1..2');
    const range = text === undefined ? undefined : r.grammar(count.pos, () => parseCountRange(text, 'resources.gpu.count'));
    if (range) request.count = range;
  }
  return request;
}
