/**
 * What an SBOM of a ModelKit says, independent of format: the kit, its model and parts, datasets,
 * every other layer with the files inside code/docs/prompt layers, the libraries the code
 * declares, and each element's Kitfile license. Both writers render this one description, so
 * CycloneDX and SPDX always agree. Every list is in a fixed order (manifest order, or code-unit
 * order of paths and names) and every `ref` is derived from content, so the output is the same
 * bytes on every machine.
 */
import type { Kitfile, LayerKind } from '../kitfile/types.js';
import type { ModelKitContents, ResolvedLayer } from '../modelkit/contents.js';
import { ANNOTATION_CREATED, type ArtifactFormat, type LayerFormat } from '../modelkit/mediatypes.js';
import type { Manifest } from '../oci/types.js';
import { parseManifests, type DeclaredDependency, type Ecosystem, type SkippedManifest } from './dependencies.js';
import { inventoryLayer, type FileRecord } from './inventory.js';
import { declaredLicenses, type DeclaredLicense } from './licenses.js';
import { nameParts, ociPurl } from './purl.js';
import { utcSeconds } from './time.js';

export interface SbomSubject {
  /** How the user named it, e.g. 'registry.example.com/org/model:v1' or 'demo/sentiment:v1'; used for names/purls. */
  reference: string;
  /** 'sha256:<hex>' of the manifest bytes. */
  manifestDigest: string;
  manifest: Manifest;
  /** From describeModelKit(manifest, configBytes, where). */
  contents: ModelKitContents;
}

/** The stored bytes of one layer, compressed as its media type says. */
export type LayerReader = (layer: ResolvedLayer) => AsyncIterable<Buffer>;

/** The layer kinds whose files are listed one by one; model and dataset layers are described by their digests only. */
export const STREAMED_KINDS: ReadonlySet<LayerKind> = new Set(['code', 'docs', 'prompt']);

export interface LayerRecord {
  /** Position in the manifest's layers. */
  index: number;
  kind: LayerKind;
  /** 'tar' (an archive of files) or 'raw' (the one file itself). */
  layerFormat: LayerFormat;
  path: string;
  digest: string;
  mediaType: string;
  size: number;
}

export interface KitRecord {
  ref: string;
  /** `urn:modelkit:<hex of the manifest digest>`: names the SBOM (CycloneDX serial number, SPDX IRIs). */
  urn: string;
  name: string;
  version?: string;
  description?: string;
  authors: string[];
  purl?: string;
  license?: DeclaredLicense;
  /** The manifest's creation annotation as UTC seconds, when present and valid. */
  created?: string;
  reference: string;
  manifestDigest: string;
  manifestMediaType?: string;
  artifactType?: string;
  format: ArtifactFormat;
}

export interface PartRecord {
  ref: string;
  name?: string;
  path: string;
  type?: string;
  license?: DeclaredLicense;
  layer?: LayerRecord;
}

export interface ModelRecord {
  ref: string;
  name: string;
  version?: string;
  description?: string;
  framework?: string;
  format?: string;
  /** Top-level Kitfile parameters: strings as written, anything else as JSON. */
  parameters: Array<[string, string]>;
  license?: DeclaredLicense;
  layer?: LayerRecord;
  /** A model path naming another ModelKit (it adds no layer of its own). */
  reference?: string;
  parts: PartRecord[];
}

export interface DatasetRecord {
  ref: string;
  name: string;
  path?: string;
  description?: string;
  license?: DeclaredLicense;
  layer?: LayerRecord;
  remotePath?: string;
  remoteHash?: string;
  parameters: Array<[string, string]>;
}

export interface FileEntry extends FileRecord {
  ref: string;
}

/** A layer that is neither the model, a part nor a dataset: code, docs, prompts, MCP servers. */
export interface ContentLayer extends LayerRecord {
  ref: string;
  description?: string;
  license?: DeclaredLicense;
  /** The regular files inside; undefined where the content is not read (MCP servers, a model or dataset layer no Kitfile entry claims). */
  files?: FileEntry[];
  /** Dependency manifests found, by path. */
  manifests: string[];
  skipped: SkippedManifest[];
  /** Libraries this layer requires, and those it only optionally requires (refs). */
  requires: string[];
  optionalRequires: string[];
}

export interface LibraryRecord {
  ref: string;
  ecosystem: Ecosystem;
  name: string;
  version?: string;
  range?: string;
  /** Optional wherever it is declared. */
  optional: boolean;
  purl: string;
  /** The manifests that declare it. */
  sources: string[];
}

export interface SbomDescription {
  kit: KitRecord;
  model?: ModelRecord;
  datasets: DatasetRecord[];
  layers: ContentLayer[];
  libraries: LibraryRecord[];
  licenses: DeclaredLicense[];
}

/** Unique refs in order of asking: a clash gets `#2`, `#3`, … so the same input always gets the same refs. */
class Refs {
  private readonly used = new Set<string>();
  take(wanted: string): string {
    let ref = wanted;
    for (let n = 2; this.used.has(ref); n++) ref = `${wanted}#${n}`;
    this.used.add(ref);
    return ref;
  }
}

export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Describe a ModelKit, streaming (one at a time) only its code, docs and prompt layers through `readLayer`. */
export async function describeForSbom(subject: SbomSubject, readLayer: LayerReader): Promise<SbomDescription> {
  const { kitfile, layers } = subject.contents;
  const refs = new Refs();
  const licenses = declaredLicenses(kitfile);
  const licenseOf = (field: string) => licenses.find((l) => l.field === field);
  const claimed = new Set<ResolvedLayer>();
  const layerOf = (element: object | undefined): LayerRecord | undefined => {
    const i = layers.findIndex((l) => l.element === element);
    if (element === undefined || i === -1) return undefined;
    claimed.add(layers[i]!);
    return layerRecord(layers[i]!, i);
  };

  const kit = kitRecord(subject, kitfile, refs.take(`modelkit@${subject.manifestDigest}`), licenseOf('package.license'));
  const model = kitfile.model && modelRecord(kitfile, refs, layerOf, licenseOf);
  const datasets = (kitfile.datasets ?? []).map((d, i): DatasetRecord => ({
    ref: refs.take(`dataset:${d.path ?? d.remotePath ?? d.name ?? i}`),
    name: d.name ?? d.path ?? d.remotePath ?? `dataset ${i}`,
    path: d.path,
    description: d.description,
    license: licenseOf(`datasets[${i}].license`),
    layer: d.remotePath ? undefined : layerOf(d),
    remotePath: d.remotePath,
    remoteHash: d.remoteHash,
    parameters: parameterEntries(d.parameters),
  }));

  const content: ContentLayer[] = [];
  const declared = new Map<ContentLayer, DeclaredDependency[]>();
  for (const [i, layer] of layers.entries()) {
    if (claimed.has(layer)) continue;
    const codeIndex = layer.kind === 'code' ? (kitfile.code ?? []).findIndex((c) => c === layer.element) : -1;
    const record: ContentLayer = {
      ...layerRecord(layer, i),
      ref: refs.take(`${layer.kind}:${layer.path}`),
      // The element is the Kitfile entry itself (code, docs, prompt, MCP server all have descriptions).
      description: (layer.element as { description?: string }).description,
      license: codeIndex === -1 ? undefined : licenseOf(`code[${codeIndex}].license`),
      manifests: [],
      skipped: [],
      requires: [],
      optionalRequires: [],
    };
    if (STREAMED_KINDS.has(layer.kind)) {
      const inventory = await inventoryLayer(layer, readLayer(layer), layer.kind === 'code');
      record.files = inventory.files.map((f) => ({ ...f, ref: refs.take(`file:${f.path}`) }));
      const parsed = parseManifests(inventory.manifests);
      record.manifests = [...inventory.manifests.keys()].sort(byCodeUnits);
      record.skipped = [...inventory.skipped, ...parsed.skipped].sort((a, b) => byCodeUnits(a.path, b.path));
      declared.set(record, parsed.dependencies);
    }
    content.push(record);
  }
  return { kit, model, datasets, layers: content, libraries: libraries(declared, refs), licenses };
}

function layerRecord(layer: ResolvedLayer, index: number): LayerRecord {
  const { digest, mediaType, size } = layer.descriptor;
  return { index, kind: layer.kind, layerFormat: layer.layerFormat, path: layer.path, digest, mediaType, size };
}

function kitRecord(subject: SbomSubject, kitfile: Kitfile, ref: string, license: DeclaredLicense | undefined): KitRecord {
  const named = nameParts(subject.reference);
  const created = subject.manifest.annotations?.[ANNOTATION_CREATED];
  return {
    ref,
    urn: `urn:modelkit:${subject.manifestDigest.slice(subject.manifestDigest.indexOf(':') + 1)}`,
    name: kitfile.package?.name || named.repository || subject.reference,
    version: named.tag ?? kitfile.package?.version,
    description: kitfile.package?.description,
    authors: kitfile.package?.authors ?? [],
    purl: ociPurl(named, subject.manifestDigest),
    license,
    created: created === undefined ? undefined : utcSeconds(created),
    reference: subject.reference,
    manifestDigest: subject.manifestDigest,
    manifestMediaType: subject.manifest.mediaType,
    artifactType: subject.manifest.artifactType,
    format: subject.contents.format,
  };
}

function modelRecord(
  kitfile: Kitfile,
  refs: Refs,
  layerOf: (element: object | undefined) => LayerRecord | undefined,
  licenseOf: (field: string) => DeclaredLicense | undefined,
): ModelRecord {
  const model = kitfile.model!;
  const layer = layerOf(model);
  const record: ModelRecord = {
    ref: refs.take(`model:${model.path ?? model.name ?? ''}`),
    name: model.name || kitfile.package?.name || 'model',
    version: model.version,
    description: model.description,
    framework: model.framework,
    format: model.format,
    parameters: parameterEntries(model.parameters),
    license: licenseOf('model.license'),
    layer,
    reference: layer === undefined && model.path !== undefined ? model.path : undefined,
    parts: [],
  };
  record.parts = (model.parts ?? []).map((p, i) => ({
    ref: refs.take(`modelpart:${p.path ?? p.name ?? i}`),
    name: p.name,
    path: p.path ?? '',
    type: p.type,
    license: licenseOf(`model.parts[${i}].license`),
    layer: layerOf(p),
  }));
  return record;
}

/** Kitfile parameters are free-form: a mapping gives one entry per key, anything else one 'parameters' entry. */
export function parameterEntries(value: unknown): Array<[string, string]> {
  if (value === undefined || value === null) return [];
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));
  if (typeof value === 'object' && !Array.isArray(value)) return Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, text(v)]);
  return [['parameters', text(value)]];
}

/** One library per ecosystem, normalised name and constraint, whichever layers and manifests declare it. */
function libraries(declared: Map<ContentLayer, DeclaredDependency[]>, refs: Refs): LibraryRecord[] {
  const byKey = new Map<string, { lib: Omit<LibraryRecord, 'ref'>; users: Map<ContentLayer, boolean> }>();
  for (const [layer, deps] of declared) {
    for (const dep of deps) {
      const name = dep.ecosystem === 'pypi' ? dep.name.toLowerCase().replace(/[-_.]+/g, '-') : dep.name.toLowerCase();
      const key = `${dep.ecosystem}/${name}@${dep.version ?? ''}#${dep.range ?? ''}`;
      const entry = byKey.get(key) ?? { lib: { ecosystem: dep.ecosystem, name: dep.name, version: dep.version, range: dep.range, optional: true, purl: dep.purl, sources: [] as string[] }, users: new Map<ContentLayer, boolean>() };
      byKey.set(key, entry);
      entry.lib.optional &&= dep.optional;
      if (!entry.lib.sources.includes(dep.source)) entry.lib.sources.push(dep.source);
      entry.users.set(layer, (entry.users.get(layer) ?? true) && dep.optional);
    }
  }
  return [...byKey.keys()].sort(byCodeUnits).map((key) => {
    const { lib, users } = byKey.get(key)!;
    const ref = refs.take(lib.range ? `${lib.purl}#range=${lib.range}` : lib.purl);
    for (const [layer, optional] of users) (optional ? layer.optionalRequires : layer.requires).push(ref);
    return { ref, ...lib, sources: lib.sources.sort(byCodeUnits) };
  });
}
