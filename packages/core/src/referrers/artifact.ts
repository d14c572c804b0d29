import { KitError } from '../errors.js';
import { OCI_EMPTY_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE } from '../modelkit/mediatypes.js';
import { sha256Digest } from '../oci/digest.js';
import { parseManifest, type Descriptor, type Manifest } from '../oci/types.js';

/** The OCI empty config, `{}`: artifacts that need no config point at it. */
export const EMPTY_CONFIG_BYTES = Buffer.from('{}');
export const EMPTY_CONFIG: Descriptor = { mediaType: OCI_EMPTY_MEDIA_TYPE, digest: sha256Digest(EMPTY_CONFIG_BYTES), size: 2 };
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';

/** One payload (an SBOM, a Sigstore bundle) to attach to a ModelKit. */
export interface ArtifactPayload {
  artifactType: string;
  /** The payload's media type (the layer's); defaults to the artifact type. */
  mediaType?: string;
  bytes: Buffer;
  /** File name suggested to `oras pull` and friends. */
  title?: string;
  annotations?: Record<string, string>;
}

/** A built referrer manifest with the blobs it needs, ready to store or push. */
export interface ArtifactManifest {
  descriptor: Descriptor;
  manifest: Manifest;
  bytes: Buffer;
  blobs: Array<{ descriptor: Descriptor; bytes: Buffer }>;
}

/**
 * An OCI 1.1 artifact manifest (image-spec "guidelines for artifact usage"): empty config, one
 * layer with the payload, `subject` = the ModelKit it describes. This is the layout cosign's
 * bundle spec and `oras attach` use, so their discovery finds ours and ours finds theirs.
 */
export function buildArtifactManifest(subject: Descriptor, payload: ArtifactPayload): ArtifactManifest {
  const layer: Descriptor = { mediaType: payload.mediaType ?? payload.artifactType, digest: sha256Digest(payload.bytes), size: payload.bytes.length };
  if (payload.title) layer.annotations = { [ANNOTATION_TITLE]: payload.title };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    artifactType: payload.artifactType,
    config: EMPTY_CONFIG,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  if (payload.annotations && Object.keys(payload.annotations).length > 0) manifest.annotations = payload.annotations;
  const bytes = Buffer.from(JSON.stringify(manifest));
  const descriptor: Descriptor = { mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: sha256Digest(bytes), size: bytes.length, artifactType: payload.artifactType };
  if (manifest.annotations) descriptor.annotations = manifest.annotations;
  return {
    descriptor,
    manifest,
    bytes,
    blobs: [
      { descriptor: EMPTY_CONFIG, bytes: EMPTY_CONFIG_BYTES },
      { descriptor: layer, bytes: payload.bytes },
    ],
  };
}

/** Parse a referrer manifest and check it has the one payload layer and the subject we expect. */
export function parseArtifactManifest(bytes: Buffer, where: string, subject?: string): Manifest & { subject: Descriptor } {
  const manifest = parseManifest(bytes, where);
  if (!manifest.subject) throw new KitError('FORMAT_UNSUPPORTED', `${where} has no subject: it is not a referrer`);
  if (subject && manifest.subject.digest !== subject) {
    throw new KitError('DIGEST_MISMATCH', `${where} refers to ${manifest.subject.digest}, not ${subject}`);
  }
  if (manifest.layers.length === 0) throw new KitError('FORMAT_UNSUPPORTED', `${where} has no payload layer`);
  return manifest as Manifest & { subject: Descriptor };
}
