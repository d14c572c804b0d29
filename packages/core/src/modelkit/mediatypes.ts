/**
 * Media types, artifact types and annotation keys for KitOps ModelKits and CNCF ModelPack
 * artifacts, plus the mapping between Kitfile layer kinds and layer media types.
 *
 * Kit layer types follow kit's `pkg/lib/constants/mediatype` (kitops-format.md §2.3); ModelPack
 * types follow model-spec v0.0.7 (§12). We read ModelPack's pre-v0.0.7 `vnd.cnai.model.*`
 * prefix too, because modctl and older builds still emit it; we never write it.
 */
import { KitError } from '../errors.js';
import type { LayerKind } from '../kitfile/types.js';

export type LayerFormat = 'tar' | 'raw';
export type Compression = 'none' | 'gzip' | 'gzip-fastest' | 'zstd';
export type ArtifactFormat = 'kit' | 'modelpack';

// --- OCI --------------------------------------------------------------------------------------
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
/** Docker schema 2 types: structurally OCI, still served by some registries. */
export const DOCKER_MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.list.v2+json';

// --- KitOps -----------------------------------------------------------------------------------
export const KIT_MANIFEST_ARTIFACT_TYPE = 'application/vnd.kitops.modelkit.manifest.v1+json';
export const KIT_CONFIG_MEDIA_TYPE = 'application/vnd.kitops.modelkit.config.v1+json';
export const KIT_INDEX_ARTIFACT_TYPE = 'application/vnd.kitops.modelkit.index.v1+json';

// --- CNCF ModelPack ---------------------------------------------------------------------------
export const MODELPACK_MANIFEST_ARTIFACT_TYPE = 'application/vnd.cncf.model.manifest.v1+json';
export const MODELPACK_CONFIG_MEDIA_TYPE = 'application/vnd.cncf.model.config.v1+json';
/** model-spec v0.0.1–v0.0.6 names; read-only. */
export const LEGACY_MODELPACK_MANIFEST_ARTIFACT_TYPE = 'application/vnd.cnai.model.manifest.v1+json';
export const LEGACY_MODELPACK_CONFIG_MEDIA_TYPE = 'application/vnd.cnai.model.config.v1+json';

// --- Annotations ------------------------------------------------------------------------------
export const ANNOTATION_FILEPATH = 'org.cncf.model.filepath';
export const ANNOTATION_FILE_METADATA = 'org.cncf.model.file.metadata+json';
export const ANNOTATION_MEDIATYPE_UNTESTED = 'org.cncf.model.file.mediatype.untested';
export const ANNOTATION_CLI_VERSION = 'ml.kitops.modelkit.cli-version';
export const ANNOTATION_KITFILE = 'ml.kitops.modelkit.kitfile';
export const ANNOTATION_LAYER_SUBTYPE = 'ml.kitops.modelkit.layer-subtype';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
/** Value of ANNOTATION_LAYER_SUBTYPE on `code` layers that hold prompts. */
export const LAYER_SUBTYPE_PROMPT = 'prompt';

export interface LayerMediaTypeOptions {
  format: ArtifactFormat;
  layerFormat: LayerFormat;
  compression: Compression;
}

export interface ParsedLayerMediaType {
  format: ArtifactFormat;
  kind: LayerKind;
  layerFormat: LayerFormat;
  /** gzip-fastest is a writer setting only: on the wire it is plain `+gzip`. */
  compression: 'none' | 'gzip' | 'zstd';
}

// Prompts have no layer type of their own: they travel as `code` plus a subtype annotation.
const KIT_TYPE: Record<LayerKind, string> = {
  model: 'model',
  modelpart: 'modelpart',
  code: 'code',
  dataset: 'dataset',
  docs: 'docs',
  prompt: 'code',
  mcpserver: 'mcpb',
};

const MODELPACK_TYPE: Record<Exclude<LayerKind, 'mcpserver'>, string> = {
  model: 'weight',
  modelpart: 'weight.config',
  code: 'code',
  dataset: 'dataset',
  docs: 'doc',
  prompt: 'code',
};

const KIT_MCPB_MEDIA_TYPE = 'application/vnd.kitops.modelkit.mcpb.v1.raw';

function wireCompression(c: Compression): 'none' | 'gzip' | 'zstd' {
  switch (c) {
    case 'none':
      return 'none';
    case 'gzip':
    case 'gzip-fastest':
      return 'gzip';
    case 'zstd':
      return 'zstd';
    default:
      throw new KitError('INVALID_ARGUMENT', `unknown compression "${String(c)}": use one of none, gzip, gzip-fastest, zstd`);
  }
}

/** The media type a layer of `kind` gets when packed with these options. */
export function layerMediaType(kind: LayerKind, opts: LayerMediaTypeOptions): string {
  if (opts.layerFormat !== 'tar' && opts.layerFormat !== 'raw') {
    throw new KitError('INVALID_ARGUMENT', `unknown layer format "${String(opts.layerFormat)}": use tar or raw`);
  }
  const comp = wireCompression(opts.compression);
  if (opts.format === 'kit') {
    // An MCP bundle is already a ZIP: kit always stores it verbatim, whatever the pack options.
    if (kind === 'mcpserver') return KIT_MCPB_MEDIA_TYPE;
    const type = KIT_TYPE[kind];
    if (type === undefined) throw new KitError('INVALID_ARGUMENT', `unknown layer kind "${String(kind)}"`);
    return `application/vnd.kitops.modelkit.${type}.v1.${opts.layerFormat}${comp === 'none' ? '' : `+${comp}`}`;
  }
  if (opts.format === 'modelpack') {
    if (kind === 'mcpserver') {
      throw new KitError('INVALID_ARGUMENT', 'MCP servers cannot be packed as ModelPack: ModelPack has no MCP bundle layer type; pack without ModelPack mode');
    }
    const type = MODELPACK_TYPE[kind];
    if (type === undefined) throw new KitError('INVALID_ARGUMENT', `unknown layer kind "${String(kind)}"`);
    if (opts.layerFormat === 'raw') {
      if (comp !== 'none') {
        throw new KitError('INVALID_ARGUMENT', `ModelPack does not allow compressed raw layers (${kind} with ${opts.compression}); use compression none or layer format tar`);
      }
      return `application/vnd.cncf.model.${type}.v1.raw`;
    }
    return `application/vnd.cncf.model.${type}.v1.tar${comp === 'none' ? '' : `+${comp}`}`;
  }
  throw new KitError('INVALID_ARGUMENT', `unknown artifact format "${String(opts.format)}": use kit or modelpack`);
}

// Same shapes as kit's parse regexes; ModelPack also accepts the legacy `cnai` vendor.
const KIT_LAYER_RE = /^application\/vnd\.kitops\.modelkit\.(\w+)\.v1\.(\w+)(?:\+(\w+))?$/;
const MODELPACK_LAYER_RE = /^application\/vnd\.(?:cncf|cnai)\.model\.(\w+(?:\.\w+)?)\.v1\.(\w+)(?:\+(\w+))?$/;

const KIT_KIND: Readonly<Record<string, LayerKind>> = {
  model: 'model',
  modelpart: 'modelpart',
  code: 'code',
  dataset: 'dataset',
  docs: 'docs',
  mcpb: 'mcpserver',
};

const MODELPACK_KIND: Readonly<Record<string, LayerKind>> = {
  weight: 'model',
  'weight.config': 'modelpart',
  code: 'code',
  dataset: 'dataset',
  doc: 'docs',
};

function parseSuffix(format: string, compression: string | undefined): Pick<ParsedLayerMediaType, 'layerFormat' | 'compression'> | undefined {
  if (format !== 'tar' && format !== 'raw') return undefined;
  // kit's ParseCompression also takes an explicit `none`; `gzip-fastest` cannot match \w+.
  const c = compression === undefined || compression === 'none' ? 'none' : compression;
  if (c !== 'none' && c !== 'gzip' && c !== 'zstd') return undefined;
  return { layerFormat: format, compression: c };
}

/**
 * Classifies a layer media type, or returns undefined when it is not a Kit or ModelPack layer
 * type we can unpack (configs, unknown kinds, unknown formats or compressions, compressed
 * ModelPack raw layers, and MCP bundles stored any way other than raw).
 */
export function parseLayerMediaType(mt: string): ParsedLayerMediaType | undefined {
  if (typeof mt !== 'string') return undefined;
  let m = KIT_LAYER_RE.exec(mt);
  if (m) {
    const kind = Object.hasOwn(KIT_KIND, m[1]) ? KIT_KIND[m[1]] : undefined;
    const suffix = parseSuffix(m[2], m[3]);
    if (!kind || !suffix) return undefined;
    if (kind === 'mcpserver' && (suffix.layerFormat !== 'raw' || suffix.compression !== 'none')) return undefined;
    return { format: 'kit', kind, ...suffix };
  }
  m = MODELPACK_LAYER_RE.exec(mt);
  if (m) {
    const kind = Object.hasOwn(MODELPACK_KIND, m[1]) ? MODELPACK_KIND[m[1]] : undefined;
    const suffix = parseSuffix(m[2], m[3]);
    if (!kind || !suffix) return undefined;
    if (suffix.layerFormat === 'raw' && suffix.compression !== 'none') return undefined;
    return { format: 'modelpack', kind, ...suffix };
  }
  return undefined;
}

/** The parts of a manifest format detection needs; any Manifest fits. */
export interface ManifestTypeInfo {
  artifactType?: string;
  config?: { mediaType?: string };
}

/**
 * Which model format a manifest is, as kit's ModelFormatForManifest: Kit wins when either the
 * artifactType or the config media type says Kit (v1.7 manifests have no artifactType at all).
 */
export function detectArtifactFormat(manifest: ManifestTypeInfo): ArtifactFormat | undefined {
  const artifactType = manifest.artifactType;
  const configType = manifest.config?.mediaType;
  if (artifactType === KIT_MANIFEST_ARTIFACT_TYPE || configType === KIT_CONFIG_MEDIA_TYPE) return 'kit';
  if (
    artifactType === MODELPACK_MANIFEST_ARTIFACT_TYPE ||
    artifactType === LEGACY_MODELPACK_MANIFEST_ARTIFACT_TYPE ||
    configType === MODELPACK_CONFIG_MEDIA_TYPE ||
    configType === LEGACY_MODELPACK_CONFIG_MEDIA_TYPE
  ) {
    return 'modelpack';
  }
  return undefined;
}
