import { goJsonStringify } from '../oci/go-json.js';
import type { Descriptor, Manifest } from '../oci/types.js';

/**
 * Manifest bytes as Go's encoding/json writes ocispec.Manifest: struct field order, map keys
 * sorted, HTML-safe escaping, no trailing newline. Digests are taken over exactly these bytes.
 */
export function manifestToJson(manifest: Manifest): string {
  const ordered: Record<string, unknown> = { schemaVersion: manifest.schemaVersion };
  if (manifest.mediaType) ordered.mediaType = manifest.mediaType;
  if (manifest.artifactType) ordered.artifactType = manifest.artifactType;
  ordered.config = orderDescriptor(manifest.config);
  ordered.layers = manifest.layers.map(orderDescriptor);
  if (manifest.subject) ordered.subject = orderDescriptor(manifest.subject);
  if (manifest.annotations && Object.keys(manifest.annotations).length > 0) ordered.annotations = sortedRecord(manifest.annotations);
  return goJsonStringify(ordered);
}

/** ocispec.Descriptor field order: mediaType, digest, size, urls, annotations, data, platform, artifactType. */
export function orderDescriptor(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls?.length) out.urls = d.urls;
  if (d.annotations && Object.keys(d.annotations).length > 0) out.annotations = sortedRecord(d.annotations);
  if (d.data) out.data = d.data;
  if (d.platform) out.platform = d.platform;
  if (d.artifactType) out.artifactType = d.artifactType;
  return out;
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
