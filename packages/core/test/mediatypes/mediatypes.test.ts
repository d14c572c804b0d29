import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import type { LayerKind } from '../../src/kitfile/types.js';
import {
  detectArtifactFormat,
  KIT_CONFIG_MEDIA_TYPE,
  KIT_MANIFEST_ARTIFACT_TYPE,
  layerMediaType,
  MODELPACK_CONFIG_MEDIA_TYPE,
  MODELPACK_MANIFEST_ARTIFACT_TYPE,
  parseLayerMediaType,
  type Compression,
  type LayerFormat,
} from '../../src/modelkit/mediatypes.js';
import { conformancePath, loadCases } from '../helpers/conformance.js';

const KINDS: LayerKind[] = ['model', 'modelpart', 'code', 'dataset', 'docs', 'prompt', 'mcpserver'];
const COMPRESSIONS: Compression[] = ['none', 'gzip', 'gzip-fastest', 'zstd'];
const FORMATS: LayerFormat[] = ['tar', 'raw'];

function kitErrorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KitError);
    return (e as KitError).code;
  }
  return undefined;
}

describe('layerMediaType: Kit format', () => {
  it.each([
    ['model', 'tar', 'none', 'application/vnd.kitops.modelkit.model.v1.tar'],
    ['model', 'tar', 'gzip', 'application/vnd.kitops.modelkit.model.v1.tar+gzip'],
    ['model', 'tar', 'gzip-fastest', 'application/vnd.kitops.modelkit.model.v1.tar+gzip'],
    ['model', 'raw', 'zstd', 'application/vnd.kitops.modelkit.model.v1.raw+zstd'],
    ['modelpart', 'tar', 'zstd', 'application/vnd.kitops.modelkit.modelpart.v1.tar+zstd'],
    ['dataset', 'raw', 'gzip', 'application/vnd.kitops.modelkit.dataset.v1.raw+gzip'],
    ['code', 'tar', 'none', 'application/vnd.kitops.modelkit.code.v1.tar'],
    ['docs', 'tar', 'none', 'application/vnd.kitops.modelkit.docs.v1.tar'],
    ['prompt', 'tar', 'gzip', 'application/vnd.kitops.modelkit.code.v1.tar+gzip'],
    ['mcpserver', 'tar', 'gzip', 'application/vnd.kitops.modelkit.mcpb.v1.raw'],
    ['mcpserver', 'raw', 'none', 'application/vnd.kitops.modelkit.mcpb.v1.raw'],
  ] as const)('%s %s %s → %s', (kind, layerFormat, compression, expected) => {
    expect(layerMediaType(kind, { format: 'kit', layerFormat, compression })).toBe(expected);
  });
});

describe('layerMediaType: ModelPack format', () => {
  it.each([
    ['model', 'raw', 'none', 'application/vnd.cncf.model.weight.v1.raw'],
    ['model', 'tar', 'none', 'application/vnd.cncf.model.weight.v1.tar'],
    ['modelpart', 'tar', 'gzip', 'application/vnd.cncf.model.weight.config.v1.tar+gzip'],
    ['modelpart', 'raw', 'none', 'application/vnd.cncf.model.weight.config.v1.raw'],
    ['dataset', 'tar', 'zstd', 'application/vnd.cncf.model.dataset.v1.tar+zstd'],
    ['code', 'tar', 'gzip-fastest', 'application/vnd.cncf.model.code.v1.tar+gzip'],
    ['docs', 'tar', 'none', 'application/vnd.cncf.model.doc.v1.tar'],
    ['prompt', 'tar', 'none', 'application/vnd.cncf.model.code.v1.tar'],
  ] as const)('%s %s %s → %s', (kind, layerFormat, compression, expected) => {
    expect(layerMediaType(kind, { format: 'modelpack', layerFormat, compression })).toBe(expected);
  });

  it('refuses compressed raw layers', () => {
    for (const compression of ['gzip', 'gzip-fastest', 'zstd'] as const) {
      expect(kitErrorCode(() => layerMediaType('model', { format: 'modelpack', layerFormat: 'raw', compression }))).toBe('INVALID_ARGUMENT');
    }
  });

  it('refuses MCP servers', () => {
    expect(kitErrorCode(() => layerMediaType('mcpserver', { format: 'modelpack', layerFormat: 'raw', compression: 'none' }))).toBe('INVALID_ARGUMENT');
  });

  it('refuses unknown options', () => {
    const bad = (o: object) => kitErrorCode(() => layerMediaType('model', { format: 'kit', layerFormat: 'tar', compression: 'none', ...o } as never));
    expect(bad({ compression: 'lz4' })).toBe('INVALID_ARGUMENT');
    expect(bad({ layerFormat: 'zip' })).toBe('INVALID_ARGUMENT');
    expect(bad({ format: 'docker' })).toBe('INVALID_ARGUMENT');
  });
});

describe('parseLayerMediaType', () => {
  it('inverts layerMediaType for every legal combination', () => {
    let checked = 0;
    for (const format of ['kit', 'modelpack'] as const) {
      for (const kind of KINDS) {
        for (const layerFormat of FORMATS) {
          for (const compression of COMPRESSIONS) {
            let mt: string;
            try {
              mt = layerMediaType(kind, { format, layerFormat, compression });
            } catch {
              continue; // the illegal ModelPack combinations tested above
            }
            const parsed = parseLayerMediaType(mt);
            const mcpb = kind === 'mcpserver';
            expect(parsed).toEqual({
              format,
              kind: kind === 'prompt' ? 'code' : kind,
              layerFormat: mcpb ? 'raw' : layerFormat,
              compression: mcpb ? 'none' : compression === 'gzip-fastest' ? 'gzip' : compression,
            });
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(7 * 8 + 6 * 5);
  });

  it('reads legacy cnai ModelPack types', () => {
    expect(parseLayerMediaType('application/vnd.cnai.model.weight.v1.tar')).toEqual({ format: 'modelpack', kind: 'model', layerFormat: 'tar', compression: 'none' });
    expect(parseLayerMediaType('application/vnd.cnai.model.weight.config.v1.raw')).toEqual({ format: 'modelpack', kind: 'modelpart', layerFormat: 'raw', compression: 'none' });
    expect(parseLayerMediaType('application/vnd.cnai.model.doc.v1.tar+gzip')).toEqual({ format: 'modelpack', kind: 'docs', layerFormat: 'tar', compression: 'gzip' });
  });

  it('accepts kit’s explicit +none suffix', () => {
    expect(parseLayerMediaType('application/vnd.kitops.modelkit.code.v1.tar+none')?.compression).toBe('none');
  });

  it.each([
    'application/vnd.kitops.modelkit.config.v1+json',
    'application/vnd.cncf.model.config.v1+json',
    'application/vnd.kitops.modelkit.unknown.v1.tar',
    'application/vnd.kitops.modelkit.model.v1.zip',
    'application/vnd.kitops.modelkit.model.v1.tar+lz4',
    'application/vnd.kitops.modelkit.model.v2.tar',
    'application/vnd.kitops.modelkit.mcpb.v1.tar',
    'application/vnd.kitops.modelkit.mcpb.v1.raw+gzip',
    'application/vnd.cncf.model.weight.v1.raw+gzip',
    'application/vnd.cncf.model.weight.v1.gguf',
    'application/vnd.cncf.model.unrecognized.v1.raw',
    'application/vnd.jozu.model.v1.tar',
    'application/vnd.oci.image.layer.v1.tar',
    'application/vnd.kitops.modelkit.model.v1.tar\n',
    '',
  ])('returns undefined for %j', (mt) => {
    expect(parseLayerMediaType(mt)).toBeUndefined();
  });
});

describe('detectArtifactFormat', () => {
  it('detects Kit by artifactType or by config media type alone (v1.7 manifests)', () => {
    expect(detectArtifactFormat({ artifactType: KIT_MANIFEST_ARTIFACT_TYPE, config: { mediaType: 'x' } })).toBe('kit');
    expect(detectArtifactFormat({ config: { mediaType: KIT_CONFIG_MEDIA_TYPE } })).toBe('kit');
    const v17 = JSON.parse(readFileSync(conformancePath('testing', 'testdata', 'compare-manifest', 'manifestA.json'), 'utf8'));
    expect(detectArtifactFormat(v17)).toBe('kit');
  });

  it('detects ModelPack by cncf or cnai artifactType or config media type', () => {
    expect(detectArtifactFormat({ artifactType: MODELPACK_MANIFEST_ARTIFACT_TYPE, config: { mediaType: 'application/vnd.oci.empty.v1+json' } })).toBe('modelpack');
    expect(detectArtifactFormat({ config: { mediaType: MODELPACK_CONFIG_MEDIA_TYPE } })).toBe('modelpack');
    expect(detectArtifactFormat({ artifactType: 'application/vnd.cnai.model.manifest.v1+json' })).toBe('modelpack');
    expect(detectArtifactFormat({ config: { mediaType: 'application/vnd.cnai.model.config.v1+json' } })).toBe('modelpack');
  });

  it('prefers Kit when both claim the manifest, as kit does', () => {
    expect(detectArtifactFormat({ artifactType: MODELPACK_MANIFEST_ARTIFACT_TYPE, config: { mediaType: KIT_CONFIG_MEDIA_TYPE } })).toBe('kit');
  });

  it('agrees with the kitfile-generation fixtures', () => {
    for (const { file, data } of loadCases<{ manifestJson: string }>('newer', 'pkg', 'artifact', 'testdata', 'kitfile-generation')) {
      const expected = file.includes('not-a-modelpack') ? undefined : 'modelpack';
      expect(detectArtifactFormat(JSON.parse(data.manifestJson)), file).toBe(expected);
    }
  });

  it('returns undefined for plain images', () => {
    expect(detectArtifactFormat({ config: { mediaType: 'application/vnd.oci.image.config.v1+json' } })).toBeUndefined();
    expect(detectArtifactFormat({})).toBeUndefined();
  });
});
