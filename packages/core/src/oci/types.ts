/**
 * OCI image-spec v1.1 domain types (descriptor, image manifest, image index) and validating
 * parsers for manifest bytes. Parsed objects keep unknown fields (the spec says to ignore, not
 * drop, them) so that `inspect` shows a manifest as stored; but digests are always taken over the
 * original bytes, never over a re-serialisation of these objects.
 */
import { z } from 'zod';
import { KitError } from '../errors.js';
import {
  DOCKER_MANIFEST_LIST_MEDIA_TYPE,
  DOCKER_MANIFEST_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
} from '../modelkit/mediatypes.js';
import { isDigest } from './digest.js';

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  urls?: string[];
  /** Base64 of the content, embedded (e.g. the empty config `e30=`). */
  data?: string;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

// Go decodes `"annotations": null` as an empty map; accept it rather than fail on a harmless null.
const annotations = z
  .record(z.string(), z.string())
  .nullable()
  .transform((a) => a ?? undefined);

const platform = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
});

const descriptor = z.looseObject({
  mediaType: z.string().min(1),
  digest: z.string().refine(isDigest, { message: 'not a valid digest (expected sha256:<64 lowercase hex>)' }),
  // int64 in Go; JS numbers are exact to 2^53 bytes (8 PiB), far beyond any single blob.
  size: z.number().int().nonnegative(),
  annotations: annotations.optional(),
  artifactType: z.string().optional(),
  platform: platform.optional(),
  urls: z.array(z.string()).optional(),
  data: z.string().optional(),
});

const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptor,
  // kit v1.7 writes `"layers": null` for a ModelKit without layers.
  layers: z
    .array(descriptor)
    .nullable()
    .optional()
    .transform((l) => l ?? []),
  subject: descriptor.optional(),
  annotations: annotations.optional(),
});

const indexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z
    .array(descriptor)
    .nullable()
    .transform((m) => m ?? []),
  subject: descriptor.optional(),
  annotations: annotations.optional(),
});

const MANIFEST_TYPES = new Set([OCI_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE]);
const INDEX_TYPES = new Set([OCI_INDEX_MEDIA_TYPE, DOCKER_MANIFEST_LIST_MEDIA_TYPE]);

/** JSON bytes that do not even parse are damage, not a format question. */
function parseJsonObject(bytes: Buffer | string, where: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (e) {
    throw new KitError('STORE_CORRUPT', `${what} in ${where} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new KitError('STORE_CORRUPT', `${what} in ${where} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Parses image-manifest bytes. Unparseable JSON → STORE_CORRUPT; well-formed JSON that is not an
 * OCI/Docker schema-2 image manifest (an index, schema 1, missing or invalid fields) →
 * FORMAT_UNSUPPORTED. `where` names the source for the message ("registry.io/org/repo:tag",
 * "local store blob sha256:…").
 */
export function parseManifest(bytes: Buffer | string, where: string): Manifest {
  const obj = parseJsonObject(bytes, where, 'manifest');
  const mediaType = obj.mediaType;
  if (typeof mediaType === 'string' && INDEX_TYPES.has(mediaType)) {
    throw new KitError('FORMAT_UNSUPPORTED', `${where} is an image index (${mediaType}), not an image manifest`);
  }
  if (typeof mediaType === 'string' && !MANIFEST_TYPES.has(mediaType)) {
    throw new KitError('FORMAT_UNSUPPORTED', `${where} has unsupported manifest media type ${mediaType}; expected ${OCI_MANIFEST_MEDIA_TYPE}`);
  }
  if (mediaType === undefined && Array.isArray(obj.manifests) && obj.config === undefined) {
    throw new KitError('FORMAT_UNSUPPORTED', `${where} is an image index, not an image manifest`);
  }
  const result = manifestSchema.safeParse(obj);
  if (!result.success) {
    throw new KitError('FORMAT_UNSUPPORTED', `${where} is not a valid OCI image manifest: ${describeIssues(result.error)}`);
  }
  return result.data as Manifest;
}

/** Parses image-index bytes (the same error split as parseManifest). */
export function parseImageIndex(bytes: Buffer | string, where: string): ImageIndex {
  const obj = parseJsonObject(bytes, where, 'index');
  const mediaType = obj.mediaType;
  if (typeof mediaType === 'string' && !INDEX_TYPES.has(mediaType)) {
    throw new KitError('FORMAT_UNSUPPORTED', `${where} has media type ${mediaType}; expected ${OCI_INDEX_MEDIA_TYPE}`);
  }
  const result = indexSchema.safeParse(obj);
  if (!result.success) {
    throw new KitError('FORMAT_UNSUPPORTED', `${where} is not a valid OCI image index: ${describeIssues(result.error)}`);
  }
  return result.data as ImageIndex;
}
