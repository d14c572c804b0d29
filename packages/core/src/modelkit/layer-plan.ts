import { cleanPath } from '../layers/clean-path.js';
import type { Kitfile, LayerDigests, LayerKind } from '../kitfile/types.js';

/** One Kitfile element that becomes one layer, in upstream's pack order. */
export interface PlannedLayer {
  kind: LayerKind;
  /** Cleaned path, relative to the context ('.' for the context itself). */
  path: string;
  /** The Kitfile element; pack records digest and diffId on it. */
  element: LayerDigests & { path?: string; name?: string };
}

/** Go's filepath.Clean for Kitfile paths: '' and './' become '.', trailing slashes go. */
export function cleanLayerPath(path: string | undefined): string {
  return cleanPath((path ?? '').replace(/\\/g, '/'));
}

/** A model path that names another ModelKit rather than files: it contributes no layer of its own. */
export function isModelReferencePath(path: string | undefined): boolean {
  return !!path && !path.includes('://') && /[:@]/.test(path);
}

/**
 * The layers a Kitfile produces, in the order kit packs them: model, parts, code, datasets (local
 * ones), docs, prompts, MCP servers. Unpack maps layers back to elements by this order per kind.
 */
export function planLayers(kitfile: Kitfile): PlannedLayer[] {
  const layers: PlannedLayer[] = [];
  const add = (kind: LayerKind, element: PlannedLayer['element']) => layers.push({ kind, path: cleanLayerPath(element.path), element });
  if (kitfile.model && kitfile.model.path !== undefined && !isModelReferencePath(kitfile.model.path)) add('model', kitfile.model);
  for (const part of kitfile.model?.parts ?? []) add('modelpart', part);
  for (const code of kitfile.code ?? []) add('code', code);
  for (const dataset of kitfile.datasets ?? []) if (!dataset.remotePath) add('dataset', dataset);
  for (const docs of kitfile.docs ?? []) add('docs', docs);
  for (const prompt of kitfile.prompts ?? []) add('prompt', prompt);
  for (const server of kitfile.mcpServers ?? []) add('mcpserver', server);
  return layers;
}
