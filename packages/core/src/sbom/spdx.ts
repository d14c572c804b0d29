/**
 * SPDX 3.0.1 JSON-LD, written by hand (no SPDX 3 library for JavaScript exists). Every element's
 * IRI is `urn:modelkit:<manifest hex>#<ref>`, so the same ModelKit always gives the same graph.
 */
import { createHash } from 'node:crypto';
import type { LayerKind } from '../kitfile/types.js';
import type { ContentLayer, SbomDescription } from './describe.js';
import type { DeclaredLicense } from './licenses.js';
import {
  contentLayerProperties,
  datasetProperties,
  kitProperties,
  libraryProperties,
  modelProperties,
  partProperties,
  type PropertyList,
} from './properties.js';

export interface SpdxOptions {
  toolVersion: string;
  /** CreationInfo.created, UTC to the second. */
  created: string;
}

const CONTEXT = 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld';
const CREATION_INFO = '_:creationinfo';
/** SPDX asks for document metadata under CC0-1.0. */
const DATA_LICENSE = 'CC0-1.0';
const FILE_PURPOSE: Partial<Record<LayerKind, string>> = { code: 'source', docs: 'documentation' };

type Node = Record<string, unknown> & { spdxId?: string };
type Make = (type: string, ref: string, fields: Node) => Node & { spdxId: string };

/** Render a description as SPDX 3.0.1 JSON-LD bytes. */
export function toSpdx(d: SbomDescription, options: SpdxOptions): Buffer {
  const iri = (ref: string) => `${d.kit.urn}#${encodeURIComponent(ref).replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%40/g, '@')}`;
  const make: Make = (type, ref, fields) => ({ type, spdxId: iri(ref), creationInfo: CREATION_INFO, ...fields });
  const relationships = new Relationships();
  const licenses = new LicenseElements(make);
  const declare = (from: Node, license: DeclaredLicense | undefined) => license && relationships.add(from, 'hasDeclaredLicense', [licenses.get(license)]);

  const organization = make('Organization', 'agent:modelkit-ts', { name: 'modelkit-ts' });
  const tool = make('Tool', 'tool:kit', { name: `kit ${options.toolVersion} (modelkit-ts)` });
  const authors = [...new Set(d.kit.authors)].map((name) => make('Person', `person:${name}`, { name }));

  const kit = make('software_Package', d.kit.ref, {
    name: d.kit.name,
    description: d.kit.description,
    software_packageVersion: d.kit.version,
    software_packageUrl: d.kit.purl,
    software_primaryPurpose: 'container',
    releaseTime: d.kit.created,
    originatedBy: authors.length > 0 ? authors.map((a) => a.spdxId) : undefined,
    verifiedUsing: [hash(d.kit.manifestDigest)],
    extension: extension(kitProperties(d.kit)),
  });
  declare(kit, d.kit.license);
  const contents: Node[] = [];

  if (d.model) {
    const m = d.model;
    const model = make('ai_AIPackage', m.ref, {
      name: m.name,
      description: m.description,
      software_packageVersion: m.version,
      software_primaryPurpose: 'model',
      verifiedUsing: m.layer ? [hash(m.layer.digest)] : undefined,
      ai_hyperparameter: m.parameters.length > 0 ? m.parameters.map(([key, value]) => ({ type: 'DictionaryEntry', key, value })) : undefined,
      extension: extension(modelProperties(m)),
    });
    contents.push(model);
    relationships.add(kit, 'contains', [model]);
    declare(model, m.license);
    for (const p of m.parts) {
      const part = make('software_File', p.ref, {
        name: p.name ?? p.path,
        contentType: p.layer?.mediaType,
        verifiedUsing: p.layer ? [hash(p.layer.digest)] : undefined,
        extension: extension(partProperties(p)),
      });
      contents.push(part);
      relationships.add(model, 'contains', [part]);
      declare(part, p.license);
    }
  }

  for (const ds of d.datasets) {
    const dataset = make('dataset_DatasetPackage', ds.ref, {
      name: ds.name,
      description: ds.description,
      software_primaryPurpose: 'data',
      software_downloadLocation: ds.remotePath,
      verifiedUsing: ds.layer ? [hash(ds.layer.digest)] : undefined,
      // Required, and a Kitfile does not say what kind of data it is.
      dataset_datasetType: ['noAssertion'],
      extension: extension([...datasetProperties(ds), ...ds.parameters.map(([k, v]): [string, string] => [`modelkit:dataset:parameter:${k}`, v])]),
    });
    contents.push(dataset);
    relationships.add(kit, 'contains', [dataset]);
    declare(dataset, ds.license);
  }

  const libraries = new Map(
    d.libraries.map((lib) => [
      lib.ref,
      make('software_Package', lib.ref, {
        name: lib.name,
        software_packageVersion: lib.version,
        software_packageUrl: lib.purl,
        software_primaryPurpose: 'library',
        comment: lib.range ? `declared as ${lib.name} ${lib.range}; no exact version is pinned` : undefined,
        extension: extension(libraryProperties(lib)),
      }),
    ]),
  );

  for (const layer of d.layers) {
    const element = make('software_File', layer.ref, {
      name: layer.path,
      description: layer.description,
      contentType: layer.mediaType,
      software_primaryPurpose: layer.layerFormat === 'tar' ? 'archive' : FILE_PURPOSE[layer.kind],
      verifiedUsing: [hash(layer.digest)],
      extension: extension(contentLayerProperties(layer)),
    });
    contents.push(element);
    relationships.add(kit, 'contains', [element]);
    declare(element, layer.license);
    contents.push(...layerFiles(layer, element, make, relationships));
    relationships.add(element, 'dependsOn', layer.requires.map((r) => libraries.get(r)!));
    relationships.add(element, 'hasOptionalDependency', layer.optionalRequires.map((r) => libraries.get(r)!));
  }

  const dataLicense = licenses.get({ field: 'dataLicense', expression: DATA_LICENSE, valid: true, ids: [DATA_LICENSE] });
  const sbom = iri('sbom');
  const elements: Node[] = [organization, tool, ...authors, kit, ...contents, ...libraries.values(), ...licenses.elements, ...relationships.elements()];
  const ids = elements.map((e) => e.spdxId!);
  const name = `SBOM of ${d.kit.reference}`;
  const graph: Node[] = [
    { type: 'CreationInfo', '@id': CREATION_INFO, specVersion: '3.0.1', created: options.created, createdBy: [organization.spdxId], createdUsing: [tool.spdxId] },
    {
      type: 'SpdxDocument',
      spdxId: iri('document'),
      creationInfo: CREATION_INFO,
      name,
      dataLicense: dataLicense.spdxId,
      profileConformance: ['core', 'software', 'ai', 'dataset', 'simpleLicensing', 'extension'],
      rootElement: [sbom],
      element: [sbom, ...ids],
    },
    { type: 'software_Sbom', spdxId: sbom, creationInfo: CREATION_INFO, name, software_sbomType: ['analyzed'], rootElement: [kit.spdxId], element: ids },
    ...elements,
  ];
  return Buffer.from(`${JSON.stringify({ '@context': CONTEXT, '@graph': graph }, null, 2)}\n`);
}

/** A layer's files, which it `contains`; the dependency manifests among them are also its `hasDependencyManifest`. */
function layerFiles(layer: ContentLayer, element: Node, make: Make, relationships: Relationships): Node[] {
  const byPath = new Map<string, Node>();
  for (const f of layer.files ?? []) {
    byPath.set(
      f.path,
      make('software_File', f.ref, {
        name: f.path,
        software_primaryPurpose: FILE_PURPOSE[layer.kind],
        software_fileKind: 'file',
        verifiedUsing: [{ type: 'Hash', algorithm: 'sha256', hashValue: f.sha256 }],
      }),
    );
  }
  relationships.add(element, 'contains', [...byPath.values()]);
  relationships.add(element, 'hasDependencyManifest', layer.manifests.map((p) => byPath.get(p)!));
  return [...byPath.values()];
}

/** One Relationship per (from, type), its `to` in the order added; its IRI extends the `from` element's. */
class Relationships {
  private readonly byKey = new Map<string, { from: string; type: string; to: string[] }>();

  add(from: Node, type: string, to: Node[]): void {
    if (to.length === 0) return;
    const key = `${type} ${from.spdxId}`;
    const entry = this.byKey.get(key) ?? { from: from.spdxId!, type, to: [] };
    this.byKey.set(key, entry);
    for (const t of to) if (!entry.to.includes(t.spdxId!)) entry.to.push(t.spdxId!);
  }

  elements(): Node[] {
    return [...this.byKey.values()].map(({ from, type, to }) => {
      const hash = from.indexOf('#');
      const spdxId = `${from.slice(0, hash)}#relationship:${type}:${from.slice(hash + 1)}`;
      return { type: 'Relationship', spdxId, creationInfo: CREATION_INFO, from, relationshipType: type, to };
    });
  }
}

/**
 * One simplelicensing_LicenseExpression per distinct declared text. An invalid one cannot be an
 * expression, so it becomes `LicenseRef-modelkit-invalid-<hash>`, whose customIdToUri points at a
 * SimpleLicensingText holding the text as written; the comments say why.
 */
class LicenseElements {
  readonly elements: Node[] = [];
  private readonly byText = new Map<string, Node>();
  constructor(private readonly make: Make) {}

  get(license: DeclaredLicense): Node {
    const text = license.valid ? license.expression.trim() : license.expression;
    const known = this.byText.get(text);
    if (known) return known;
    const id = createHash('sha256').update(text).digest('hex').slice(0, 16);
    let element: Node;
    if (license.valid) {
      element = this.make('simplelicensing_LicenseExpression', `license:${id}`, { simplelicensing_licenseExpression: text });
    } else {
      const licenseRef = `LicenseRef-modelkit-invalid-${id}`;
      const declared = this.make('simplelicensing_SimpleLicensingText', `license-text:${id}`, {
        comment: 'The license as the Kitfile declares it, which is not a valid SPDX license expression.',
        simplelicensing_licenseText: text,
      });
      element = this.make('simplelicensing_LicenseExpression', `license:${id}`, {
        comment: `The Kitfile declares the license ${JSON.stringify(text)}, which is not a valid SPDX license expression; ${licenseRef} stands for that text.`,
        simplelicensing_licenseExpression: licenseRef,
        simplelicensing_customIdToUri: [{ type: 'DictionaryEntry', key: licenseRef, value: declared.spdxId }],
      });
      this.elements.push(declared);
    }
    this.elements.push(element);
    this.byText.set(text, element);
    return element;
  }
}

function hash(digest: string): Node {
  return { type: 'Hash', algorithm: digest.slice(0, digest.indexOf(':')), hashValue: digest.slice(digest.indexOf(':') + 1) };
}

function extension(properties: PropertyList): Node[] | undefined {
  if (properties.length === 0) return undefined;
  return [
    {
      type: 'extension_CdxPropertiesExtension',
      extension_cdxProperty: properties.map(([name, value]) => ({ type: 'extension_CdxPropertyEntry', extension_cdxPropName: name, extension_cdxPropValue: value })),
    },
  ];
}
