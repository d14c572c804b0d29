import { describe, expect, it } from 'vitest';
import { goJsonStringify } from '../../src/oci/go-json.js';
import type { Kitfile } from '../../src/kitfile/types.js';
import {

  kitfileFromModelPackManifest,
  modelPackConfigToJson,
  parseModelPackConfig,
  toModelPackConfig,
} from '../../src/modelpack/config.js';
import type { Manifest } from '../../src/oci/types.js';
import { loadCases } from '../helpers/conformance.js';
import { caught } from '../helpers/caught.js';

interface GenerationCase {
  description: string;
  manifestJson: string;
  configJson?: string;
  kitfileJson?: string;
  errRegexp?: string;
}


describe('kitfileFromModelPackManifest: KitOps conformance (newer/pkg/artifact/testdata/kitfile-generation)', () => {
  const cases = loadCases<GenerationCase>('newer', 'pkg', 'artifact', 'testdata', 'kitfile-generation');
  it('has every case', () => expect(cases).toHaveLength(7));
  for (const { file, data } of cases) {
    it(`${file}: ${data.description}`, () => {
      // Like the upstream harness: the manifest is decoded as-is (its digests are placeholders).
      const manifest = JSON.parse(data.manifestJson) as Manifest;
      const config = data.configJson ? parseModelPackConfig(data.configJson, file) : undefined;
      if (data.errRegexp) {
        const e = caught(() => kitfileFromModelPackManifest(manifest, config));
        expect(e.code).toBe('FORMAT_UNSUPPORTED');
        expect(e.message).toMatch(new RegExp(data.errRegexp));
        return;
      }
      const kitfile = kitfileFromModelPackManifest(manifest, config);
      // Go decodes the expected JSON into a struct, where a missing package is an empty one.
      expect(kitfile).toEqual({ package: {}, ...JSON.parse(data.kitfileJson!) });
      // Elements carry path, digest, diffId in the Go struct order.
      for (const part of kitfile.model?.parts ?? []) expect(Object.keys(part)).toEqual(config ? ['path', 'digest', 'diffId'] : ['path', 'digest']);
    });
  }
});

describe('kitfileFromModelPackManifest: beyond the fixtures', () => {
  const base: Manifest = {
    schemaVersion: 2,
    artifactType: 'application/vnd.cncf.model.manifest.v1+json',
    config: { mediaType: 'application/vnd.cncf.model.config.v1+json', digest: 'sha256:c', size: 1 },
    layers: [],
  };
  const layer = (mediaType: string, path: string, extra: Record<string, string> = {}) => ({
    mediaType,
    digest: `sha256:${path}`,
    size: 1,
    annotations: { 'org.cncf.model.filepath': path, ...extra },
  });

  it('returns the Kitfile kit stored in the manifest annotation', () => {
    const stored = { manifestVersion: '1.0.0', package: { name: 'x' }, model: { path: 'm.gguf', digest: 'sha256:m' } };
    const kf = kitfileFromModelPackManifest({ ...base, annotations: { 'ml.kitops.modelkit.kitfile': JSON.stringify(stored) } });
    expect(kf).toEqual(stored);
    const noPackage = kitfileFromModelPackManifest({ ...base, annotations: { 'ml.kitops.modelkit.kitfile': '{"manifestVersion":"1.0.0"}' } });
    expect(noPackage.package).toEqual({});
  });

  it('reports a broken annotation Kitfile', () => {
    expect(caught(() => kitfileFromModelPackManifest({ ...base, annotations: { 'ml.kitops.modelkit.kitfile': '{' } })).code).toBe('KITFILE_SYNTAX');
    expect(caught(() => kitfileFromModelPackManifest({ ...base, annotations: { 'ml.kitops.modelkit.kitfile': '[]' } })).code).toBe('KITFILE_INVALID');
  });

  it('reads legacy cnai layers, maps prompts, and leaves out an empty model', () => {
    const kf = kitfileFromModelPackManifest({
      ...base,
      artifactType: 'application/vnd.cnai.model.manifest.v1+json',
      layers: [
        layer('application/vnd.cnai.model.doc.v1.tar', 'README.md'),
        layer('application/vnd.cncf.model.code.v1.tar', 'AGENTS.md', { 'ml.kitops.modelkit.layer-subtype': 'prompt' }),
        layer('application/vnd.cncf.model.code.v1.tar+gzip', 'src'),
      ],
    });
    expect(kf).toEqual({
      manifestVersion: '1.0.0',
      package: {},
      code: [{ path: 'src', digest: 'sha256:src' }],
      docs: [{ path: 'README.md', digest: 'sha256:README.md' }],
      prompts: [{ path: 'AGENTS.md', digest: 'sha256:AGENTS.md' }],
    });
  });

  it('keeps parts that come before the first weight', () => {
    const kf = kitfileFromModelPackManifest({
      ...base,
      layers: [layer('application/vnd.cncf.model.weight.config.v1.raw', 'config.json'), layer('application/vnd.cncf.model.weight.v1.raw', 'w.safetensors')],
    });
    expect(kf.model).toEqual({ path: 'w.safetensors', parts: [{ path: 'config.json', digest: 'sha256:config.json' }], digest: 'sha256:w.safetensors' });
  });

  it('accepts Kit layer types inside a ModelPack manifest, as kit does, but not MCP bundles', () => {
    expect(kitfileFromModelPackManifest({ ...base, layers: [layer('application/vnd.kitops.modelkit.model.v1.tar', 'm')] }).model?.path).toBe('m');
    const e = caught(() => kitfileFromModelPackManifest({ ...base, layers: [layer('application/vnd.kitops.modelkit.mcpb.v1.raw', 's.mcpb')] }));
    expect(e.message).toContain('unknown layer type');
  });

  it('checks the diffId count even with no layers', () => {
    const config = parseModelPackConfig('{"modelfs":{"type":"layers","diffIds":["sha256:a"]}}', 'x');
    expect(caught(() => kitfileFromModelPackManifest(base, config)).message).toMatch(/invalid ModelPack config/);
  });
});

describe('toModelPackConfig', () => {
  const kitfile: Kitfile = {
    manifestVersion: '1.0.0',
    package: { name: 'sentiment <beta>', version: '1.2.0', description: 'A & B', license: 'MIT', authors: ['Jane Doe', 'Ann'] },
    model: {
      name: 'bert',
      path: 'models/bert',
      format: 'safetensors',
      license: 'Apache-2.0',
      parts: [{ path: 'tok', license: 'MIT' }, { path: 'cfg', license: 'BSD-3-Clause' }],
    },
    code: [{ path: 'src', license: 'Apache-2.0' }, { path: 'lib' }],
    datasets: [{ path: 'data', license: 'CC-BY-4.0' }],
    docs: [{ path: 'README.md' }],
  };
  const diffIds = [`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`];

  it('fills descriptor, modelfs and config as kit does', () => {
    expect(toModelPackConfig(kitfile, diffIds, '2025-11-01T12:00:00Z')).toEqual({
      descriptor: {
        createdAt: '2025-11-01T12:00:00Z',
        authors: ['Jane Doe', 'Ann'],
        name: 'sentiment <beta>',
        version: '1.2.0',
        licenses: ['Apache-2.0', 'BSD-3-Clause', 'CC-BY-4.0', 'MIT'],
        title: 'sentiment <beta>',
        description: 'A & B',
      },
      modelfs: { type: 'layers', diffIds },
      config: { format: 'safetensors' },
    });
  });

  it('serialises in Go struct order with omitempty and HTML-safe escaping', () => {
    const json = modelPackConfigToJson(toModelPackConfig(kitfile, diffIds, '2025-11-01T12:00:00Z'));
    expect(json).toBe(
      '{"descriptor":{"createdAt":"2025-11-01T12:00:00Z","authors":["Jane Doe","Ann"],"name":"sentiment \\u003cbeta\\u003e",' +
        '"version":"1.2.0","licenses":["Apache-2.0","BSD-3-Clause","CC-BY-4.0","MIT"],"title":"sentiment \\u003cbeta\\u003e",' +
        `"description":"A \\u0026 B"},"modelfs":{"type":"layers","diffIds":["${diffIds[0]}","${diffIds[1]}"]},"config":{"format":"safetensors"}}`,
    );
  });

  it('omits every empty field of a minimal Kitfile but keeps the struct values', () => {
    const json = modelPackConfigToJson(toModelPackConfig({ manifestVersion: '1.0.0', package: {} }, [], '2026-01-01T00:00:00Z'));
    expect(json).toBe('{"descriptor":{"createdAt":"2026-01-01T00:00:00Z"},"modelfs":{"type":"layers","diffIds":[]},"config":{}}');
  });

  it('writes every v0.0.7 field in struct order', () => {
    const json = modelPackConfigToJson({
      descriptor: {
        description: 'd', title: 't', licenses: ['MIT'], vendor: 'v', revision: 'r', version: '1', sourceURL: 's', docURL: 'u', name: 'n', family: 'f', authors: ['a'], createdAt: 'c',
      },
      modelfs: { type: 'layers', diffIds: ['sha256:x'] },
      config: {
        capabilities: { reward: false, embedding: true, toolUsage: false, reasoning: true, knowledgeCutoff: 'k', outputTypes: ['text'], inputTypes: ['text', 'image'] },
        quantization: 'q', precision: 'p', paramSize: '8b', format: 'gguf', architecture: 'transformer',
      },
    });
    expect(json).toBe(
      '{"descriptor":{"createdAt":"c","authors":["a"],"family":"f","name":"n","docURL":"u","sourceURL":"s","version":"1","revision":"r","vendor":"v","licenses":["MIT"],"title":"t","description":"d"},' +
        '"modelfs":{"type":"layers","diffIds":["sha256:x"]},' +
        '"config":{"architecture":"transformer","format":"gguf","paramSize":"8b","precision":"p","quantization":"q",' +
        '"capabilities":{"inputTypes":["text","image"],"outputTypes":["text"],"knowledgeCutoff":"k","reasoning":true,"toolUsage":false,"embedding":true,"reward":false}}}',
    );
  });

  it('sorts licenses by UTF-8 bytes like Go', () => {
    const cfg = toModelPackConfig({ manifestVersion: '1.0.0', package: { license: '\u{1F600}' }, model: { license: '\uFF21' }, code: [{ path: 'a', license: '\uFF21' }] }, [], 't');
    expect(cfg.descriptor.licenses).toEqual(['\uFF21', '\u{1F600}']);
  });

  it('round-trips through parseModelPackConfig', () => {
    const cfg = toModelPackConfig(kitfile, diffIds, '2025-11-01T12:00:00Z');
    const again = parseModelPackConfig(modelPackConfigToJson(cfg), 'x');
    expect(modelPackConfigToJson(again)).toBe(modelPackConfigToJson(cfg));
  });
});

describe('goJsonStringify / parseModelPackConfig', () => {
  it('escapes like Go encoding/json', () => {
    expect(goJsonStringify({ s: '<a href="x">&\u2028\u2029\n\t\b\f\u0001é' })).toBe('{"s":"\\u003ca href=\\"x\\"\\u003e\\u0026\\u2028\\u2029\\n\\t\\b\\f\\u0001é"}');
  });

  it('rejects configs that are not JSON objects of the right shape', () => {
    expect(caught(() => parseModelPackConfig('{', 'cfg blob')).message).toContain('cfg blob');
    expect(caught(() => parseModelPackConfig('[]', 'x')).code).toBe('FORMAT_UNSUPPORTED');
    expect(caught(() => parseModelPackConfig('{"modelfs":{"diffIds":[1]}}', 'x')).message).toContain('modelfs.diffIds.0');
  });

  it('fills Go zero values for absent parts', () => {
    expect(parseModelPackConfig('{}', 'x')).toEqual({ descriptor: {}, modelfs: { type: '', diffIds: [] }, config: {} });
  });
});
