import { KitError } from '@modelkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDockerReference, parseDockerReference, registryHost, type DockerReference } from '../src/reference.js';

const H64 = 'a'.repeat(64);
const D = `sha256:${H64}`;

const GOOD: Array<[string, Partial<DockerReference>]> = [
  ['alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
  ['alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
  ['library/alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
  ['user/repo', { registry: 'docker.io', repository: 'user/repo', tag: 'latest' }],
  ['a/b/c/d', { registry: 'docker.io', repository: 'a/b/c/d', tag: 'latest' }],
  ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
  ['index.docker.io/alpine:1', { registry: 'docker.io', repository: 'library/alpine', tag: '1' }],
  ['index.docker.io/org/model', { registry: 'docker.io', repository: 'org/model', tag: 'latest' }],
  ['ghcr.io/org/model:v1', { registry: 'ghcr.io', repository: 'org/model', tag: 'v1' }],
  ['ghcr.io/model', { registry: 'ghcr.io', repository: 'model', tag: 'latest' }],
  ['localhost/model', { registry: 'localhost', repository: 'model', tag: 'latest' }],
  ['localhost:5000/org/model:v2', { registry: 'localhost:5000', repository: 'org/model', tag: 'v2' }],
  ['127.0.0.1:5000/m', { registry: '127.0.0.1:5000', repository: 'm', tag: 'latest' }],
  ['[::1]:5000/m:t', { registry: '[::1]:5000', repository: 'm', tag: 't' }],
  ['[fe80::1]/m', { registry: '[fe80::1]', repository: 'm', tag: 'latest' }],
  ['Registry/m', { registry: 'Registry', repository: 'm', tag: 'latest' }],
  [`alpine@${D}`, { registry: 'docker.io', repository: 'library/alpine', digest: D }],
  [`ghcr.io/o/m:v1@${D}`, { registry: 'ghcr.io', repository: 'o/m', tag: 'v1', digest: D }],
  [`m@sha256:${'A'.repeat(64)}`, { repository: 'library/m', digest: D }],
  [`m@sha512:${'b'.repeat(128)}`, { repository: 'library/m', digest: `sha512:${'b'.repeat(128)}` }],
  ['m:tag1,tag2,tag3', { repository: 'library/m', tag: 'tag1', extraTags: ['tag2', 'tag3'] }],
  ['m,extra', { repository: 'library/m', tag: 'latest', extraTags: ['extra'] }],
  ['my-reg.example.com/e--f_g.h/x__y', { registry: 'my-reg.example.com', repository: 'e--f_g.h/x__y' }],
  ['m:_Tag.1-x', { tag: '_Tag.1-x' }],
  [`m:${'t'.repeat(128)}`, { tag: 't'.repeat(128) }],
  [`r.io/${'a'.repeat(255)}`, { repository: 'a'.repeat(255) }],
  ['localhost:5000', { registry: 'docker.io', repository: 'library/localhost', tag: '5000' }],
];

const BAD: Array<[string, RegExp]> = [
  ['', /empty/],
  [H64, /64-character hex/],
  ['Alpine', /must be lowercase/],
  ['docker.io/Org/model', /must be lowercase/],
  ['ghcr.io/org/Model:v1', /must be lowercase/],
  ['m:', /tag ""/],
  ['m:.dot', /tag "\.dot"/],
  ['m:-dash', /tag "-dash"/],
  [`m:${'t'.repeat(129)}`, /1-128 characters/],
  ['m:a,', /tag ""/],
  ['m:a,b!c', /tag "b!c"/],
  ['m@', /digest ""/],
  ['m@sha256:abc', /not of the form/],
  [`m@md5:${'a'.repeat(32)}`, /unsupported/],
  [`m@sha256:${'a'.repeat(63)}`, /not of the form|unsupported/],
  [`m@sha256:${'a'.repeat(65)}`, /unsupported/],
  ['ghcr.io/', /repository name is empty/],
  ['ghcr.io//m', /may only contain/],
  ['a//b', /may only contain/],
  ['/m', /may only contain/],
  ['m/', /may only contain/],
  ['m-', /may only contain/],
  ['m..n', /may only contain/],
  ['-host.io/m', /registry "-host.io"/],
  ['host.io:port/m', /registry "host.io:port"/],
  ['[::1/m', /registry/],
  ['[::1]:5000', /tag|may only contain/],
  ['host_name.io/m', /registry/],
  ['m with space', /may only contain/],
  [`r.io/${'a'.repeat(256)}`, /limit is 255/],
  ['m:t:u', /tag "t:u"/],
];

describe('parseDockerReference', () => {
  it.each(GOOD)('parses %s', (input, want) => {
    const got = parseDockerReference(input);
    expect(got).toMatchObject({ extraTags: [], ...want });
    if (want.digest !== undefined && want.tag === undefined) expect(got.tag).toBeUndefined();
    if (want.digest === undefined) expect(got.digest).toBeUndefined();
  });

  it.each(BAD)('rejects %j', (input, problem) => {
    let err: unknown;
    try {
      parseDockerReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KitError);
    const ke = err as KitError;
    expect(ke.code).toBe('REFERENCE_INVALID');
    expect(ke.message).toMatch(problem);
    // Names the reference and says what is expected.
    expect(ke.message).toContain(JSON.stringify(input.slice(0, 200)).slice(0, -1));
    expect(ke.message).toContain('expected [registry[:port]/]repository');
  });

  it('rejects non-strings with a KitError', () => {
    expect(() => parseDockerReference(42 as unknown as string)).toThrow(KitError);
  });

  it('only ever throws KitError, and what parses formats and re-parses to itself', () => {
    const chars = fc.constantFrom(...'aZ09:/@.,_-[]'.split(''), 'sha256:', H64, 'localhost', 'docker.io/');
    const arb = fc.oneof(fc.string(), fc.array(chars, { maxLength: 12 }).map((a) => a.join('')));
    fc.assert(
      fc.property(arb, (s) => {
        let ref: DockerReference;
        try {
          ref = parseDockerReference(s);
        } catch (e) {
          if (!(e instanceof KitError) || e.code !== 'REFERENCE_INVALID') throw e;
          return;
        }
        const again = parseDockerReference(formatDockerReference(ref));
        expect(again).toEqual({ ...ref, extraTags: [] });
      }),
      { numRuns: 3000 },
    );
  });

  it('formats fully qualified names', () => {
    expect(formatDockerReference(parseDockerReference('alpine'))).toBe('docker.io/library/alpine:latest');
    expect(formatDockerReference(parseDockerReference(`x.io/m:v@${D}`))).toBe(`x.io/m:v@${D}`);
    expect(formatDockerReference(parseDockerReference(`m@${D}`))).toBe(`docker.io/library/m@${D}`);
  });
});

describe('registryHost', () => {
  it('maps Docker Hub to its API host and leaves others alone', () => {
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('index.docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('ghcr.io')).toBe('ghcr.io');
    expect(registryHost('localhost:5000')).toBe('localhost:5000');
  });
});
