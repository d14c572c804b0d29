/**
 * One reader per run-file field: each takes the field's located node, checks it and returns its
 * parsed value, or records problems and returns undefined.
 */
import { posix } from 'node:path';
import { isKitError, parseFilter } from '@modelkit/core';
import { parseDuration } from './duration.js';
import { checkGpuVendor, GPU_SPEC_HINT, parseGpuNames, parseGpuSpec } from './gpu-spec.js';
import { fieldPath, quote, type SourcePos } from './problems.js';
import { parseCountRange, parseMemoryRange } from './ranges.js';
import { describe, present, type Reader } from './read.js';
import { DEFAULT_RETRY, RETRY_EVENTS, RUNFILE_KEYS, type GpuRequest, type RetryEvent, type RunFile } from './schema.js';
import type { TreeNode } from './yaml-tree.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME_HINT = 'names are letters, digits and "_", not starting with a digit, e.g. HF_TOKEN';
const TRUE = new Set(['true', 'True', 'TRUE']);
const FALSE = new Set(['false', 'False', 'FALSE']);

/** `setup` and `run`: one shell command or a list of them. */
export function readCommands(r: Reader, node: TreeNode, field: string, example: string): string[] | undefined {
  const hint = `write a shell command or a list of them, e.g. ${field}: ${example}`;
  return r.list(node, field, hint, (n, f) => r.nonEmptyText(n, f, hint));
}

export function readEnv(r: Reader, node: TreeNode): Record<string, string> | undefined {
  if (node.kind !== 'map') return r.report(node.pos, 'env', `must be a mapping, got ${describe(node)}; write NAME: value lines, e.g. EPOCHS: "3"`);
  const out: Array<[string, string]> = [];
  for (const { key, keyPos, value } of node.entries) {
    const field = fieldPath('env', key);
    if (!ENV_NAME.test(key)) r.report(keyPos, field, `${quote(key)} is not a valid environment variable name; ${ENV_NAME_HINT}`);
    else if (value.kind === 'null') {
      r.report(value.pos, field, `has no value; write ${key}: "" for an empty value, or list ${key} under secrets to take it from the caller's environment`);
    } else {
      const text = r.text(value, field, `write ${key}: value (quote it if it contains ": " or starts with a special character)`);
      if (text !== undefined) out.push([key, text]);
    }
  }
  // fromEntries defines own properties, so a key like __proto__ stays data.
  return Object.fromEntries(out);
}

export function readSecrets(r: Reader, node: TreeNode, env: Record<string, string> | undefined): string[] | undefined {
  const hint = 'list the names of variables to take from the caller\'s environment, e.g. secrets: [HF_TOKEN]';
  const seen = new Set<string>();
  return r.list(node, 'secrets', hint, (n, field) => {
    const name = r.text(n, field, hint);
    if (name === undefined) return undefined;
    if (!ENV_NAME.test(name)) return r.report(n.pos, field, `${quote(name)} is not a valid environment variable name; ${ENV_NAME_HINT}`);
    if (seen.has(name)) return r.report(n.pos, field, `${name} is listed twice; list each secret once`);
    seen.add(name);
    if (env && Object.hasOwn(env, name)) {
      return r.report(n.pos, field, `${name} is also set in env; a secret's value comes only from the caller's environment, so remove it from env (or from secrets if it is not secret)`);
    }
    return name;
  });
}

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

/** Filters in kit's `--filter` syntax, checked with the parser `kit unpack` uses. */
export function readInputs(r: Reader, node: TreeNode): string[] | undefined {
  const hint = 'write layer filters like [model, datasets:train, code] (TYPE[,TYPE][:NAME[,NAME]])';
  if (node.kind === 'seq' && node.items.length === 0) {
    return r.report(node.pos, 'inputs', 'an empty list selects no layers; leave out inputs to materialize every layer, or list the layers to use');
  }
  return r.list(node, 'inputs', hint, (n, field) => {
    const text = r.nonEmptyText(n, field, hint);
    if (text === undefined) return undefined;
    try {
      parseFilter(text.trim());
      return text.trim();
    } catch (e) {
      if (!isKitError(e)) throw e;
      return r.report(n.pos, field, e.message);
    }
  });
}

export function readOutputs(r: Reader, node: TreeNode, keyPos: SourcePos): RunFile['outputs'] | undefined {
  const entries = r.mapping(node, 'outputs', RUNFILE_KEYS.outputs, 'write model: PATH under it, e.g. model: out/model.safetensors');
  if (!entries) return undefined;
  const modelNode = present(entries, 'model');
  const model = modelNode
    ? outputPath(r, modelNode, 'outputs.model')
    : r.report(entries.get('model')?.value.pos ?? keyPos, 'outputs.model', 'is required; write the path of the trained model under the outputs dir, e.g. model: out/model.safetensors');
  const filesNode = present(entries, 'files');
  const files = filesNode ? r.list(filesNode, 'outputs.files', PATH_HINT, (n, f) => outputPath(r, n, f)) : [];
  const metricsNode = present(entries, 'metrics');
  const metrics = metricsNode ? outputPath(r, metricsNode, 'outputs.metrics') : undefined;
  if (model === undefined || files === undefined) return undefined;
  checkOverlaps(r, model, modelNode!, files, filesNode, metrics, metricsNode);
  return { model, files, ...(metrics !== undefined && { metrics }) };
}

const PATH_HINT = 'write a path relative to the outputs dir, e.g. out/tokenizer.json';

/** A path inside the outputs dir, normalised; absolute paths and `..` are refused. */
function outputPath(r: Reader, node: TreeNode, field: string): string | undefined {
  const text = r.nonEmptyText(node, field, PATH_HINT);
  if (text === undefined) return undefined;
  const bad = (what: string) => r.report(node.pos, field, `${quote(text)} ${what}`);
  if (text.includes('\0')) return bad(`contains a NUL character; ${PATH_HINT}`);
  if (text.includes('\\')) return bad(`contains "\\"; separate directories with "/"`);
  if (text.startsWith('/') || /^[A-Za-z]:/.test(text)) return bad(`is absolute; ${PATH_HINT}`);
  if (text.split('/').includes('..')) return bad(`uses ".." to leave the outputs dir; ${PATH_HINT}`);
  const path = posix.normalize(text).replace(/\/+$/, '');
  if (path === '.' || path === '') return bad('names the outputs dir itself; name a file or directory inside it');
  return path;
}

/** Each path is packed once: no output may repeat or sit inside the model or a listed file. */
function checkOverlaps(
  r: Reader, model: string, modelNode: TreeNode, files: string[], filesNode: TreeNode | undefined,
  metrics: string | undefined, metricsNode: TreeNode | undefined,
): void {
  const packed: Array<{ path: string; field: string; pos: SourcePos }> = [{ path: model, field: 'outputs.model', pos: modelNode.pos }];
  files.forEach((path, i) => {
    const item = filesNode?.kind === 'seq' ? filesNode.items[i] : filesNode;
    packed.push({ path, field: filesNode?.kind === 'seq' ? fieldPath('outputs.files', i) : 'outputs.files', pos: item!.pos });
  });
  const inside = (a: string, b: string) => a === b || a.startsWith(`${b}/`);
  for (const [i, cur] of packed.entries()) {
    const other = packed.slice(0, i).find((p) => inside(cur.path, p.path) || inside(p.path, cur.path));
    if (other) {
      const how = cur.path === other.path ? 'is the same path as' : inside(cur.path, other.path) ? 'is inside' : 'contains';
      r.report(cur.pos, cur.field, `${quote(cur.path)} ${how} ${other.field} (${quote(other.path)}), so it would be packed twice; list each output once`);
    }
  }
  // Metrics are read, not packed as a file of their own, so they may sit inside the model dir.
  const same = packed.find((p) => p.path === metrics);
  if (metrics !== undefined && same) {
    r.report(metricsNode!.pos, 'outputs.metrics', `${quote(metrics)} is the same path as ${same.field}; metrics are a JSON file of their own`);
  }
}

/** `max_duration`: a duration, or `off`/`false` for none (dstack's spelling of "no limit"). */
export function readMaxDuration(r: Reader, node: TreeNode): number | undefined {
  const text = r.text(node, 'max_duration', 'write a duration like 2h, or off');
  if (text === undefined || text === 'off' || FALSE.has(text)) return undefined;
  return r.grammar(node.pos, () => parseDuration(text, 'max_duration'));
}

/** `retry: true | false` or `{on_events, duration}`; undefined means no retries (or a problem). */
export function readRetry(r: Reader, node: TreeNode): RunFile['retry'] {
  if (node.kind === 'scalar') {
    if (TRUE.has(node.text)) return { ...DEFAULT_RETRY, onEvents: [...DEFAULT_RETRY.onEvents] };
    if (FALSE.has(node.text)) return undefined;
  }
  const entries = r.mapping(node, 'retry', RUNFILE_KEYS.retry, 'write retry: true, or on_events and duration under it, e.g. on_events: [no_capacity, interruption]');
  if (!entries) return undefined;
  const eventsNode = present(entries, 'on_events');
  const onEvents = eventsNode ? readRetryEvents(r, eventsNode) : [...DEFAULT_RETRY.onEvents];
  const durationNode = present(entries, 'duration');
  const durationText = durationNode && r.text(durationNode, 'retry.duration', 'write a duration like 1h');
  const durationMs = durationNode
    ? durationText === undefined ? undefined : r.grammar(durationNode.pos, () => parseDuration(durationText, 'retry.duration'))
    : DEFAULT_RETRY.durationMs;
  if (!onEvents || durationMs === undefined) return undefined;
  return { onEvents, durationMs };
}

function readRetryEvents(r: Reader, node: TreeNode): RetryEvent[] | undefined {
  const hint = `list events from ${RETRY_EVENTS.join(', ')}, e.g. on_events: [no_capacity, interruption]`;
  if (node.kind === 'seq' && node.items.length === 0) {
    return r.report(node.pos, 'retry.on_events', 'is empty, so nothing would be retried; list events, or leave out retry');
  }
  const events = r.list(node, 'retry.on_events', hint, (n, field) => {
    const text = r.text(n, field, hint);
    if (text === undefined) return undefined;
    // dstack spells it no-capacity; accept both so dstack configs carry over.
    const event = text.replace(/-/g, '_') as RetryEvent;
    return RETRY_EVENTS.includes(event) ? event : r.report(n.pos, field, `${quote(text)} is not a retry event; ${hint}`);
  });
  return events && [...new Set(events)];
}
