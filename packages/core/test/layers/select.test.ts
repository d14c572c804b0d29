import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanPath } from '../../src/layers/clean-path.js';
import { IgnoreMatcher } from '../../src/layers/ignore.js';
import { claimedByOtherLayer, shouldSkip } from '../../src/layers/select.js';
import { conformancePath } from '../helpers/conformance.js';

interface IgnoreCase {
  name: string;
  kitIgnore: string[];
  layerPaths: string[];
  curPath: string;
  curLayerPath: string;
  shouldIgnore: boolean;
}

const { cases } = parse(readFileSync(conformancePath('derived', 'ignore-matching.yaml'), 'utf8')) as { cases: IgnoreCase[] };

describe('shouldSkip: KitOps ignore-matching vectors (derived/ignore-matching.yaml)', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThan(0));
  for (const c of cases) {
    it(c.name, () => {
      const ignore = IgnoreMatcher.fromPatterns(c.kitIgnore);
      expect(shouldSkip(c.curPath, c.curLayerPath, c.layerPaths, ignore)).toBe(c.shouldIgnore);
    });
  }
});

describe('layer nesting', () => {
  const none = IgnoreMatcher.fromPatterns([]);

  it('compares whole path components (newer upstream): data does not claim data2/x', () => {
    expect(claimedByOtherLayer('data2/x', '.', ['data', '.'])).toBe(false);
    expect(claimedByOtherLayer('data/x', '.', ['data', '.'])).toBe(true);
    expect(claimedByOtherLayer('data-v2/x', 'data-v2', ['data', 'data-v2'])).toBe(false);
  });

  it('a layer never loses its files to itself or to enclosing layers', () => {
    const layers = ['.', 'main', 'main/sub'];
    expect(shouldSkip('main/sub/f', 'main/sub', layers, none)).toBe(false);
    expect(shouldSkip('main/sub/f', 'main', layers, none)).toBe(true);
    expect(shouldSkip('main/sub/f', '.', layers, none)).toBe(true);
    expect(shouldSkip('main/f', '.', layers, none)).toBe(true);
    expect(shouldSkip('other/f', '.', layers, none)).toBe(false);
  });

  it('ancestor directories of the current layer are never claimed by another layer', () => {
    const layers = ['a', 'a/b/c', 'x'];
    expect(shouldSkip('a', 'a/b/c', layers, none)).toBe(false);
    expect(shouldSkip('a/b', 'a/b/c', layers, none)).toBe(false);
  });

  it('cleans paths: ./, trailing / and surrounding spaces do not matter', () => {
    expect(shouldSkip('./main/sub/f', ' ./main/ ', ['main/', './main/sub/'], none)).toBe(true);
    expect(shouldSkip('main/sub/f', 'main/sub/', ['./main', 'main/sub'], none)).toBe(false);
    expect(shouldSkip('x', '', ['./'], none)).toBe(false);
  });

  it('the Kitfile names are always ignored, at the root only', () => {
    for (const name of ['Kitfile', 'kitfile', '.kitfile', '.kitignore']) {
      expect(shouldSkip(name, '.', ['.'], none)).toBe(true);
      expect(shouldSkip(`sub/${name}`, '.', ['.'], none)).toBe(false);
    }
  });
});

describe('cleanPath (Go path.Clean)', () => {
  it('matches Go on known inputs', () => {
    const cases: Array<[string, string]> = [
      ['', '.'], ['.', '.'], ['./', '.'], ['a/', 'a'], ['./a/b/', 'a/b'], ['a//b', 'a/b'], ['a/./b', 'a/b'],
      ['a/../b', 'b'], ['a/..', '.'], ['../a', '../a'], ['a/../../b', '../b'], ['/..', '/'], ['//a', '/a'], ['/', '/'],
    ];
    for (const [input, want] of cases) expect(cleanPath(input), input).toBe(want);
  });

  it('is idempotent and leaves no empty, "." or trailing components', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', '.', '..', '', 'c.d'), { maxLength: 8 }), fc.boolean(), (parts, rooted) => {
        const cleaned = cleanPath((rooted ? '/' : '') + parts.join('/'));
        expect(cleanPath(cleaned)).toBe(cleaned);
        if (cleaned !== '/' && cleaned !== '.') {
          const comps = cleaned.replace(/^\//, '').split('/');
          expect(comps.every((c) => c !== '' && c !== '.')).toBe(true);
        }
      }),
    );
  });
});
