import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diffManifests } from '../../src/modelkit/diff.js';
import type { Descriptor, Manifest } from '../../src/oci/types.js';
import { conformancePath } from '../helpers/conformance.js';

/** Upstream's expected results use Go's field names (kit.DiffResult). */
interface GoDiffResult {
  SameConfig: boolean;
  AnnotationsMatch: boolean;
  SharedLayers: Array<Partial<Descriptor>> | null;
  UniqueLayersA: Array<Partial<Descriptor>> | null;
  UniqueLayersB: Array<Partial<Descriptor>> | null;
}

const V17 = ['testing', 'testdata', 'compare-manifest'];
const NEWER = ['newer', 'testing', 'testdata', 'compare-manifest'];

function load<T>(folder: string[], file: string): T {
  // The fixtures' digests are placeholders (sha256:layer1), so they are decoded as-is, like upstream's test.
  return JSON.parse(readFileSync(conformancePath(...folder, file), 'utf8')) as T;
}

/** Layers identified by digest and file path, order-insensitive (kit's own order is a Go map walk). */
function key(list: Array<Partial<Descriptor>> | null): string[] {
  return (list ?? []).map((d) => `${d.digest} ${d.annotations?.['org.cncf.model.filepath'] ?? ''}`).sort();
}

// Pairings from upstream testing/compare-manifest_test.go (v1.7); the newer duplicate-layer results
// have no table upstream in the fixtures, so the pairs are the only ones their contents fit:
// F carries two identical layer4 files, G moves one of them.
const CASES: Array<{ name: string; a: [string[], string]; b: [string[], string]; expected: [string[], string] }> = [
  { name: 'DifferentConfig', a: [V17, 'manifestA.json'], b: [V17, 'manifestB.json'], expected: [V17, 'different-config.json'] },
  { name: 'SameConfigOneDifferentLayer', a: [V17, 'manifestA.json'], b: [V17, 'manifestC.json'], expected: [V17, 'different-layer.json'] },
  { name: 'AnnotationsMismatch', a: [V17, 'manifestA.json'], b: [V17, 'manifestD.json'], expected: [V17, 'annotation-mismatch.json'] },
  { name: 'MixedDifference', a: [V17, 'manifestA.json'], b: [V17, 'manifestE.json'], expected: [V17, 'mixed-diff.json'] },
  { name: 'DuplicateLayer', a: [NEWER, 'manifestF.json'], b: [V17, 'manifestA.json'], expected: [NEWER, 'duplicate-layer.json'] },
  { name: 'DuplicateLayerBoth', a: [NEWER, 'manifestF.json'], b: [NEWER, 'manifestF.json'], expected: [NEWER, 'duplicate-layer-both.json'] },
  { name: 'DuplicateLayerMoved', a: [NEWER, 'manifestF.json'], b: [NEWER, 'manifestG.json'], expected: [NEWER, 'duplicate-layer-moved.json'] },
];

describe('diffManifests: KitOps conformance (compare-manifest)', () => {
  it('uses every expected-result file', () => {
    const used = new Set(CASES.map((c) => c.expected[1]));
    expect(used.size).toBe(7);
  });

  for (const c of CASES) {
    it(`${c.name}: ${c.a[1]} vs ${c.b[1]} → ${c.expected[1]}`, () => {
      const result = diffManifests(load<Manifest>(...c.a), load<Manifest>(...c.b));
      const expected = load<GoDiffResult>(...c.expected);
      expect(result.sameConfig).toBe(expected.SameConfig);
      expect(result.annotationsMatch).toBe(expected.AnnotationsMatch);
      expect(key(result.sharedLayers)).toEqual(key(expected.SharedLayers));
      expect(key(result.uniqueLayersA)).toEqual(key(expected.UniqueLayersA));
      expect(key(result.uniqueLayersB)).toEqual(key(expected.UniqueLayersB));
    });
  }
});

describe('diffManifests: details', () => {
  const d = (mediaType: string, digest: string, path?: string): Descriptor => ({
    mediaType,
    digest,
    size: 1,
    ...(path === undefined ? {} : { annotations: { 'org.cncf.model.filepath': path } }),
  });
  const m = (layers: Descriptor[], annotations?: Record<string, string>, config = 'sha256:c'): Manifest => ({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.kitops.modelkit.config.v1+json', digest: config, size: 1 },
    layers,
    ...(annotations ? { annotations } : {}),
  });

  it('compares file paths cleaned, and lets a layer without a path match any path', () => {
    const r = diffManifests(m([d('t', 'sha256:1', './src/'), d('t', 'sha256:2')]), m([d('t', 'sha256:1', 'src'), d('t', 'sha256:2', 'anything')]));
    expect(r.sharedLayers).toHaveLength(2);
    expect(r.uniqueLayersA).toEqual([]);
    expect(r.uniqueLayersB).toEqual([]);
  });

  it('reports shared layers as B’s descriptors, sorted stably by media type', () => {
    const a = m([d('z', 'sha256:1'), d('a', 'sha256:2'), d('a', 'sha256:3'), d('b', 'sha256:9')]);
    const b = m([d('z', 'sha256:1'), d('a', 'sha256:3'), d('a', 'sha256:2'), d('c', 'sha256:8')]);
    const r = diffManifests(a, b);
    expect(r.sharedLayers.map((l) => l.digest)).toEqual(['sha256:3', 'sha256:2', 'sha256:1']);
    expect(r.uniqueLayersA.map((l) => l.digest)).toEqual(['sha256:9']);
    expect(r.uniqueLayersB.map((l) => l.digest)).toEqual(['sha256:8']);
  });

  it('matches annotations as maps: count and every value', () => {
    expect(diffManifests(m([], { a: '1', b: '2' }), m([], { b: '2', a: '1' })).annotationsMatch).toBe(true);
    expect(diffManifests(m([]), m([], {})).annotationsMatch).toBe(true);
    expect(diffManifests(m([], { a: '1' }), m([], { a: '2' })).annotationsMatch).toBe(false);
    expect(diffManifests(m([], { a: '1' }), m([], { a: '1', b: '' })).annotationsMatch).toBe(false);
  });

  it('counts each of A’s layers once even when the same object repeats', () => {
    const same = d('t', 'sha256:1');
    const r = diffManifests(m([same, same]), m([d('t', 'sha256:1')]));
    expect(r.sharedLayers).toHaveLength(1);
    expect(r.uniqueLayersA).toHaveLength(1);
  });

  it('compares config digests', () => {
    expect(diffManifests(m([], undefined, 'sha256:x'), m([], undefined, 'sha256:y')).sameConfig).toBe(false);
  });
});
