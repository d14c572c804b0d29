import { KitError } from '../errors.js';
import { parseKitfileJson } from '../kitfile/parse.js';
import type { Kitfile, LayerKind } from '../kitfile/types.js';
import { kitfileFromModelPackManifest } from '../modelpack/config.js';
import type { Descriptor, Manifest } from '../oci/types.js';
import { cleanLayerPath, planLayers } from './layer-plan.js';
import {
  ANNOTATION_FILEPATH,
  ANNOTATION_LAYER_SUBTYPE,
  detectArtifactFormat,
  LAYER_SUBTYPE_PROMPT,
  parseLayerMediaType,
  type ArtifactFormat,
  type LayerFormat,
} from './mediatypes.js';

/** A manifest layer matched to the Kitfile element it came from. */
export interface ResolvedLayer {
  descriptor: Descriptor;
  kind: LayerKind;
  layerFormat: LayerFormat;
  compression: 'none' | 'gzip' | 'zstd';
  /** Where the layer's content belongs, relative to the unpack directory. */
  path: string;
  element: { name?: string; path?: string };
  /** Old kits stored tar entries relative to the layer path's parent rather than the context. */
  legacyPaths: boolean;
}

export interface ModelKitContents {
  format: ArtifactFormat;
  kitfile: Kitfile;
  layers: ResolvedLayer[];
}

/**
 * Interpret a manifest and its config, in either format: the Kitfile (KitOps config, ModelPack
 * annotation, or synthesised from file paths) and each layer matched positionally per kind to its
 * Kitfile element, checking the config's recorded digests against the manifest's layers.
 */
export function describeModelKit(manifest: Manifest, configBytes: Buffer, where: string): ModelKitContents {
  const format = detectArtifactFormat(manifest);
  if (!format) {
    throw new KitError('FORMAT_UNSUPPORTED', `${where} is not a ModelKit (config media type ${manifest.config.mediaType}, artifact type ${manifest.artifactType ?? 'none'})`);
  }
  const kitfile = format === 'kit' ? parseKitfileJson(configBytes.toString('utf8')) : kitfileFromModelPackManifest(manifest);
  const planned = planLayers(kitfile);
  const byKind = new Map<LayerKind, typeof planned>();
  for (const p of planned) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p]);
  const used = new Map<LayerKind, number>();

  const layers = manifest.layers.map((descriptor, i): ResolvedLayer => {
    const parsed = parseLayerMediaType(descriptor.mediaType);
    if (!parsed) throw new KitError('FORMAT_UNSUPPORTED', `${where}: layer ${i} has unknown media type ${descriptor.mediaType}`);
    const kind: LayerKind = parsed.kind === 'code' && descriptor.annotations?.[ANNOTATION_LAYER_SUBTYPE] === LAYER_SUBTYPE_PROMPT ? 'prompt' : parsed.kind;
    const n = used.get(kind) ?? 0;
    used.set(kind, n + 1);
    const match = byKind.get(kind)?.[n];
    const annotated = descriptor.annotations?.[ANNOTATION_FILEPATH];
    if (!match && annotated === undefined) {
      throw new KitError('STORE_CORRUPT', `${where}: layer ${i} (${kind}) has no matching Kitfile entry and no ${ANNOTATION_FILEPATH} annotation`);
    }
    if (match?.element.digest && match.element.digest !== descriptor.digest) {
      throw new KitError('DIGEST_MISMATCH', `${where}: the config records ${match.element.digest} for ${kind} "${match.path}" but the manifest has ${descriptor.digest}`);
    }
    const element = match?.element ?? { path: annotated };
    return {
      descriptor,
      kind,
      layerFormat: parsed.layerFormat,
      compression: parsed.compression,
      path: cleanLayerPath(annotated ?? match!.path),
      element,
      legacyPaths: format === 'kit' && !match?.element.digest && annotated === undefined,
    };
  });
  return { format, kitfile, layers };
}
