import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeModelKit, type ResolvedLayer } from '../../src/modelkit/contents.js';
import type { Compression, LayerFormat } from '../../src/modelkit/mediatypes.js';
import { pack } from '../../src/modelkit/pack.js';
import { resolveLocal } from '../../src/modelkit/repository.js';
import type { LocalStore } from '../../src/store/local-store.js';
import { generateSbom, SBOM_MEDIA_TYPES, type SbomFormat, type SbomSubject } from '../../src/sbom/index.js';
import { freshStore, tempDir, writeTree } from '../modelkit/fixtures.js';

const SCHEMAS = join(import.meta.dirname, '../../../../spec/schemas');
const EXAMPLE = join(import.meta.dirname, '../../../../examples/sentiment');
const schema = (name: string) => JSON.parse(readFileSync(join(SCHEMAS, name), 'utf8')) as object;

type Json = Record<string, any>;

/** The official CycloneDX 1.6 schema, with the SPDX-id and JSF schemas it refers to by relative $ref. */
function cycloneDxValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // Formats ajv-formats lacks: as the CycloneDX library's own validator, accept IRIs and IDN emails loosely.
  ajv.addFormat('iri-reference', (s: string) => !/[\s<>"{}|\\^`]/.test(s));
  ajv.addFormat('idn-email', (s: string) => /^[^\s@]+@[^\s@]+$/.test(s));
  // bom-1.6's $id is http://cyclonedx.org/schema/bom-1.6.schema.json, so `spdx.SNAPSHOT.schema.json` resolves to this.
  ajv.addSchema(schema('spdx.SNAPSHOT.schema.json'), 'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json');
  ajv.addSchema(schema('jsf-0.82.SNAPSHOT.schema.json'), 'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json');
  return ajv.compile(schema('bom-1.6.SNAPSHOT.schema.json'));
}

function spdxValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  addFormats(ajv);
  return ajv.compile(schema('spdx-3.0.1.schema.json'));
}

const validators = { cyclonedx: cycloneDxValidator(), spdx: spdxValidator() };

function expectSchemaValid(format: SbomFormat, doc: Json): void {
  const validate = validators[format];
  const ok = validate(doc);
  expect(ok ? [] : validate.errors?.slice(0, 5)).toEqual([]);
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const hex = (digest: string) => digest.slice(digest.indexOf(':') + 1);

/** A ModelKit as a caller holds it: the subject and a layer reader that records what it was asked for. */
async function subjectOf(store: LocalStore, reference: string): Promise<{ subject: SbomSubject; read: ResolvedLayer[]; readLayer: (l: ResolvedLayer) => AsyncIterable<Buffer> }> {
  const local = await resolveLocal(store, reference);
  const config = await store.readBlob(local.manifest.config, 'config');
  const contents = describeModelKit(local.manifest, config, reference);
  const read: ResolvedLayer[] = [];
  return {
    subject: { reference, manifestDigest: local.descriptor.digest, manifest: local.manifest, contents },
    read,
    readLayer: (layer) => {
      read.push(layer);
      return store.blobChunks(layer.descriptor);
    },
  };
}

async function sbomOf(store: LocalStore, reference: string, format: SbomFormat, timestamp?: string) {
  const { subject, read, readLayer } = await subjectOf(store, reference);
  const sbom = await generateSbom(subject, { format, readLayer, toolVersion: '9.9.9', timestamp });
  return { sbom, doc: JSON.parse(sbom.bytes.toString('utf8')) as Json, subject, read };
}

const KITFILE = `manifestVersion: 1.0.0
package:
  name: sbom-demo
  version: 2.1.0
  description: A ModelKit for SBOM tests
  license: Apache-2.0 OR MIT
  authors: [Ada Lovelace, Grace Hopper]
model:
  name: tiny-net
  path: model
  framework: pytorch
  format: safetensors
  version: 0.3.0
  license: Apache 2
  parameters:
    epochs: 3
    learning_rate: 0.01
    optimizer: adamw
    layers: [64, 32]
  parts:
    - name: tokenizer
      path: tokenizer/tokenizer.json
      type: tokenizer
      license: LicenseRef-acme-tokenizer
datasets:
  - name: train
    path: data/train.csv
    license: CC-BY-4.0
    parameters:
      rows: 3
  - name: eval
    path: data/eval.csv
    license: CC0-1.0
code:
  - path: src
    description: training code
    license: GPL-2.0-only WITH Classpath-exception-2.0
docs:
  - path: README.md
  - path: docs
prompts:
  - name: system
    path: prompts/system.txt
`;

const FILES: Record<string, string> = {
  'model/weights.safetensors': 'weights '.repeat(1000),
  'model/config.json': '{"hidden": 64}',
  'tokenizer/tokenizer.json': '{"vocab": ["a", "b"]}',
  'data/train.csv': 'text,label\ngood,1\nbad,0\nfine,1\n',
  'data/eval.csv': 'text,label\ngreat,1\n',
  'src/train.py': 'print("train")\n',
  'src/Zeta.py': 'Z = 1\n',
  'src/alpha.py': 'A = 1\n',
  'src/requirements.txt': '# deps\nnumpy==1.26.4\ntorch>=2.1,<3  # any CUDA\n-r extra.txt\n-e git+https://github.com/org/repo.git#egg=repo\n',
  'src/pyproject.toml': '[project]\nname = "demo"\ndependencies = ["numpy==1.26.4", "scikit-learn>=1.4"]\n[project.optional-dependencies]\nviz = ["matplotlib==3.8.3"]\n[tool.poetry.dependencies]\npython = "^3.10"\nPyYAML = "6.0.1"\n',
  'src/web/package.json': JSON.stringify({ name: 'web', dependencies: { 'left-pad': '^1.3.0', '@scope/util': '~2.0.0', nolock: '^0.1.0' }, devDependencies: { vitest: '^3' } }),
  'src/web/package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'web' }, 'node_modules/left-pad': { version: '1.3.0' }, 'node_modules/@scope/util': { version: '2.0.3' } } }),
  'src/web/node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: '1.3.0', dependencies: { 'not-ours': '1.0.0' } }),
  'README.md': '# SBOM demo\n',
  'docs/guide.md': 'How to use it\n',
  'docs/img/diagram.txt': '[a] -> [b]\n',
  'prompts/system.txt': 'You are a helpful model.\n',
};

async function demoProject(): Promise<string> {
  const dir = await tempDir('kit-sbom');
  await writeTree(dir, Object.keys(FILES), (f) => FILES[f]!);
  await writeFile(join(dir, 'Kitfile'), KITFILE);
  return dir;
}

const REF = 'registry.example.com/org/sbom-demo:v1';

async function packed(options: { compression?: Compression; layerFormat?: LayerFormat; dir?: string; reference?: string } = {}): Promise<LocalStore> {
  const { store } = await freshStore();
  await pack({ store, contextDir: options.dir ?? (await demoProject()), tags: [options.reference ?? REF], compression: options.compression, layerFormat: options.layerFormat, sourceDateEpoch: '1700000000' });
  return store;
}

/** Every component, nested ones included. */
function allComponents(doc: Json): Json[] {
  const out: Json[] = [];
  const visit = (c: Json) => {
    out.push(c);
    for (const n of c.components ?? []) visit(n);
  };
  for (const c of doc.components ?? []) visit(c);
  return out;
}

const prop = (c: Json, name: string) => (c.properties as Json[] | undefined)?.filter((p) => p.name === name).map((p) => p.value);

describe('CycloneDX 1.6', () => {
  let store: LocalStore;
  let result: Awaited<ReturnType<typeof sbomOf>>;
  beforeAll(async () => {
    store = await packed({ compression: 'gzip' });
    result = await sbomOf(store, REF, 'cyclonedx');
  });

  it('is valid against the official schema and the library validator', async () => {
    expectSchemaValid('cyclonedx', result.doc);
    expect(result.sbom.mediaType).toBe(SBOM_MEDIA_TYPES.cyclonedx);
    expect(result.doc).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1 });
    // The CycloneDX library's own strict validator, with its own copy of the schemas, as an independent reader.
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(result.sbom.bytes.toString('utf8'))).toBeNull();
  });

  it('describes the ModelKit itself: name, tag, digest, purl, authors, license', () => {
    const kit = result.doc.metadata.component;
    expect(kit).toMatchObject({
      type: 'container',
      name: 'sbom-demo',
      version: 'v1',
      description: 'A ModelKit for SBOM tests',
      hashes: [{ alg: 'SHA-256', content: hex(result.subject.manifestDigest) }],
      purl: `pkg:oci/sbom-demo@sha256%3A${hex(result.subject.manifestDigest)}?repository_url=registry.example.com/org/sbom-demo&tag=v1`,
      authors: [{ name: 'Ada Lovelace' }, { name: 'Grace Hopper' }],
      licenses: [{ expression: 'Apache-2.0 OR MIT', acknowledgement: 'declared' }],
    });
    expect(result.doc.metadata.tools.components).toEqual([{ type: 'application', name: 'kit', group: 'modelkit-ts', version: '9.9.9' }]);
    expect(result.doc.metadata.timestamp).toBeUndefined();
    expect(result.doc.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('has the model with its model card, parts and layer digest (the model itself is never read)', () => {
    const layers = result.subject.manifest.layers;
    const model = result.doc.components.find((c: Json) => c.type === 'machine-learning-model');
    expect(model).toMatchObject({ name: 'tiny-net', version: '0.3.0', hashes: [{ alg: 'SHA-256', content: hex(layers[0]!.digest) }] });
    expect(prop(model, 'modelkit:model:framework')).toEqual(['pytorch']);
    expect(prop(model, 'modelkit:layer:mediaType')).toEqual(['application/vnd.kitops.modelkit.model.v1.tar+gzip']);
    // In the order the config blob stores them (Go's JSON sorts map keys).
    expect(model.modelCard.properties).toEqual([
      { name: 'epochs', value: '3' },
      { name: 'layers', value: '[64,32]' },
      { name: 'learning_rate', value: '0.01' },
      { name: 'optimizer', value: 'adamw' },
    ]);
    const datasets = result.doc.components.filter((c: Json) => c.type === 'data');
    expect(model.modelCard.modelParameters.datasets).toEqual(datasets.map((d: Json) => ({ ref: d['bom-ref'] })));
    expect(model.components).toHaveLength(1);
    expect(model.components[0]).toMatchObject({ name: 'tokenizer', hashes: [{ content: hex(layers[1]!.digest) }], licenses: [{ expression: 'LicenseRef-acme-tokenizer' }] });
    expect(prop(model.components[0], 'modelkit:part:type')).toEqual(['tokenizer']);
  });

  it('keeps an invalid license as a named license and reports it with its field', () => {
    const model = result.doc.components.find((c: Json) => c.type === 'machine-learning-model');
    expect(model.licenses).toEqual([{ license: { name: 'Apache 2', acknowledgement: 'declared' } }]);
    expect(result.sbom.problems).toHaveLength(1);
    expect(result.sbom.problems[0]).toMatchObject({ field: 'model.license', expression: 'Apache 2' });
    expect(result.sbom.problems[0]!.message).toMatch(/not a valid SPDX license expression/);
  });

  it('has each dataset as data with its layer digest, license and parameters', () => {
    const layers = result.subject.manifest.layers;
    const datasets = result.doc.components.filter((c: Json) => c.type === 'data');
    expect(datasets.map((d: Json) => [d.name, d.hashes[0].content, d.licenses[0].license?.id])).toEqual([
      ['train', hex(layers[3]!.digest), 'CC-BY-4.0'],
      ['eval', hex(layers[4]!.digest), 'CC0-1.0'],
    ]);
    expect(datasets[0].data).toEqual([{ type: 'dataset', name: 'train', contents: { properties: [{ name: 'rows', value: '3' }] } }]);
  });

  it('lists every file of the code, docs and prompt layers with the SHA-256 of the file on disk', () => {
    const files = allComponents(result.doc).filter((c) => c.type === 'file' && c['bom-ref'].startsWith('file:'));
    const expected = Object.keys(FILES).filter((f) => /^(src|docs|prompts)\/|^README\.md$/.test(f));
    expect(files.map((f) => f.name).sort()).toEqual(expected.sort());
    for (const f of files) expect(f.hashes).toEqual([{ alg: 'SHA-256', content: sha256(FILES[f.name]!) }]);
    // Code-unit order, the same under every locale (localeCompare would put alpha before Zeta).
    const code = result.doc.components.find((c: Json) => c['bom-ref'] === 'code:src');
    expect(code.components.map((c: Json) => c.name).slice(0, 3)).toEqual(['src/Zeta.py', 'src/alpha.py', 'src/pyproject.toml']);
    expect(code).toMatchObject({ description: 'training code', licenses: [{ expression: 'GPL-2.0-only WITH Classpath-exception-2.0' }] });
  });

  it('records every layer with its digest', () => {
    const hashes = new Set(allComponents(result.doc).flatMap((c) => (c.hashes ?? []).map((h: Json) => h.content)));
    for (const layer of result.subject.manifest.layers) expect(hashes).toContain(hex(layer.digest));
    const digests = allComponents(result.doc).flatMap((c) => prop(c, 'modelkit:layer:digest') ?? []);
    expect(digests.sort()).toEqual(result.subject.manifest.layers.map((l) => l.digest).sort());
  });

  it('lists the code dependencies with versions and purls, and the dependency graph', () => {
    const libs = result.doc.components.filter((c: Json) => c.type === 'library');
    const summary = libs.map((l: Json) => [l.group ? `${l.group}/${l.name}` : l.name, l.version ?? prop(l, 'modelkit:dependency:versionRange')?.[0], l.purl, l.scope]);
    expect(summary).toEqual([
      ['@scope/util', '2.0.3', 'pkg:npm/%40scope/util@2.0.3', undefined],
      ['left-pad', '1.3.0', 'pkg:npm/left-pad@1.3.0', undefined],
      ['nolock', '^0.1.0', 'pkg:npm/nolock', undefined],
      ['matplotlib', '3.8.3', 'pkg:pypi/matplotlib@3.8.3', 'optional'],
      ['numpy', '1.26.4', 'pkg:pypi/numpy@1.26.4', undefined],
      ['PyYAML', '6.0.1', 'pkg:pypi/pyyaml@6.0.1', undefined],
      ['scikit-learn', '>=1.4', 'pkg:pypi/scikit-learn', undefined],
      ['torch', '>=2.1,<3', 'pkg:pypi/torch', undefined],
    ]);
    const numpy = libs.find((l: Json) => l.name === 'numpy');
    expect(prop(numpy, 'modelkit:dependency:source')).toEqual(['src/pyproject.toml', 'src/requirements.txt']);

    const graph = new Map<string, string[]>(result.doc.dependencies.map((d: Json) => [d.ref, d.dependsOn ?? []]));
    const kitRef = result.doc.metadata.component['bom-ref'];
    const topLevel = result.doc.components.filter((c: Json) => c.type !== 'library').map((c: Json) => c['bom-ref']);
    expect(graph.get(kitRef)).toEqual(topLevel);
    const codeDeps = graph.get('code:src')!;
    for (const lib of libs) expect(codeDeps).toContain(lib['bom-ref']);
    expect(codeDeps).toContain('file:src/train.py');
    const code = result.doc.components.find((c: Json) => c['bom-ref'] === 'code:src');
    expect(prop(code, 'modelkit:dependency:manifest')).toEqual(['src/pyproject.toml', 'src/requirements.txt', 'src/web/package-lock.json', 'src/web/package.json']);
    // Every ref in the graph names a component.
    const refs = new Set([kitRef, ...allComponents(result.doc).map((c) => c['bom-ref'])]);
    for (const [ref, deps] of graph) for (const r of [ref, ...deps]) expect(refs).toContain(r);
  });

  it('streams only code, docs and prompt layers', () => {
    expect(result.read.map((l) => l.kind)).toEqual(['code', 'docs', 'docs', 'prompt']);
  });
});

describe('SPDX 3.0.1', () => {
  let result: Awaited<ReturnType<typeof sbomOf>>;
  let byId: Map<string, Json>;
  beforeAll(async () => {
    const store = await packed({ compression: 'zstd' });
    result = await sbomOf(store, REF, 'spdx');
    byId = new Map(result.doc['@graph'].filter((n: Json) => n.spdxId).map((n: Json) => [n.spdxId, n]));
  });
  const ofType = (type: string) => (result.doc['@graph'] as Json[]).filter((n) => n.type === type);
  const related = (from: string, type: string) => ofType('Relationship').filter((r) => r.from === from && r.relationshipType === type).flatMap((r) => r.to as string[]);

  it('is valid against the official JSON schema, which does catch a broken document', () => {
    expectSchemaValid('spdx', result.doc);
    expect(result.sbom.mediaType).toBe('application/spdx+json');
    const broken = structuredClone(result.doc);
    delete broken['@graph'].find((n: Json) => n.type === 'dataset_DatasetPackage').dataset_datasetType;
    expect(validators.spdx(broken)).toBe(false);
  });

  it('has the document, the SBOM, the creation info and agents', () => {
    const [creation, document, sbom] = result.doc['@graph'] as Json[];
    expect(result.doc['@context']).toBe('https://spdx.org/rdf/3.0.1/spdx-context.jsonld');
    expect(creation).toMatchObject({ type: 'CreationInfo', '@id': '_:creationinfo', specVersion: '3.0.1', created: '2023-11-14T22:13:20Z' });
    expect(byId.get(creation!.createdBy[0])).toMatchObject({ type: 'Organization' });
    expect(byId.get(creation!.createdUsing[0])).toMatchObject({ type: 'Tool', name: 'kit 9.9.9 (modelkit-ts)' });
    expect(document).toMatchObject({ type: 'SpdxDocument', profileConformance: expect.arrayContaining(['core', 'software', 'ai', 'dataset', 'simpleLicensing']) });
    expect(byId.get(document!.dataLicense)).toMatchObject({ simplelicensing_licenseExpression: 'CC0-1.0' });
    expect(sbom).toMatchObject({ type: 'software_Sbom', rootElement: [expect.stringMatching(/#modelkit@sha256:/)] });
    // Every element is listed in the document, and every reference resolves.
    const ids = [...byId.keys()].filter((id) => id !== document!.spdxId);
    expect([...document!.element].sort()).toEqual(ids.sort());
    for (const r of ofType('Relationship')) for (const id of [r.from, ...r.to]) expect(byId.has(id)).toBe(true);
    for (const id of byId.keys()) expect(id.startsWith(`urn:modelkit:${hex(result.subject.manifestDigest)}#`)).toBe(true);
  });

  it('has the kit, the AI package, parts and datasets with digests and licenses', () => {
    const layers = result.subject.manifest.layers;
    const kit = byId.get(result.doc['@graph'][2].rootElement[0])!;
    expect(kit).toMatchObject({ type: 'software_Package', name: 'sbom-demo', software_packageVersion: 'v1', software_primaryPurpose: 'container', verifiedUsing: [{ type: 'Hash', algorithm: 'sha256', hashValue: hex(result.subject.manifestDigest) }] });
    expect(kit.originatedBy.map((id: string) => byId.get(id)!.name)).toEqual(['Ada Lovelace', 'Grace Hopper']);
    expect(related(kit.spdxId, 'hasDeclaredLicense').map((id) => byId.get(id)!.simplelicensing_licenseExpression)).toEqual(['Apache-2.0 OR MIT']);

    const [model] = ofType('ai_AIPackage');
    expect(model).toMatchObject({ name: 'tiny-net', software_packageVersion: '0.3.0', verifiedUsing: [{ algorithm: 'sha256', hashValue: hex(layers[0]!.digest) }] });
    expect(model!.ai_hyperparameter).toContainEqual({ type: 'DictionaryEntry', key: 'epochs', value: '3' });
    expect(related(kit.spdxId, 'contains')).toContain(model!.spdxId);
    const [part] = related(model!.spdxId, 'contains').map((id) => byId.get(id)!);
    expect(part).toMatchObject({ name: 'tokenizer', verifiedUsing: [{ hashValue: hex(layers[1]!.digest) }] });

    const datasets = ofType('dataset_DatasetPackage');
    expect(datasets.map((d) => [d.name, d.verifiedUsing[0].hashValue, d.dataset_datasetType])).toEqual([
      ['train', hex(layers[3]!.digest), ['noAssertion']],
      ['eval', hex(layers[4]!.digest), ['noAssertion']],
    ]);
  });

  it('keeps an invalid license as a LicenseRef whose text is the declared one', () => {
    const [model] = ofType('ai_AIPackage');
    const [license] = related(model!.spdxId, 'hasDeclaredLicense').map((id) => byId.get(id)!);
    expect(license!.simplelicensing_licenseExpression).toMatch(/^LicenseRef-modelkit-invalid-[0-9a-f]{16}$/);
    expect(license!.comment).toContain('"Apache 2"');
    const mapping = license!.simplelicensing_customIdToUri[0];
    expect(mapping.key).toBe(license!.simplelicensing_licenseExpression);
    expect(byId.get(mapping.value)).toMatchObject({ type: 'simplelicensing_SimpleLicensingText', simplelicensing_licenseText: 'Apache 2' });
    expect(result.sbom.problems.map((p) => p.field)).toEqual(['model.license']);
  });

  it('has every file with its SHA-256, inside its layer, and the libraries the code depends on', () => {
    const files = ofType('software_File').filter((f) => f.software_fileKind === 'file');
    for (const f of files) expect(f.verifiedUsing).toEqual([{ type: 'Hash', algorithm: 'sha256', hashValue: sha256(FILES[f.name]!) }]);
    expect(files).toHaveLength(Object.keys(FILES).filter((f) => /^(src|docs|prompts)\/|^README\.md$/.test(f)).length);
    const code = ofType('software_File').find((f) => f.name === 'src')!;
    expect(code).toMatchObject({ contentType: 'application/vnd.kitops.modelkit.code.v1.tar+zstd', software_primaryPurpose: 'archive', verifiedUsing: [{ hashValue: hex(result.subject.manifest.layers[2]!.digest) }] });
    expect(related(code.spdxId, 'contains').map((id) => byId.get(id)!.name)).toContain('src/train.py');
    expect(related(code.spdxId, 'hasDependencyManifest').map((id) => byId.get(id)!.name)).toContain('src/requirements.txt');
    const required = related(code.spdxId, 'dependsOn').map((id) => byId.get(id)!);
    expect(required.map((p) => [p.name, p.software_packageVersion ?? null])).toContainEqual(['left-pad', '1.3.0']);
    expect(required.find((p) => p.name === 'torch')).toMatchObject({ software_packageUrl: 'pkg:pypi/torch', comment: expect.stringContaining('>=2.1,<3') });
    const optional = related(code.spdxId, 'hasOptionalDependency').map((id) => byId.get(id)!.software_packageUrl);
    expect(optional).toEqual(['pkg:pypi/matplotlib@3.8.3']);
    // Every manifest layer is an element verified by its digest.
    const verified = new Set([...byId.values()].flatMap((n) => (n.verifiedUsing ?? []).map((h: Json) => h.hashValue)));
    for (const layer of result.subject.manifest.layers) expect(verified).toContain(hex(layer.digest));
  });

  it('streams only code, docs and prompt layers', () => {
    expect(result.read.every((l) => ['code', 'docs', 'prompt'].includes(l.kind))).toBe(true);
  });
});

describe('determinism and options', () => {
  it('gives the same bytes on a second run, and for the same ModelKit packed into another store', async () => {
    const dir = await demoProject();
    const a = await packed({ dir, compression: 'gzip' });
    const b = await packed({ dir, compression: 'gzip' });
    for (const format of ['cyclonedx', 'spdx'] as const) {
      const first = await sbomOf(a, REF, format);
      const again = await sbomOf(a, REF, format);
      const other = await sbomOf(b, REF, format);
      expect(again.sbom.bytes.equals(first.sbom.bytes)).toBe(true);
      expect(other.sbom.bytes.equals(first.sbom.bytes)).toBe(true);
    }
  });

  it('lists the same files for uncompressed, gzip and zstd layers', async () => {
    const expected = new Map(Object.keys(FILES).filter((f) => /^(src|docs|prompts)\/|^README\.md$/.test(f)).map((f) => [f, sha256(FILES[f]!)]));
    for (const compression of ['none', 'gzip', 'zstd'] as const) {
      const store = await packed({ compression });
      const { doc, read } = await sbomOf(store, REF, 'cyclonedx');
      expectSchemaValid('cyclonedx', doc);
      const listed = allComponents(doc).filter((c) => c['bom-ref'].startsWith('file:'));
      expect(new Map(listed.map((f) => [f.name as string, f.hashes[0].content as string]))).toEqual(expected);
      expect(read.map((l) => l.kind)).toEqual(['code', 'docs', 'docs', 'prompt']);
    }
  });

  it('reads a raw layer as its one file', async () => {
    const dir = await tempDir('kit-sbom-raw');
    const files = { 'weights.bin': 'w'.repeat(100), 'train.py': 'print(1)\n', 'README.md': '# raw\n', 'system.txt': 'Be brief.\n' };
    await writeTree(dir, Object.keys(files), (f) => files[f as keyof typeof files]);
    await writeFile(join(dir, 'Kitfile'), 'manifestVersion: 1.0.0\npackage:\n  name: raw\nmodel:\n  path: weights.bin\ncode:\n  - path: train.py\ndocs:\n  - path: README.md\nprompts:\n  - path: system.txt\n');
    for (const compression of ['none', 'gzip'] as const) {
      const { store } = await freshStore();
      const result = await pack({ store, contextDir: dir, tags: ['raw/kit:1'], layerFormat: 'raw', compression });
      expect(result.manifest.layers.every((l) => l.mediaType.includes('.raw'))).toBe(true);
      for (const format of ['cyclonedx', 'spdx'] as const) {
        const { doc, sbom, read } = await sbomOf(store, 'raw/kit:1', format);
        expectSchemaValid(format, doc);
        expect(read.map((l) => l.kind)).toEqual(['code', 'docs', 'prompt']);
        for (const f of ['train.py', 'README.md', 'system.txt'] as const) expect(sbom.bytes.toString('utf8')).toContain(sha256(files[f]));
        expect(sbom.bytes.toString('utf8')).toContain(hex(result.manifest.layers[0]!.digest)); // the model, by its layer digest only
      }
    }
  });

  it('stamps a given timestamp; SPDX falls back to the epoch without a created annotation', async () => {
    const store = await packed();
    const cdx = await sbomOf(store, REF, 'cyclonedx', '2024-05-01T14:00:00+02:00');
    expect(cdx.doc.metadata.timestamp).toBe('2024-05-01T12:00:00.000Z');
    expectSchemaValid('cyclonedx', cdx.doc);
    const spdx = await sbomOf(store, REF, 'spdx', '2024-05-01T12:00:00.250Z');
    expect(spdx.doc['@graph'][0].created).toBe('2024-05-01T12:00:00Z');

    const { subject, readLayer } = await subjectOf(store, REF);
    const bare = { ...subject, manifest: { ...subject.manifest, annotations: undefined } };
    const sbom = await generateSbom(bare, { format: 'spdx', readLayer, toolVersion: '1' });
    const doc = JSON.parse(sbom.bytes.toString('utf8')) as Json;
    expect(doc['@graph'][0].created).toBe('1970-01-01T00:00:00Z');
    expectSchemaValid('spdx', doc);
    await expect(generateSbom(subject, { format: 'spdx', readLayer, toolVersion: '1', timestamp: 'yesterday' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('reports a layer that does not decompress as a broken archive', async () => {
    const store = await packed({ compression: 'gzip' });
    const { subject } = await subjectOf(store, REF);
    const garbage = async function* () {
      yield Buffer.from('this is not gzip at all');
    };
    await expect(generateSbom(subject, { format: 'cyclonedx', readLayer: () => garbage(), toolVersion: '1' })).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
  });
});

describe('examples/sentiment', () => {
  it('gives valid SBOMs in both formats that match the files on disk', async () => {
    const { store } = await freshStore();
    await pack({ store, contextDir: EXAMPLE, tags: ['demo/sentiment:v1'], compression: 'zstd' });
    for (const format of ['cyclonedx', 'spdx'] as const) {
      const { doc, sbom, subject, read } = await sbomOf(store, 'demo/sentiment:v1', format);
      expectSchemaValid(format, doc);
      expect(sbom.problems).toEqual([]);
      expect(read.map((l) => l.kind)).toEqual(['code', 'docs', 'docs']);
      const text = sbom.bytes.toString('utf8');
      for (const layer of subject.manifest.layers) expect(text).toContain(hex(layer.digest));
      for (const file of ['src/train.py', 'src/predict.py', 'src/sentiment_model.py', 'src/make_dataset.py', 'README.md', 'LICENSE']) {
        expect(text).toContain(sha256(readFileSync(join(EXAMPLE, file))));
      }
      if (format === 'cyclonedx') {
        expect(doc.metadata.component).toMatchObject({ name: 'sentiment-demo', version: 'v1', purl: `pkg:oci/sentiment@sha256%3A${hex(subject.manifestDigest)}?tag=v1` });
        expect(doc.components.filter((c: Json) => c.type === 'library')).toEqual([]);
      }
    }
  });
});

describe('other ModelKit shapes', () => {
  it('a model that references another ModelKit, and a remote dataset', async () => {
    const { store } = await freshStore();
    const base = await tempDir('kit-sbom-base');
    await writeTree(base, ['weights.bin']);
    await writeFile(join(base, 'Kitfile'), 'manifestVersion: 1.0.0\npackage:\n  name: base\nmodel:\n  path: weights.bin\n');
    await pack({ store, contextDir: base, tags: ['demo/base:v1'] });
    const child = await tempDir('kit-sbom-child');
    await writeTree(child, ['src/a.py', 'data/x.csv']);
    await writeFile(
      join(child, 'Kitfile'),
      'manifestVersion: 1.0.0\npackage:\n  name: child\nmodel:\n  path: demo/base:v1\ncode:\n  - path: src\ndatasets:\n  - name: remote\n    path: data/remote\n    remotePath: s3://bucket/key\n    remoteHash: abc123\n  - path: data/x.csv\n',
    );
    await pack({ store, contextDir: child, tags: ['demo/child:v1'] });

    const cdx = await sbomOf(store, 'demo/child:v1', 'cyclonedx');
    expectSchemaValid('cyclonedx', cdx.doc);
    const model = cdx.doc.components.find((c: Json) => c.type === 'machine-learning-model');
    expect(model.hashes).toBeUndefined();
    expect(prop(model, 'modelkit:model:reference')).toEqual(['demo/base:v1']);
    const remote = cdx.doc.components.find((c: Json) => c.name === 'remote');
    expect(remote).toMatchObject({ type: 'data', externalReferences: [{ url: 's3://bucket/key', type: 'distribution' }], data: [{ type: 'dataset', contents: { url: 's3://bucket/key' } }] });
    expect(prop(remote, 'modelkit:dataset:remoteHash')).toEqual(['abc123']);

    const spdx = await sbomOf(store, 'demo/child:v1', 'spdx');
    expectSchemaValid('spdx', spdx.doc);
    expect(spdx.doc['@graph'].find((n: Json) => n.name === 'remote')).toMatchObject({ type: 'dataset_DatasetPackage', software_downloadLocation: 's3://bucket/key' });
  });

  it('a ModelPack ModelKit with raw weights', async () => {
    const dir = await tempDir('kit-sbom-mp');
    await writeTree(dir, ['weights.safetensors', 'config.json', 'README.md', 'src/serve.py']);
    await writeFile(join(dir, 'Kitfile'), 'manifestVersion: 1.0.0\npackage:\n  name: mp\n  license: MIT\nmodel:\n  path: weights.safetensors\n  format: safetensors\n  parts:\n    - path: config.json\ncode:\n  - path: src\ndocs:\n  - path: README.md\n');
    const { store } = await freshStore();
    const packedKit = await pack({ store, contextDir: dir, modelPack: true, tags: ['mp/k:1'], sourceDateEpoch: '0' });
    for (const format of ['cyclonedx', 'spdx'] as const) {
      const { doc, sbom, read } = await sbomOf(store, 'mp/k:1', format);
      expectSchemaValid(format, doc);
      expect(read.map((l) => l.kind)).toEqual(['code', 'docs']);
      const text = sbom.bytes.toString('utf8');
      for (const layer of packedKit.manifest.layers) expect(text).toContain(hex(layer.digest));
      expect(text).toContain(sha256('src/serve.py'));
    }
  });
});
