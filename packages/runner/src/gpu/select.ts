import { KitError } from '@modelkit/core';
import type { GpuInfo } from '../hosts/host.js';

/**
 * What a run asks for (dstack's `A100,H100:40GB..80GB:1..2`), defined structurally so this module
 * does not depend on the run-config parser. Memory is per GPU in MiB; an absent count.max means
 * "as many as the host has" (dstack's `2..`).
 */
export interface GpuRequirement {
  names?: string[];
  memoryMiB?: { min?: number; max?: number };
  count: { min: number; max?: number };
}

/**
 * Idle GPUs still show some used memory (driver reservations, a display server, persistence
 * daemon: tens to a few hundred MiB), while any CUDA context costs ~300-500 MiB and real work far
 * more. Memory matters because inside a container nvidia-smi lists no other container's processes.
 */
export const DEFAULT_USED_THRESHOLD_MIB = 1024;

/** Free: no compute process on it and used memory under the threshold. */
export function isFree(gpu: GpuInfo, usedThresholdMiB = DEFAULT_USED_THRESHOLD_MIB): boolean {
  return gpu.processes === 0 && gpu.memoryUsedMiB < usedThresholdMiB;
}

/**
 * Vendors label cards in decimal GB, and the driver reports total memory less its reservations
 * (L4 "24GB": 23034 MiB; T4 "16GB": 15360 MiB; H200 "141GB": 143771 MiB), so a minimum is read as
 * decimal GB: a card reporting at least min × 10^9/2^30 MiB qualifies.
 */
const MIN_MEMORY_SLACK = 1e9 / 2 ** 30;

function tokens(name: string): string[] {
  return name.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

/** Index just past a run of whole tokens from `from` on that spells `word`, or -1. */
function spell(parts: string[], word: string, from: number): number {
  for (let i = from; i < parts.length; i++) {
    let joined = '';
    for (let j = i; j < parts.length && joined.length < word.length; j++) {
      joined += parts[j];
      if (joined === word) return j + 1;
    }
  }
  return -1;
}

/**
 * Whether a requested name matches a GPU model name: each word of the request, in order, must be
 * spelled by a run of whole tokens of the model name, ignoring case and punctuation. 'A100' and
 * 'A100-80GB' match 'NVIDIA A100-SXM4-80GB', 'RTX4090' matches 'NVIDIA GeForce RTX 4090'; 'H100'
 * does not match 'GH100', nor 'L4' 'L40S', nor 'A10' 'A10G'.
 */
export function gpuNameMatches(requested: string, model: string): boolean {
  const words = tokens(requested);
  const parts = tokens(model);
  let at = 0;
  for (const word of words) {
    at = spell(parts, word, at);
    if (at < 0) return false;
  }
  return words.length > 0;
}

function memoryFits(gpu: GpuInfo, range: GpuRequirement['memoryMiB']): boolean {
  if (range?.min !== undefined && gpu.memoryTotalMiB < range.min * MIN_MEMORY_SLACK) return false;
  if (range?.max !== undefined && gpu.memoryTotalMiB > range.max) return false;
  return true;
}

function gb(mib: number): string {
  return `${Number((mib / 1024).toFixed(1))}GB`;
}

function describeRequest(request: GpuRequirement): string {
  const { min, max } = request.count;
  const count = max === min ? `${min}x` : max === undefined ? `at least ${min}x` : `${min}..${max}x`;
  const names = request.names?.length ? request.names.join(' or ') : 'any GPU';
  const mem = request.memoryMiB;
  let memory = '';
  if (mem?.min !== undefined && mem.min === mem.max) memory = ` ${gb(mem.min)}`;
  else if (mem?.min !== undefined || mem?.max !== undefined) memory = ` ${mem.min === undefined ? '' : gb(mem.min)}..${mem.max === undefined ? '' : gb(mem.max)}`;
  return `${count} ${names}${memory}`;
}

function describeHost(gpus: GpuInfo[], reserved: Set<string>, usedThresholdMiB: number): string {
  if (gpus.length === 0) return 'host has no NVIDIA GPUs';
  const models = new Map<string, GpuInfo[]>();
  for (const g of gpus) models.set(g.name, [...(models.get(g.name) ?? []), g]);
  const parts = [...models].map(([name, group]) => {
    const isReserved = group.filter((g) => reserved.has(g.uuid)).length;
    const busy = group.filter((g) => !reserved.has(g.uuid) && !isFree(g, usedThresholdMiB)).length;
    const free = group.length - isReserved - busy;
    const memory = group[0].memoryTotalMiB > 0 ? ` ${gb(group[0].memoryTotalMiB)}` : ' (memory not reported)';
    const others = [busy ? `${busy} busy` : '', isReserved ? `${isReserved} reserved by other runs` : ''].filter(Boolean);
    return `${free}x ${name}${memory} free${others.length ? ` (${others.join(', ')})` : ''}`;
  });
  return `host has ${parts.join(', ')}`;
}

/**
 * Choose GPUs for a request: matching name and per-GPU memory, free (busy GPUs are never shared)
 * and not reserved, all of one model (mixed models make data-parallel steps run at the slowest
 * card's pace). Takes as many as available up to count.max. Among models that can satisfy the
 * request: the one giving most GPUs, then the earlier requested name, then the lowest index.
 */
export function selectGpus(request: GpuRequirement, gpus: GpuInfo[], reserved: Set<string> = new Set(), usedThresholdMiB = DEFAULT_USED_THRESHOLD_MIB): GpuInfo[] {
  const { min, max } = request.count;
  if (!Number.isInteger(min) || min < 0 || (max !== undefined && (!Number.isInteger(max) || max < min))) {
    throw new KitError('INVALID_ARGUMENT', `invalid GPU count ${min}${max === undefined ? '..' : `..${max}`}: expected whole numbers with min <= max`);
  }
  const cap = max ?? Number.POSITIVE_INFINITY;
  if (cap === 0) return [];
  const names = request.names ?? [];
  const rank = (g: GpuInfo): number => (names.length === 0 ? 0 : names.findIndex((n) => gpuNameMatches(n, g.name)));
  const candidates = gpus
    .filter((g) => rank(g) >= 0 && memoryFits(g, request.memoryMiB) && !reserved.has(g.uuid) && isFree(g, usedThresholdMiB))
    .sort((a, b) => a.index - b.index);
  const byModel = new Map<string, GpuInfo[]>();
  for (const g of candidates) byModel.set(g.name, [...(byModel.get(g.name) ?? []), g]);
  const options = [...byModel.values()]
    .map((group) => group.slice(0, Math.min(cap, group.length)))
    .filter((group) => group.length >= Math.max(min, 1))
    .sort((a, b) => b.length - a.length || rank(a[0]) - rank(b[0]) || a[0].index - b[0].index);
  if (options.length > 0) return options[0];
  if (min === 0) return [];
  throw new KitError('INVALID_ARGUMENT', `asked for ${describeRequest(request)}; ${describeHost(gpus, reserved, usedThresholdMiB)}`);
}
