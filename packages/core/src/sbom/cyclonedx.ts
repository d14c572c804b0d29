/**
 * CycloneDX 1.6 JSON (an ML-BOM) through @cyclonedx/cyclonedx-library's models and JSON
 * serializer. The library has no model for 1.6's `modelCard`, `data` or component `authors`, so
 * its component normalizer is extended to add them by bom-ref.
 */
import { Enums, Models, Serialize, SPDX, Spec } from '@cyclonedx/cyclonedx-library';
import { KitError } from '../errors.js';
import type { ContentLayer, DatasetRecord, LibraryRecord, ModelRecord, SbomDescription } from './describe.js';
import type { DeclaredLicense } from './licenses.js';
import { contentLayerProperties, datasetProperties, kitProperties, libraryProperties, modelProperties, partProperties, type PropertyList } from './properties.js';
import { nameBasedUuid } from './uuid.js';

export interface CycloneDxOptions {
  toolVersion: string;
  /** UTC seconds (already checked); none by default so that the same ModelKit gives the same bytes. */
  timestamp?: string;
}

type Extra = Record<string, unknown>;
type NormalizedComponent = Serialize.JSON.Types.Normalized.Component;

class MlComponentNormalizer extends Serialize.JSON.Normalize.ComponentNormalizer {
  constructor(factory: Serialize.JSON.Normalize.Factory, private readonly extras: ReadonlyMap<string, Extra>) {
    super(factory);
  }

  override normalize(data: Models.Component, options: Serialize.Types.NormalizerOptions): NormalizedComponent | undefined {
    const base = super.normalize(data, options);
    const extra = base?.['bom-ref'] === undefined ? undefined : this.extras.get(base['bom-ref']);
    return base && extra ? { ...base, ...extra } : base;
  }
}

class MlNormalizerFactory extends Serialize.JSON.Normalize.Factory {
  constructor(spec: Serialize.JSON.Normalize.Factory['spec'], private readonly extras: ReadonlyMap<string, Extra>) {
    super(spec);
  }

  override makeForComponent(): Serialize.JSON.Normalize.ComponentNormalizer {
    return new MlComponentNormalizer(this, this.extras);
  }
}

const HASH_ALGORITHMS: Readonly<Record<string, Enums.HashAlgorithm>> = {
  sha256: Enums.HashAlgorithm['SHA-256'],
  sha384: Enums.HashAlgorithm['SHA-384'],
  sha512: Enums.HashAlgorithm['SHA-512'],
};

/** Render a description as CycloneDX 1.6 JSON bytes. */
export function toCycloneDx(d: SbomDescription, options: CycloneDxOptions): Buffer {
  const extras = new Map<string, Extra>();
  const bom = new Models.Bom({ serialNumber: `urn:uuid:${nameBasedUuid(d.kit.urn)}` });
  if (options.timestamp) bom.metadata.timestamp = new Date(options.timestamp);
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, 'kit', { group: 'modelkit-ts', version: options.toolVersion }));

  const kit = component(Enums.ComponentType.Container, d.kit.name, d.kit.ref, {
    version: d.kit.version,
    description: d.kit.description,
    purl: d.kit.purl,
    digest: d.kit.manifestDigest,
    license: d.kit.license,
    properties: kitProperties(d.kit),
  });
  if (d.kit.authors.length > 0) extras.set(d.kit.ref, { authors: d.kit.authors.map((name) => ({ name })) });
  bom.metadata.component = kit;

  if (d.model) {
    const model = modelComponent(d.model, d.datasets, extras);
    bom.components.add(model);
    kit.dependencies.add(model.bomRef);
  }
  for (const dataset of d.datasets) {
    const data = datasetComponent(dataset, extras);
    bom.components.add(data);
    kit.dependencies.add(data.bomRef);
  }
  const libraries = new Map(d.libraries.map((lib) => [lib.ref, libraryComponent(lib)]));
  for (const layer of d.layers) {
    const c = layerComponent(layer, libraries);
    bom.components.add(c);
    kit.dependencies.add(c.bomRef);
  }
  for (const lib of libraries.values()) bom.components.add(lib);

  // sortLists would order with String#localeCompare, which depends on the machine's ICU locale:
  // every list is already inserted in a fixed order, so the bytes are the same everywhere.
  const serializer = new Serialize.JsonSerializer(new MlNormalizerFactory(Spec.Spec1dot6, extras));
  return Buffer.from(`${serializer.serialize(bom, { sortLists: false, space: 2 })}\n`);
}

function modelComponent(m: ModelRecord, datasets: DatasetRecord[], extras: Map<string, Extra>): Models.Component {
  const model = component(Enums.ComponentType.MachineLearningModel, m.name, m.ref, {
    version: m.version,
    description: m.description,
    license: m.license,
    digest: m.layer?.digest,
    properties: modelProperties(m),
  });
  for (const p of m.parts) {
    const part = component(Enums.ComponentType.File, p.name ?? p.path, p.ref, { license: p.license, digest: p.layer?.digest, properties: partProperties(p) });
    model.components.add(part);
    model.dependencies.add(part.bomRef);
  }
  const modelCard: Extra = {};
  if (datasets.length > 0) modelCard.modelParameters = { datasets: datasets.map((ds) => ({ ref: ds.ref })) };
  if (m.parameters.length > 0) modelCard.properties = m.parameters.map(([name, value]) => ({ name, value }));
  extras.set(m.ref, { modelCard });
  return model;
}

function datasetComponent(ds: DatasetRecord, extras: Map<string, Extra>): Models.Component {
  const data = component(Enums.ComponentType.Data, ds.name, ds.ref, {
    description: ds.description,
    license: ds.license,
    digest: ds.layer?.digest,
    properties: datasetProperties(ds),
  });
  if (ds.remotePath) data.externalReferences.add(new Models.ExternalReference(ds.remotePath, Enums.ExternalReferenceType.Distribution));
  const contents: Extra = {};
  if (ds.remotePath) contents.url = ds.remotePath;
  if (ds.parameters.length > 0) contents.properties = ds.parameters.map(([name, value]) => ({ name, value }));
  extras.set(ds.ref, {
    data: [{ type: 'dataset', name: ds.name, ...(ds.description ? { description: ds.description } : {}), ...(Object.keys(contents).length > 0 ? { contents } : {}) }],
  });
  return data;
}

/** A code, docs, prompt or other layer as a `file` component (the layer blob), its files nested inside. */
function layerComponent(layer: ContentLayer, libraries: ReadonlyMap<string, Models.Component>): Models.Component {
  const c = component(Enums.ComponentType.File, layer.path, layer.ref, {
    description: layer.description,
    license: layer.license,
    digest: layer.digest,
    properties: contentLayerProperties(layer),
  });
  for (const file of layer.files ?? []) {
    const f = new Models.Component(Enums.ComponentType.File, file.path, { bomRef: file.ref });
    f.hashes.set(Enums.HashAlgorithm['SHA-256'], file.sha256);
    c.components.add(f);
    c.dependencies.add(f.bomRef);
  }
  for (const ref of [...layer.requires, ...layer.optionalRequires]) c.dependencies.add(libraries.get(ref)!.bomRef);
  return c;
}

function libraryComponent(lib: LibraryRecord): Models.Component {
  // CycloneDX puts an npm scope in `group`, as its own npm tooling does.
  const scoped = lib.ecosystem === 'npm' && lib.name.startsWith('@') && lib.name.includes('/');
  const c = component(Enums.ComponentType.Library, scoped ? lib.name.slice(lib.name.indexOf('/') + 1) : lib.name, lib.ref, {
    version: lib.version,
    purl: lib.purl,
    properties: libraryProperties(lib),
  });
  if (scoped) c.group = lib.name.slice(0, lib.name.indexOf('/'));
  if (lib.optional) c.scope = Enums.ComponentScope.Optional;
  return c;
}

interface ComponentFields {
  version?: string;
  description?: string;
  purl?: string;
  /** An OCI digest (the manifest's, or a layer's) to record as the component's hash. */
  digest?: string;
  license?: DeclaredLicense;
  properties?: PropertyList;
}

function component(type: Enums.ComponentType, name: string, ref: string, f: ComponentFields): Models.Component {
  const c = new Models.Component(type, name, { bomRef: ref, version: f.version, description: f.description, purl: f.purl });
  if (f.digest) c.hashes.set(hashAlgorithm(f.digest), f.digest.slice(f.digest.indexOf(':') + 1));
  if (f.license) c.licenses.add(cycloneDxLicense(f.license));
  for (const [key, value] of f.properties ?? []) c.properties.add(new Models.Property(key, value));
  return c;
}

function hashAlgorithm(digest: string): Enums.HashAlgorithm {
  const algorithm = HASH_ALGORITHMS[digest.slice(0, digest.indexOf(':'))];
  if (!algorithm) throw new KitError('INVALID_ARGUMENT', `digest ${digest} uses an algorithm CycloneDX cannot record (sha256, sha384 or sha512)`);
  return algorithm;
}

/** A listed single id as `license.id`, any other valid expression as `expression`, an invalid one kept verbatim as `license.name`. */
function cycloneDxLicense(l: DeclaredLicense): Models.License {
  const text = l.expression.trim();
  const license = !l.valid
    ? new Models.NamedLicense(l.expression)
    : l.ids.length === 1 && l.ids[0] === text && SPDX.isSupportedSpdxId(text)
      ? new Models.SpdxLicense(text)
      : new Models.LicenseExpression(text);
  license.acknowledgement = Enums.LicenseAcknowledgement.Declared;
  return license;
}
