/** The `outputs` section: paths inside the run's outputs directory that make the new ModelKit. */
import { posix } from 'node:path';
import { fieldPath, quote, type SourcePos } from './problems.js';
import { present, type Reader } from './read.js';
import { RUNFILE_KEYS, type RunFile } from './schema.js';
import type { TreeNode } from './yaml-tree.js';

const PATH_HINT = 'write a path relative to the outputs dir, e.g. out/tokenizer.json';

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
