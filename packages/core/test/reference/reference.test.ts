import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import {
  formatReference,
  isModelKitReference,
  parseReference,
  referenceName,
  type Reference,
} from '../../src/reference/reference.js';
import { loadCases } from '../helpers/conformance.js';

interface RefCase {
  input: string;
  error?: boolean;
  registry?: string;
  repository?: string;
  reference?: string;
  extraTags?: string[];
}

const DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

function expectInvalid(input: string, ...fragments: string[]): KitError {
  let caught: unknown;
  try {
    parseReference(input);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(KitError);
  const err = caught as KitError;
  expect(err.code).toBe('REFERENCE_INVALID');
  expect(err.exitCode).toBe(2);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

describe('parseReference: KitOps conformance (derived/reference-parsing.yaml)', () => {
  const [{ data }] = loadCases<{ cases: RefCase[] }>('derived').filter((c) => c.file === 'reference-parsing.yaml');
  it('has cases', () => expect(data.cases.length).toBeGreaterThanOrEqual(13));
  for (const c of data.cases) {
    it(`${JSON.stringify(c.input)}`, () => {
      if (c.error) {
        expectInvalid(c.input);
        return;
      }
      const ref = parseReference(c.input);
      expect(ref.registry).toBe(c.registry);
      expect(ref.repository).toBe(c.repository);
      // kit's single `reference` field is the digest when there is one, else the tag.
      expect(ref.digest ?? ref.tag).toBe(c.reference);
      expect(ref.extraTags).toEqual(c.extraTags);
      if (ref.digest !== undefined) expect(ref.tag).toBeUndefined();
    });
  }
});

describe('parseReference: rules beyond the table', () => {
  it('treats a bare localhost first segment as the registry', () => {
    expect(parseReference('localhost/org/repo:v1')).toEqual({ registry: 'localhost', repository: 'org/repo', tag: 'v1', extraTags: [] });
  });

  it('keeps a dotted or ported first segment as the registry, never docker.io', () => {
    expect(parseReference('ghcr.io/org/repo').registry).toBe('ghcr.io');
    expect(parseReference('127.0.0.1:5000/repo').registry).toBe('127.0.0.1:5000');
    expect(parseReference('org/repo').registry).toBe('localhost');
    expect(parseReference('repo').repository).toBe('repo');
  });

  it('drops the tag when a digest is given', () => {
    const ref = parseReference(`reg.io/repo:tag@${DIGEST}`);
    expect(ref).toEqual({ registry: 'reg.io', repository: 'repo', digest: DIGEST, extraTags: [] });
  });

  it('names the problem and the expected form', () => {
    expectInvalid('Org/Repo:v1', 'Org/Repo', 'lowercase', 'expected [registry/]repository');
    expectInvalid('-repo:v1', 'must start and end with a letter or number');
    expectInvalid('repo-:v1', 'must start and end');
    expectInvalid('re..po', 'may only contain');
    expectInvalid('repo:', 'tag ""');
    expectInvalid('repo:-bad', 'tag "-bad"');
    expectInvalid(`repo:${'a'.repeat(129)}`, 'tag');
    expectInvalid('repo:v1,', 'tag ""');
    expectInvalid('repo:v1,bad tag', 'tag "bad tag"');
    expectInvalid('repo@sha256:abc', 'digest "sha256:abc"');
    expectInvalid(`repo@sha256:${'A'.repeat(64)}`, 'lowercase hex');
    expectInvalid(`repo@md5:${'a'.repeat(32)}`, 'digest');
    expectInvalid('reg.io/', 'repository name is empty');
    expectInvalid('reg..io/repo', 'registry "reg..io"');
    expectInvalid('reg.io:port/repo', 'registry "reg.io:port"');
    expectInvalid(`${'a'.repeat(256)}`, 'limit is 255');
  });

  it('does not treat a short sha256:… as a digest (kit parses it as repository:tag)', () => {
    expect(parseReference('sha256:abc')).toEqual({ registry: 'localhost', repository: 'sha256', tag: 'abc', extraTags: [] });
  });

  it('rejects non-strings with a KitError', () => {
    expect(() => parseReference(undefined as unknown as string)).toThrow(KitError);
  });
});

describe('formatReference / referenceName / isModelKitReference', () => {
  it('formats tag and digest references with the registry spelled out', () => {
    expect(formatReference(parseReference('org/repo'))).toBe('localhost/org/repo:latest');
    expect(formatReference(parseReference('reg.io:5000/repo:v2,v3'))).toBe('reg.io:5000/repo:v2');
    expect(formatReference(parseReference(`repo@${DIGEST}`))).toBe(`localhost/repo@${DIGEST}`);
    expect(formatReference(parseReference(DIGEST))).toBe(DIGEST);
  });

  it('names the repository', () => {
    expect(referenceName(parseReference('org/repo:v1'))).toBe('localhost/org/repo');
    expect(referenceName(parseReference(DIGEST))).toBe('localhost/_');
  });

  it('recognises ModelKit references as kit does for model.path', () => {
    expect(isModelKitReference('reg.io/org/model:v1')).toBe(true);
    expect(isModelKitReference(`model@${DIGEST}`)).toBe(true);
    expect(isModelKitReference(DIGEST)).toBe(true);
    expect(isModelKitReference('models/model.safetensors')).toBe(false);
    expect(isModelKitReference('./model')).toBe(false);
    expect(isModelKitReference('C:\\models\\x')).toBe(false);
    expect(isModelKitReference('Model:v1')).toBe(false);
  });
});

describe('parseReference properties', () => {
  // Strings drawn from the characters that matter to the grammar, so that many of them parse.
  const gritty = fc.string({
    unit: fc.constantFrom('a', 'b', 'z', '0', '9', 'A', '.', '-', '_', '/', ':', '@', ',', 's', 'h', '2', '5', '6', ' ', 'é'),
    maxLength: 40,
  });
  const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}$/);
  const structured = fc
    .record({
      registry: fc.option(fc.constantFrom('localhost', 'localhost:5000', 'reg.io', 'ghcr.io', 'Reg.Example.com:443', '127.0.0.1:5000', '[::1]:5000')),
      path: fc.array(component, { minLength: 1, maxLength: 4 }),
      tag: fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/)),
      digest: fc.option(fc.stringMatching(/^[a-f0-9]{64}$/).map((h) => `sha256:${h}`)),
      extra: fc.array(fc.stringMatching(/^\w[\w.-]{0,8}$/), { maxLength: 3 }),
    })
    .map(({ registry, path, tag, digest, extra }) => {
      let s = (registry ? `${registry}/` : '') + path.join('/');
      if (tag) s += `:${tag}`;
      if (digest) s += `@${digest}`;
      return [s, ...extra].join(',');
    });
  const inputs = fc.oneof(fc.string(), gritty, structured);

  it('throws nothing but KitError, and format(parse(x)) re-parses to the same reference', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        let ref: Reference;
        try {
          ref = parseReference(input);
        } catch (e) {
          expect(e).toBeInstanceOf(KitError);
          expect((e as KitError).code).toBe('REFERENCE_INVALID');
          return;
        }
        // formatReference leaves out extra tags by design; everything else must survive.
        expect(parseReference(formatReference(ref))).toEqual({ ...ref, extraTags: [] });
        expect(Boolean(ref.tag) !== Boolean(ref.digest)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('parses every structured reference', () => {
    fc.assert(
      fc.property(structured, (input) => {
        const ref = parseReference(input);
        expect(ref.repository).toMatch(/^[a-z0-9]/);
      }),
      { numRuns: 1000 },
    );
  });
});
