/**
 * The `modelkit:` name/value properties both formats carry for what neither has a field for:
 * CycloneDX as component properties, SPDX as CdxPropertiesExtension entries on the same element.
 */
import type { ContentLayer, DatasetRecord, KitRecord, LayerRecord, LibraryRecord, ModelRecord, PartRecord } from './describe.js';

export type PropertyList = Array<[string, string]>;

function defined(list: Array<[string, string | undefined]>): PropertyList {
  return list.filter((p): p is [string, string] => p[1] !== undefined);
}

export function kitProperties(k: KitRecord): PropertyList {
  return defined([
    ['modelkit:reference', k.reference],
    ['modelkit:format', k.format],
    ['modelkit:manifest:digest', k.manifestDigest],
    ['modelkit:manifest:mediaType', k.manifestMediaType],
    ['modelkit:artifactType', k.artifactType],
    ['modelkit:created', k.created],
  ]);
}

export function layerProperties(layer: LayerRecord | undefined): PropertyList {
  if (!layer) return [];
  return [
    ['modelkit:layer:digest', layer.digest],
    ['modelkit:layer:mediaType', layer.mediaType],
    ['modelkit:layer:size', String(layer.size)],
    ['modelkit:layer:path', layer.path],
  ];
}

export function modelProperties(m: ModelRecord): PropertyList {
  return [
    ...layerProperties(m.layer),
    ...defined([
      ['modelkit:model:framework', m.framework],
      ['modelkit:model:format', m.format],
      ['modelkit:model:reference', m.reference],
    ]),
  ];
}

export function partProperties(p: PartRecord): PropertyList {
  return [...layerProperties(p.layer), ...defined([['modelkit:part:type', p.type]])];
}

export function datasetProperties(ds: DatasetRecord): PropertyList {
  return [
    ...layerProperties(ds.layer),
    ...defined([
      ['modelkit:dataset:path', ds.path],
      ['modelkit:dataset:remoteHash', ds.remoteHash],
    ]),
  ];
}

export function contentLayerProperties(layer: ContentLayer): PropertyList {
  return [
    ...layerProperties(layer),
    ...layer.manifests.map((path): [string, string] => ['modelkit:dependency:manifest', path]),
    ...layer.skipped.map(({ path, reason }): [string, string] => ['modelkit:dependency:skipped', `${path}: ${reason}`]),
  ];
}

export function libraryProperties(lib: LibraryRecord): PropertyList {
  return [...defined([['modelkit:dependency:versionRange', lib.range]]), ...lib.sources.map((s): [string, string] => ['modelkit:dependency:source', s])];
}
