import { describe, expect, it } from 'vitest';
import { assertDigest, digestAlgorithm, digestHex, isDigest, sha256Digest } from '../../src/oci/digest.js';
import { parseImageIndex, parseManifest } from '../../src/oci/types.js';
import { caught } from '../helpers/caught.js';

const EMPTY = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
const D1 = `sha256:${'1'.repeat(64)}`;


describe('digests', () => {
  it('accepts sha256/sha384/sha512 with exact lowercase hex only', () => {
    expect(isDigest(EMPTY)).toBe(true);
    expect(isDigest(`sha384:${'a'.repeat(96)}`)).toBe(true);
    expect(isDigest(`sha512:${'a'.repeat(128)}`)).toBe(true);
    for (const bad of [`sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `sha512:${'a'.repeat(64)}`, `md5:${'a'.repeat(32)}`, 'sha256:', 'sha256', '', 42, undefined, `sha256:${'a'.repeat(64)}\n`]) {
      expect(isDigest(bad), String(bad)).toBe(false);
    }
  });

  it('hashes with node:crypto', () => {
    expect(sha256Digest('{}')).toBe(EMPTY);
    expect(sha256Digest(Buffer.from('{}'))).toBe(EMPTY);
  });

  it('splits and asserts', () => {
    expect(digestHex(EMPTY)).toBe(EMPTY.slice(7));
    expect(digestAlgorithm(EMPTY)).toBe('sha256');
    expect(caught(() => digestHex('sha256:../../etc')).code).toBe('INVALID_ARGUMENT');
    const e = caught(() => assertDigest('nope', 'layer 3 digest', 'STORE_CORRUPT'));
    expect(e.code).toBe('STORE_CORRUPT');
    expect(e.message).toContain('layer 3 digest');
  });
});

describe('parseManifest', () => {
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.kitops.modelkit.manifest.v1+json',
    config: { mediaType: 'application/vnd.kitops.modelkit.config.v1+json', digest: EMPTY, size: 2 },
    layers: [{ mediaType: 'application/vnd.kitops.modelkit.model.v1.tar', digest: D1, size: 10, annotations: { 'org.cncf.model.filepath': 'm' } }],
    annotations: { 'ml.kitops.modelkit.cli-version': '1.0' },
    futureField: { kept: true },
  };

  it('parses a ModelKit manifest from bytes or text, keeping unknown fields', () => {
    const m = parseManifest(Buffer.from(JSON.stringify(manifest)), 'test');
    expect(m).toEqual(manifest);
    expect(parseManifest(JSON.stringify(manifest), 'test')).toEqual(manifest);
  });

  it('reads kit v1.7 manifests: no mediaType, layers null', () => {
    const { mediaType: _m, artifactType: _a, ...v17 } = manifest;
    expect(parseManifest(JSON.stringify({ ...v17, layers: null }), 'v1.7').layers).toEqual([]);
    expect(parseManifest(JSON.stringify({ ...v17, annotations: null }), 'null map').annotations).toBeUndefined();
  });

  it('calls unparseable bytes corrupt, naming where', () => {
    const e = caught(() => parseManifest('{"schemaVersion":2,', 'blob sha256:abc in the local store'));
    expect(e.code).toBe('STORE_CORRUPT');
    expect(e.message).toContain('blob sha256:abc in the local store');
    expect(caught(() => parseManifest('[1]', 'x')).code).toBe('STORE_CORRUPT');
  });

  it('calls other JSON unsupported, naming where and the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ ...manifest, schemaVersion: 1 }, 'schemaVersion'],
      [{ ...manifest, mediaType: 'application/vnd.oci.image.index.v1+json' }, 'image index'],
      [{ schemaVersion: 2, manifests: [] }, 'image index'],
      [{ ...manifest, mediaType: 'application/vnd.docker.distribution.manifest.v1+json' }, 'unsupported manifest media type'],
      [{ ...manifest, config: undefined }, 'config'],
      [{ ...manifest, layers: [{ ...manifest.layers[0], digest: 'sha256:layer1' }] }, 'layers.0.digest'],
      [{ ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] }, 'layers.0.size'],
      [{ ...manifest, annotations: { a: 1 } }, 'annotations.a'],
    ];
    for (const [value, fragment] of cases) {
      const e = caught(() => parseManifest(JSON.stringify(value), 'reg.io/org/repo:v1'));
      expect(e.code).toBe('FORMAT_UNSUPPORTED');
      expect(e.message).toContain('reg.io/org/repo:v1');
      expect(e.message).toContain(fragment);
    }
  });

  it('accepts Docker schema-2 manifests', () => {
    expect(parseManifest(JSON.stringify({ ...manifest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' }), 'x').layers).toHaveLength(1);
  });
});

describe('parseImageIndex', () => {
  it('parses an index and rejects a manifest', () => {
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D1, size: 100, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
    };
    expect(parseImageIndex(JSON.stringify(index), 'index.json')).toEqual(index);
    expect(caught(() => parseImageIndex(JSON.stringify({ ...index, mediaType: 'application/vnd.oci.image.manifest.v1+json' }), 'x')).code).toBe('FORMAT_UNSUPPORTED');
    expect(caught(() => parseImageIndex('{', 'index.json')).code).toBe('STORE_CORRUPT');
  });
});
