/**
 * `kit diff`: compares two manifests by config digest, manifest annotations and layers, as kit's
 * CompareManifests does.
 *
 * Layers match by digest, and, because identical files at different paths share a digest (two
 * empty `__init__.py` raw layers), also by the cleaned `org.cncf.model.filepath` annotation when
 * both layers have one; a layer without the annotation (packed before kit 1.10) matches any path.
 * Each layer of A is matched at most once, so duplicates are counted, not collapsed.
 *
 * Output order is deterministic where kit's is not (kit walks a Go map and sorts unstably): each
 * list is stably sorted by media type, and within a media type keeps manifest order.
 */
import { cleanPath } from '../layers/clean-path.js';
import type { Descriptor, Manifest } from '../oci/types.js';
import { ANNOTATION_FILEPATH } from './mediatypes.js';

export interface ManifestDiff {
  sameConfig: boolean;
  annotationsMatch: boolean;
  /** Layers in both; the descriptor from B (as kit reports them). */
  sharedLayers: Descriptor[];
  uniqueLayersA: Descriptor[];
  uniqueLayersB: Descriptor[];
}


function layerPath(d: Descriptor): string {
  return d.annotations?.[ANNOTATION_FILEPATH] ?? '';
}

function sameAnnotations(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b ?? {}, k) && (b ?? {})[k] === (a ?? {})[k]);
}

function byMediaType(list: Descriptor[]): Descriptor[] {
  // Array.prototype.sort is stable, which keeps manifest order within a media type.
  return list.sort((x, y) => (x.mediaType < y.mediaType ? -1 : x.mediaType > y.mediaType ? 1 : 0));
}

export function diffManifests(a: Manifest, b: Manifest): ManifestDiff {
  const sameConfig = a.config.digest === b.config.digest;
  const annotationsMatch = sameAnnotations(a.annotations, b.annotations);

  // Indices of A's layers not yet matched, in manifest order, grouped by digest.
  const layersA = a.layers ?? [];
  const remainingA = new Map<string, number[]>();
  layersA.forEach((layer, i) => {
    const list = remainingA.get(layer.digest);
    if (list) list.push(i);
    else remainingA.set(layer.digest, [i]);
  });

  const sharedLayers: Descriptor[] = [];
  const uniqueLayersB: Descriptor[] = [];
  for (const layer of b.layers ?? []) {
    const candidates = remainingA.get(layer.digest) ?? [];
    const pathB = layerPath(layer);
    const idx = candidates.findIndex((i) => {
      const pathA = layerPath(layersA[i]);
      return pathA === '' || pathB === '' || cleanPath(pathA) === cleanPath(pathB);
    });
    if (idx >= 0) {
      sharedLayers.push(layer);
      candidates.splice(idx, 1);
    } else {
      uniqueLayersB.push(layer);
    }
  }

  // Whatever of A was not matched, back in A's manifest order.
  const leftover = new Set([...remainingA.values()].flat());
  const uniqueLayersA = layersA.filter((_, i) => leftover.has(i));

  return {
    sameConfig,
    annotationsMatch,
    sharedLayers: byMediaType(sharedLayers),
    uniqueLayersA: byMediaType(uniqueLayersA),
    uniqueLayersB: byMediaType(uniqueLayersB),
  };
}
