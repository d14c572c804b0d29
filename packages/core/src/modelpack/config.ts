/**
 * CNCF ModelPack (modelpack/model-spec v0.0.7) config blobs, and the two bridges kit builds
 * between them and Kitfiles: ToModelPackConfig (pack --use-model-pack) and the Kitfile kit reads
 * or synthesises for a ModelPack manifest (pkg/artifact GenerateKitfileForModelPack).
 *
 * We pin v0.0.7's Go types (specs-go/v1/config.go at that tag): later model-spec adds
 * `datasetsURL`, `languages` and `architecture_config` and drops `capabilities.embedding`, and
 * the config schema forbids unknown properties, so emitting a newer field would make our configs
 * invalid for v0.0.7 readers.
 */
import { z } from 'zod';
import { KitError } from '../errors.js';
import { goJsonStringify } from '../oci/go-json.js';
import type { Code, Dataset, Docs, Kitfile, Model, ModelPart, Prompt } from '../kitfile/types.js';
import {
  ANNOTATION_FILEPATH,
  ANNOTATION_KITFILE,
  ANNOTATION_LAYER_SUBTYPE,
  LAYER_SUBTYPE_PROMPT,
  detectArtifactFormat,
  parseLayerMediaType,
} from '../modelkit/mediatypes.js';
import type { Manifest } from '../oci/types.js';

export type Modality = 'text' | 'image' | 'audio' | 'video' | 'embedding' | 'other';

/** Field order of every interface below is the Go struct order, which is the JSON key order. */
export interface ModelPackCapabilities {
  inputTypes?: Modality[];
  outputTypes?: Modality[];
  /** RFC 3339. */
  knowledgeCutoff?: string;
  reasoning?: boolean;
  toolUsage?: boolean;
  embedding?: boolean;
  reward?: boolean;
}

export interface ModelPackModelConfig {
  architecture?: string;
  format?: string;
  paramSize?: string;
  precision?: string;
  quantization?: string;
  capabilities?: ModelPackCapabilities;
}

export interface ModelPackFS {
  /** Always "layers" in what we write. */
  type: string;
  /** Uncompressed layer digests, in manifest layer order. */
  diffIds: string[];
}

export interface ModelPackDescriptor {
  /** RFC 3339. */
  createdAt?: string;
  authors?: string[];
  family?: string;
  name?: string;
  docURL?: string;
  sourceURL?: string;
  version?: string;
  revision?: string;
  vendor?: string;
  licenses?: string[];
  title?: string;
  description?: string;
}

export interface ModelPackConfig {
  descriptor: ModelPackDescriptor;
  modelfs: ModelPackFS;
  config: ModelPackModelConfig;
}

/** Go's sort.Strings order: by UTF-8 bytes, which differs from JS's UTF-16 order above U+FFFF. */
function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** kit's collectLicenses: package, model, parts, datasets, code; empty dropped; sorted; unique. */
function collectLicenses(kf: Kitfile): string[] {
  const all = [
    kf.package?.license,
    kf.model?.license,
    ...(kf.model?.parts ?? []).map((p) => p.license),
    ...(kf.datasets ?? []).map((d) => d.license),
    ...(kf.code ?? []).map((c) => c.license),
  ].filter((l): l is string => typeof l === 'string' && l !== '');
  return [...new Set(all)].sort(compareGoStrings);
}

/**
 * The ModelPack config kit writes for a Kitfile. `createdAt` is a parameter (kit uses "now"), so
 * that packing can honour SOURCE_DATE_EPOCH and tests can be exact.
 */
export function toModelPackConfig(kitfile: Kitfile, diffIds: string[], createdAt: string): ModelPackConfig {
  const pkg = kitfile.package ?? {};
  return {
    descriptor: {
      createdAt,
      authors: pkg.authors,
      name: pkg.name,
      version: pkg.version,
      licenses: collectLicenses(kitfile),
      title: pkg.name,
      description: pkg.description,
    },
    modelfs: { type: 'layers', diffIds: [...diffIds] },
    config: { format: kitfile.model?.format },
  };
}

// --- Go-compatible serialisation ---------------------------------------------------------------

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** encoding/json `omitempty` for our field types: drops absent values, "" and empty arrays; keeps false. */
function put(out: Record<string, Json>, key: string, value: Json | undefined, omitEmpty = true): void {
  if (value === undefined) return;
  if (omitEmpty && (value === '' || (Array.isArray(value) && value.length === 0))) return;
  out[key] = value;
}

function descriptorJson(d: ModelPackDescriptor): Record<string, Json> {
  const o: Record<string, Json> = {};
  put(o, 'createdAt', d.createdAt);
  put(o, 'authors', d.authors);
  put(o, 'family', d.family);
  put(o, 'name', d.name);
  put(o, 'docURL', d.docURL);
  put(o, 'sourceURL', d.sourceURL);
  put(o, 'version', d.version);
  put(o, 'revision', d.revision);
  put(o, 'vendor', d.vendor);
  put(o, 'licenses', d.licenses);
  put(o, 'title', d.title);
  put(o, 'description', d.description);
  return o;
}

function capabilitiesJson(c: ModelPackCapabilities): Record<string, Json> {
  const o: Record<string, Json> = {};
  put(o, 'inputTypes', c.inputTypes);
  put(o, 'outputTypes', c.outputTypes);
  put(o, 'knowledgeCutoff', c.knowledgeCutoff);
  // *bool in Go: present false is kept, absent is omitted.
  put(o, 'reasoning', c.reasoning);
  put(o, 'toolUsage', c.toolUsage);
  put(o, 'embedding', c.embedding);
  put(o, 'reward', c.reward);
  return o;
}

function modelConfigJson(c: ModelPackModelConfig): Record<string, Json> {
  const o: Record<string, Json> = {};
  put(o, 'architecture', c.architecture);
  put(o, 'format', c.format);
  put(o, 'paramSize', c.paramSize);
  put(o, 'precision', c.precision);
  put(o, 'quantization', c.quantization);
  // A non-nil *ModelCapabilities is emitted even when empty ("capabilities":{}).
  if (c.capabilities !== undefined) o.capabilities = capabilitiesJson(c.capabilities);
  return o;
}

/** The exact config blob bytes kit would write for this config (no trailing newline). */
export function modelPackConfigToJson(config: ModelPackConfig): string {
  return goJsonStringify({
    descriptor: descriptorJson(config.descriptor ?? {}),
    // diffIds has no omitempty: always present.
    modelfs: { type: config.modelfs.type, diffIds: config.modelfs.diffIds ?? [] },
    // `config` is a struct value: Go emits it even when empty.
    config: modelConfigJson(config.config ?? {}),
  });
}

// --- Reading -------------------------------------------------------------------------------------

// Lenient like Go's json.Unmarshal into the struct: absent fields are zero values, unknown ones
// ignored. Digests are not checked here: they are checked against content when layers are read.
const configSchema = z.looseObject({
  descriptor: z.looseObject({}).optional(),
  modelfs: z
    .looseObject({ type: z.string().optional(), diffIds: z.array(z.string()).nullable().optional() })
    .optional(),
  config: z.looseObject({}).optional(),
});

/** Parses a ModelPack config blob; `where` names it for errors. */
export function parseModelPackConfig(bytes: Buffer | string, where: string): ModelPackConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (e) {
    throw new KitError('FORMAT_UNSUPPORTED', `invalid ModelPack config in ${where}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KitError('FORMAT_UNSUPPORTED', `invalid ModelPack config in ${where}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const c = parsed.data;
  return {
    descriptor: (c.descriptor ?? {}) as ModelPackDescriptor,
    modelfs: { type: c.modelfs?.type ?? '', diffIds: c.modelfs?.diffIds ?? [] },
    config: (c.config ?? {}) as ModelPackModelConfig,
  };
}

function kitfileFromAnnotation(text: string): Kitfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new KitError('KITFILE_SYNTAX', `failed to parse the Kitfile in manifest annotation ${ANNOTATION_KITFILE}: ${(e as Error).message}`, { cause: e });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new KitError('KITFILE_INVALID', `manifest annotation ${ANNOTATION_KITFILE} does not hold a Kitfile object`);
  }
  // Go decodes into a struct, so a missing package is an empty one; mirror that.
  const kf = value as Partial<Kitfile>;
  return { ...kf, manifestVersion: kf.manifestVersion ?? '', package: kf.package ?? {} } as Kitfile;
}

/**
 * The Kitfile for a ModelPack manifest: the one kit stored in the `ml.kitops.modelkit.kitfile`
 * annotation when present, otherwise a minimal one synthesised from the layers (enough to unpack:
 * a path, digest and, given the config, diffId for every layer). The first weight layer becomes
 * `model`; further weights and weight.config layers become parts, in layer order; doc, code and
 * dataset layers become docs, code and datasets.
 *
 * Differences from kit, both so the result unpacks with our positional layer mapping: code layers
 * annotated as prompts become `prompts` (kit lists them under `code`), and a manifest without any
 * weight layers gets no `model` (kit emits an empty `"model":{}`).
 */
export function kitfileFromModelPackManifest(manifest: Manifest, config?: ModelPackConfig): Kitfile {
  if (detectArtifactFormat(manifest) !== 'modelpack') {
    throw new KitError(
      'FORMAT_UNSUPPORTED',
      `not a modelpack artifact: artifactType is ${manifest.artifactType ?? '(none)'}, config mediaType is ${manifest.config?.mediaType ?? '(none)'}`,
    );
  }
  const annotated = manifest.annotations?.[ANNOTATION_KITFILE];
  if (annotated) return kitfileFromAnnotation(annotated);

  const layers = manifest.layers ?? [];
  const diffIds = config?.modelfs?.diffIds;
  if (config && (diffIds?.length ?? 0) !== layers.length) {
    throw new KitError(
      'FORMAT_UNSUPPORTED',
      `invalid ModelPack config: number of layers does not match DiffIDs (${layers.length} layers, ${diffIds?.length ?? 0} diffIds)`,
    );
  }

  let model: Pick<Model, 'path' | 'digest' | 'diffId'> | undefined;
  const parts: ModelPart[] = [];
  const code: Code[] = [];
  const datasets: Dataset[] = [];
  const docs: Docs[] = [];
  const prompts: Prompt[] = [];

  layers.forEach((desc, i) => {
    const path = desc.annotations?.[ANNOTATION_FILEPATH];
    if (!path) {
      throw new KitError('FORMAT_UNSUPPORTED', `unknown file path for layer ${i} (${desc.digest}): no ${ANNOTATION_FILEPATH} annotation`);
    }
    const mt = parseLayerMediaType(desc.mediaType);
    if (!mt) {
      throw new KitError('FORMAT_UNSUPPORTED', `failed to parse media type ${JSON.stringify(desc.mediaType)} of layer ${i} (${desc.digest})`);
    }
    // Key order path, digest, diffId: the Go struct order of these Kitfile elements.
    const entry = diffIds ? { path, digest: desc.digest, diffId: diffIds[i] } : { path, digest: desc.digest };
    switch (mt.kind) {
      case 'model':
        if (model === undefined) model = entry;
        else parts.push(entry);
        break;
      case 'modelpart':
        parts.push(entry);
        break;
      case 'code':
        if (desc.annotations?.[ANNOTATION_LAYER_SUBTYPE] === LAYER_SUBTYPE_PROMPT) prompts.push(entry);
        else code.push(entry);
        break;
      case 'dataset':
        datasets.push(entry);
        break;
      case 'docs':
        docs.push(entry);
        break;
      default:
        throw new KitError('FORMAT_UNSUPPORTED', `unknown layer type ${desc.mediaType} for layer ${i} in a ModelPack artifact`);
    }
  });

  const kitfile: Kitfile = { manifestVersion: '1.0.0', package: {} };
  if (model !== undefined || parts.length > 0) {
    const m: Model = {};
    if (model !== undefined) m.path = model.path;
    if (parts.length > 0) m.parts = parts;
    if (model?.digest !== undefined) m.digest = model.digest;
    if (model?.diffId !== undefined) m.diffId = model.diffId;
    kitfile.model = m;
  }
  if (code.length > 0) kitfile.code = code;
  if (datasets.length > 0) kitfile.datasets = datasets;
  if (docs.length > 0) kitfile.docs = docs;
  if (prompts.length > 0) kitfile.prompts = prompts;
  return kitfile;
}
