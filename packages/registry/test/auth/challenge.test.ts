import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseChallenges } from '../../src/auth/challenge.js';

describe('parseChallenges', () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }],
    ],
    [
      // 2.8.2 mount challenge: two scopes, commas inside the quotes
      'Bearer realm="http://127.0.0.1:5001/token",service="local-registry",scope="repository:tok/art:pull,push repository:other/repo:pull"',
      [{ scheme: 'bearer', params: { realm: 'http://127.0.0.1:5001/token', service: 'local-registry', scope: 'repository:tok/art:pull,push repository:other/repo:pull' } }],
    ],
    ['Basic realm="basic-realm"', [{ scheme: 'basic', params: { realm: 'basic-realm' } }]],
    [
      'Basic realm="https://1.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"',
      [{ scheme: 'basic', params: { realm: 'https://1.dkr.ecr.us-east-1.amazonaws.com/', service: 'ecr.amazonaws.com' } }],
    ],
    [
      'Bearer realm="https://r/t",error="insufficient_scope",scope="registry:catalog:*"',
      [{ scheme: 'bearer', params: { realm: 'https://r/t', error: 'insufficient_scope', scope: 'registry:catalog:*' } }],
    ],
    ['Bearer realm=simple, service=svc', [{ scheme: 'bearer', params: { realm: 'simple', service: 'svc' } }]],
    ['BEARER Realm="x" , SERVICE = "y"', [{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }]],
    ['Basic realm="a\\"b\\\\c"', [{ scheme: 'basic', params: { realm: 'a"b\\c' } }]],
    [
      'Basic realm="a", Bearer realm="b", scope="s1 s2"',
      [
        { scheme: 'basic', params: { realm: 'a' } },
        { scheme: 'bearer', params: { realm: 'b', scope: 's1 s2' } },
      ],
    ],
    [
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
      [
        { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
        { scheme: 'basic', params: { realm: 'simple' } },
      ],
    ],
    ['Negotiate YIIBhg==', [{ scheme: 'negotiate', params: {}, token68: 'YIIBhg==' }]],
    [
      'Negotiate abc=, Basic realm="x"',
      [
        { scheme: 'negotiate', params: {}, token68: 'abc=' },
        { scheme: 'basic', params: { realm: 'x' } },
      ],
    ],
    ['Basic', [{ scheme: 'basic', params: {} }]],
    [
      'Basic, Bearer realm="x"',
      [
        { scheme: 'basic', params: {} },
        { scheme: 'bearer', params: { realm: 'x' } },
      ],
    ],
    ['Bearer realm="first", realm="second"', [{ scheme: 'bearer', params: { realm: 'first' } }]],
    ['Bearer realm="unterminated', [{ scheme: 'bearer', params: { realm: 'unterminated' } }]],
    [',, Bearer ,realm="x",,', [{ scheme: 'bearer', params: { realm: 'x' } }]],
    ['', []],
  ])('%s', (header, want) => {
    expect(parseChallenges(header)).toEqual(want);
  });

  it('keeps a parameter named __proto__ as a parameter', () => {
    const [c] = parseChallenges('Bearer __proto__="x", realm="r"');
    expect(Object.getPrototypeOf(c.params)).toBe(Object.prototype);
    expect(Object.keys(c.params)).toEqual(['__proto__', 'realm']);
    expect(c.params.realm).toBe('r');
  });

  it('handles undefined', () => {
    expect(parseChallenges(undefined)).toEqual([]);
  });

  it('never throws, whatever the header', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        parseChallenges(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips generated challenges', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
    const value = fc.string({ maxLength: 20 }).filter((v) => !/[\x00-\x08\x0a-\x1f\x7f]/.test(v));
    const challenge = fc.record({ scheme: fc.constantFrom('bearer', 'basic', 'custom'), params: fc.dictionary(name, value, { minKeys: 1, maxKeys: 4 }) });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (cs) => {
        const header = cs
          .map((c) => `${c.scheme} ${Object.entries(c.params).map(([k, v]) => `${k}="${v.replace(/[\\"]/g, (m) => `\\${m}`)}"`).join(', ')}`)
          .join(', ');
        const want = cs.map((c) => ({ scheme: c.scheme, params: { ...c.params } }));
        expect(parseChallenges(header)).toEqual(want);
      }),
      { numRuns: 1000 },
    );
  });
});
