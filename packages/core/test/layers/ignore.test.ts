import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import { IgnoreMatcher, parseIgnoreFile } from '../../src/layers/ignore.js';
import { compileGo } from '../../src/layers/ignore-pattern.js';

// Restated from moby/patternmatcher patternmatcher_test.go (TestMatches, MatchesOrParentMatches
// subtest, where "inexact" means the pattern matches a parent directory): [pattern, path, matches].
const SINGLE: Array<[string, string, boolean]> = [
  ['**', 'file', true], ['**', 'file/', true], ['**/', 'file', true], ['**/', 'file/', true],
  ['**', '/', true], ['**/', '/', true], ['**', 'dir/file', true], ['**/', 'dir/file', true],
  ['**', 'dir/file/', true], ['**/', 'dir/file/', true], ['**/**', 'dir/file', true], ['**/**', 'dir/file/', true],
  ['dir/**', 'dir/file', true], ['dir/**', 'dir/file/', true], ['dir/**', 'dir/dir2/file', true], ['dir/**', 'dir/dir2/file/', true],
  ['**/dir', 'dir', true], ['**/dir', 'dir/file', true], ['**/dir2/*', 'dir/dir2/file', true], ['**/dir2/*', 'dir/dir2/file/', true],
  ['**/dir2/**', 'dir/dir2/dir3/file', true], ['**/dir2/**', 'dir/dir2/dir3/file/', true],
  ['**file', 'file', true], ['**file', 'dir/file', true], ['**/file', 'dir/file', true], ['**file', 'dir/dir/file', true],
  ['**/file', 'dir/dir/file', true], ['**/file*', 'dir/dir/file', true], ['**/file*', 'dir/dir/file.txt', true],
  ['**/file*txt', 'dir/dir/file.txt', true], ['**/file*.txt', 'dir/dir/file.txt', true], ['**/file*.txt*', 'dir/dir/file.txt', true],
  ['**/**/*.txt', 'dir/dir/file.txt', true], ['**/**/*.txt2', 'dir/dir/file.txt', false], ['**/*.txt', 'file.txt', true],
  ['**/**/*.txt', 'file.txt', true], ['a**/*.txt', 'a/file.txt', true], ['a**/*.txt', 'a/dir/file.txt', true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true], ['a/*.txt', 'a/dir/file.txt', false], ['a/*.txt', 'a/file.txt', true],
  ['a/*.txt**', 'a/file.txt', true], ['a[b-d]e', 'ae', false], ['a[b-d]e', 'ace', true], ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true], ['.*', '.foo', true], ['.*', 'foo', false], ['abc.def', 'abcdef', false],
  ['abc.def', 'abc.def', true], ['abc.def', 'abcZdef', false], ['abc?def', 'abcZdef', true], ['abc?def', 'abcdef', false],
  ['**/foo/bar', 'foo/bar', true], ['**/foo/bar', 'dir/foo/bar', true], ['**/foo/bar', 'dir/dir2/foo/bar', true],
  ['abc/**', 'abc', false], ['abc/**', 'abc/def', true], ['abc/**', 'abc/def/ghi', true], ['**/.foo', '.foo', true],
  ['**/.foo', 'bar.foo', false], ['a(b)c/def', 'a(b)c/def', true], ['a(b)c/def', 'a(b)c/xyz', false],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
  ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['a\\\\', 'a\\', true], ['a\\*b', 'a*b', true],
];

const MULTI: Array<[string[], string, boolean]> = [
  [['**', '!util/docker/web'], 'util/docker/web/foo', false],
  [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', true],
  [['**', '!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
  [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
  [['docs', '!docs/README.md'], 'docs/README.md', false],
  [['docs/', '!docs/README.md'], 'docs/README.md', false],
  [['docs/*', '!docs/README.md'], 'docs/README.md', false],
  [['!fileutils.go', '*.go'], 'fileutils.go', true],
  [['*.go', '!fileutils.go'], 'fileutils.go', false],
];

// moby's filepath.Match-derived table (TestMatch): [pattern, path, matches] or a bad pattern.
const GLOB: Array<[string, string, boolean | 'bad']> = [
  ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'abc', true],
  ['a*', 'ab/c', true], ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false], ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true], ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false], ['a*b?c*x', 'abxbbxdbxebxczzx', true], ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false], ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true], ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true], ['a[^a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true], ['*[a-ζ]', 'A', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false],
  ['[\\]a]', ']', true], ['[\\-]', '-', true], ['[x\\-]', 'x', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true], ['[\\-x]', '-', true], ['[\\-x]', 'a', false],
  ['[]a]', ']', 'bad'], ['[-]', '-', 'bad'], ['[x-]', 'x', 'bad'], ['[x-]', '-', 'bad'], ['[x-]', 'z', 'bad'],
  ['[-x]', 'x', 'bad'], ['[-x]', '-', 'bad'], ['[-x]', 'a', 'bad'], ['\\', 'a', 'bad'], ['[a-b-c]', 'a', 'bad'],
  ['[', 'a', 'bad'], ['[^', 'a', 'bad'], ['[^bc', 'a', 'bad'], ['a[', 'a', 'bad'], ['a[', 'ab', 'bad'], ['*x', 'xxx', true],
];

describe('IgnoreMatcher: moby/patternmatcher MatchesOrParentMatches', () => {
  for (const [pattern, path, want] of SINGLE) {
    it(`${JSON.stringify(pattern)} vs ${JSON.stringify(path)} → ${want}`, () => {
      expect(IgnoreMatcher.fromPatterns([pattern]).matches(path)).toBe(want);
    });
  }
  for (const [patterns, path, want] of MULTI) {
    it(`${JSON.stringify(patterns)} vs ${JSON.stringify(path)} → ${want}`, () => {
      expect(IgnoreMatcher.fromPatterns(patterns).matches(path)).toBe(want);
    });
  }
  for (const [pattern, path, want] of GLOB) {
    it(`glob ${JSON.stringify(pattern)} vs ${JSON.stringify(path)} → ${want}`, () => {
      if (want === 'bad') {
        expect(() => IgnoreMatcher.fromPatterns([pattern])).toThrow(KitError);
      } else {
        expect(IgnoreMatcher.fromPatterns([pattern]).matches(path)).toBe(want);
      }
    });
  }

  it('compiles patterns to the same match types as moby', () => {
    const types: Array<[string, string]> = [
      ['*', 'regexp'], ['file*', 'regexp'], ['**', 'suffix'], ['**/**', 'regexp'], ['dir/**', 'prefix'],
      ['**/dir', 'suffix'], ['**/dir2/*', 'regexp'], ['**file', 'suffix'], ['a[b-d]e', 'regexp'], ['abc', 'exact'],
      ['a(b)c', 'exact'], ['a\\*b', 'regexp'],
    ];
    for (const [p, type] of types) expect(compileGo(p).type, p).toBe(type);
    expect(compileGo('**/**/*.txt').goRegexp).toBe('^(.*/)?(.*/)?[^/]*\\.txt$');
    expect(compileGo('**/dir2/**').goRegexp).toBe('^(.*/)?dir2/.*$');
  });

  it('a lone "!" is an error, and errors name the pattern', () => {
    expect(() => IgnoreMatcher.fromPatterns(['!'])).toThrow(/"!"/);
    try {
      IgnoreMatcher.fromPatterns(['ok', 'bad[']);
    } catch (e) {
      expect(e).toBeInstanceOf(KitError);
      expect((e as KitError).code).toBe('INVALID_ARGUMENT');
      expect((e as KitError).message).toContain('bad[');
    }
  });

  it('hasExclusions reflects "!" patterns only', () => {
    expect(IgnoreMatcher.fromPatterns([]).hasExclusions).toBe(false);
    expect(IgnoreMatcher.fromPatterns(['docs']).hasExclusions).toBe(false);
    expect(IgnoreMatcher.fromPatterns(['docs', '  !docs/README.md']).hasExclusions).toBe(true);
    expect(IgnoreMatcher.fromPatterns(['docs', '!docs/README.md  ']).hasExclusions).toBe(true);
  });

  it('always ignores the Kitfile names at the root, even against a "!" pattern', () => {
    const m = IgnoreMatcher.fromPatterns(['!Kitfile', '!.kitignore']);
    for (const name of ['Kitfile', 'kitfile', '.kitfile', '.kitignore']) {
      expect(m.matches(name)).toBe(true);
      expect(m.matches(`./${name}`)).toBe(true);
      expect(m.matches(`dir/${name}`)).toBe(false);
    }
    expect(m.matches('KITFILE')).toBe(false);
  });

  it('is anchored at the root: "foo" does not match "dir/foo"', () => {
    const m = IgnoreMatcher.fromPatterns(['foo', '*.md']);
    expect(m.matches('foo')).toBe(true);
    expect(m.matches('foo/bar')).toBe(true);
    expect(m.matches('dir/foo')).toBe(false);
    expect(m.matches('a.md')).toBe(true);
    expect(m.matches('dir/a.md')).toBe(false);
  });

  it('matches paths after cleaning them', () => {
    const m = IgnoreMatcher.fromPatterns(['dir1/sub']);
    expect(m.matches('./dir1/sub/')).toBe(true);
    expect(m.matches('dir1/x/../sub/file')).toBe(true);
  });

  it('treats characters that are special in JavaScript regexps as literals', () => {
    const m = IgnoreMatcher.fromPatterns(['a]b*', 'x^y*', 'c\\-d?']);
    expect(m.matches('a]bc')).toBe(true);
    expect(m.matches('c-de')).toBe(true);
    expect(m.matches('x^yz')).toBe(false); // '^' is an anchor in the regexp, as in moby
    // RE2 (Perl flags): negated classes match \n, '.' matches everything but \n, including \r.
    expect(IgnoreMatcher.fromPatterns(['*.txt']).matches('a\nb.txt')).toBe(true);
    expect(IgnoreMatcher.fromPatterns(['**/x/*']).matches('a\rb/x/y')).toBe(true);
    expect(IgnoreMatcher.fromPatterns(['**/x/*']).matches('a\nb/x/y')).toBe(false);
  });
});

describe('parseIgnoreFile (moby ignorefile.ReadAll)', () => {
  it('cleans lines, strips leading "/", keeps "!" and drops comments and blank lines', () => {
    const content = 'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
    expect(parseIgnoreFile(content)).toEqual(['test1', 'test2', 'a/file/here', 'lastfile', '!inverted/abs/path', '!', '!']);
  });

  it('drops a BOM on the first line and CRs at line ends', () => {
    expect(parseIgnoreFile('\uFEFFa\r\nb/\r\n  c/./d  \n')).toEqual(['a', 'b', 'c/d']);
  });

  it('only lines starting with "#" are comments', () => {
    expect(parseIgnoreFile('  # not a comment\n#comment')).toEqual(['# not a comment']);
  });
});

describe('IgnoreMatcher.fromContext', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('reads .kitignore when present and works without one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kitignore-'));
    dirs.push(dir);
    const empty = await IgnoreMatcher.fromContext(dir);
    expect(empty.matches('anything')).toBe(false);
    expect(empty.matches('Kitfile')).toBe(true);
    await writeFile(join(dir, '.kitignore'), '# weights\n*.bin\n!keep.bin\n');
    const m = await IgnoreMatcher.fromContext(dir);
    expect(m.matches('a.bin')).toBe(true);
    expect(m.matches('keep.bin')).toBe(false);
    expect(m.hasExclusions).toBe(true);
  });
});
