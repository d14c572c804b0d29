import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KitError } from '../../src/errors.js';
import { parseKitfile, parseKitfileJson, parseKitfileWithPositions } from '../../src/kitfile/parse.js';
import { kitfileToConfigJson, kitfileToYaml } from '../../src/kitfile/serialize.js';
import type { Kitfile } from '../../src/kitfile/types.js';
import { validateKitfile } from '../../src/kitfile/validate.js';

/** Whatever happens, only KitErrors come out; what parses also validates, serialises and re-parses. */
function exercise(text: string): void {
  let kf: Kitfile;
  try {
    const parsed = parseKitfileWithPositions(text);
    kf = parsed.kitfile;
    validateKitfile(kf, { positions: parsed.positions });
  } catch (e) {
    if (!(e instanceof KitError)) throw e;
    return;
  }
  let json: string;
  try {
    json = kitfileToConfigJson(kf);
  } catch (e) {
    if (!(e instanceof KitError)) throw e;
    return; // NaN / infinity parameters
  }
  // Re-marshalled YAML means the same (same config bytes) and is a fixed point.
  const yaml = kitfileToYaml(kf);
  const again = parseKitfile(yaml);
  expect(kitfileToConfigJson(again)).toBe(json);
  expect(kitfileToYaml(again)).toBe(yaml);
  expect(kitfileToConfigJson(parseKitfileJson(json))).toBe(json);
}

const KEYS = [
  'manifestVersion', 'package', 'model', 'code', 'datasets', 'docs', 'prompts', 'mcpServers', 'name', 'path', 'version',
  'authors', 'parts', 'type', 'parameters', 'description', 'license', 'remotePath', 'remoteHash', 'digest', 'modle', '<<', '1',
];
const SCALARS = ['1.0.0', '0xFF', '1_000', '-0', '.nan', '~', 'null', 'true', 'yes', '017', '1e400', 's3://b/k', 'https://x', '../up', '/abs', 'a:b', 'x.mcpb', ''];

/** Kitfile-shaped values: the right keys with arbitrary (often wrong) values. */
const kitfileish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...SCALARS),
    fc.string(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Fragments that make interesting (often broken) YAML when glued together. */
const yamlSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'manifestVersion: 1.0.0', 'model:', 'code:', 'parameters:', 'path: x', 'name: n', '\n', '\n  ', '\n    ', '- ', '  - ',
        '{', '}', '[', ']', ', ', ': ', '&a ', '*a', '<<: ', '!!int ', '!!str ', '!foo ', '"', "'", '# c', '|', '>-', '---', '...',
        '\t', '? ', '%YAML 1.2', '\\', '\u2028', '\ufeff', '@', '`',
      ),
      fc.constantFrom(...SCALARS),
      fc.string({ maxLength: 5 }),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

const text = fc.string({ unit: 'grapheme', minLength: 1 });
const optText = fc.option(text, { nil: undefined });
const params = fc.option(fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' }).filter((v) => v !== null), { nil: undefined });
const layer = { digest: optText, diffId: optText };
const list = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.array(arb, { minLength: 1, maxLength: 3 }), { nil: undefined });

/** Any Kitfile our types allow, with JSON-safe parameters and no empty optional strings. */
const kitfileArb: fc.Arbitrary<Kitfile> = fc.record(
  {
    manifestVersion: fc.oneof(fc.constant('1.0.0'), fc.string({ unit: 'grapheme' })),
    package: fc.record(
      { name: text, version: text, description: text, license: text, authors: list(fc.string({ unit: 'grapheme' })) },
      { requiredKeys: [] },
    ),
    model: fc.option(
      fc.record(
        {
          name: text, path: text, license: text, framework: text, format: text, version: text, description: text,
          parts: list(fc.record({ name: text, path: text, license: text, type: text, ...layer }, { requiredKeys: [] })),
          parameters: params, ...layer,
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
    code: list(fc.record({ path: text, description: text, license: text, ...layer }, { requiredKeys: [] })),
    datasets: list(
      fc.record(
        { name: text, path: text, remotePath: text, remoteHash: text, description: text, license: text, parameters: params, ...layer },
        { requiredKeys: [] },
      ),
    ),
    docs: list(fc.record({ path: fc.string({ unit: 'grapheme' }), description: optText, ...layer }, { requiredKeys: ['path'] })),
    prompts: list(fc.record({ name: text, path: text, description: text, ...layer }, { requiredKeys: [] })),
    mcpServers: list(fc.record({ name: text, path: text, description: text, ...layer }, { requiredKeys: [] })),
  },
  { requiredKeys: ['manifestVersion', 'package'] },
);

/** Drops keys whose value is undefined (fc.option's nil), and optionally digests, outside parameters. */
function clean<T>(v: T, dropDigests = false): T {
  if (Array.isArray(v)) return v.map((x) => clean(x, dropDigests)) as T;
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k, x]) => x !== undefined && !(dropDigests && (k === 'digest' || k === 'diffId')))
      .map(([k, x]) => [k, k === 'parameters' ? x : clean(x, dropDigests)]),
  ) as T;
}

const withoutDigests = (kf: Kitfile): Kitfile => clean(kf, true);

describe('property: parseKitfile only ever throws KitError', () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), exercise), { numRuns: 500 });
  });

  it('YAML fragment soup', () => {
    fc.assert(fc.property(yamlSoup, exercise), { numRuns: 1500 });
  });

  it('Kitfile-shaped structures written as YAML and as JSON', () => {
    fc.assert(
      fc.property(kitfileish, (value) => {
        exercise(stringify(value));
        exercise(JSON.stringify(value) ?? 'null');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('property: valid Kitfiles round-trip', () => {
  it('through config JSON, exactly', () => {
    fc.assert(
      fc.property(kitfileArb, (generated) => {
        const kf = clean(generated);
        const json = kitfileToConfigJson(kf);
        expect(parseKitfileJson(json)).toEqual(kf);
        expect(kitfileToConfigJson(parseKitfileJson(json))).toBe(json);
      }),
      { numRuns: 300 },
    );
  });

  it('through YAML, minus digests', () => {
    fc.assert(
      fc.property(kitfileArb, (generated) => {
        const kf = clean(generated);
        const back = parseKitfile(kitfileToYaml(kf));
        // Same meaning: identical config bytes. (Types may shift the way they do in Go: an integral
        // double beyond int64 written as digits reads back as uint64; both print the same.)
        expect(kitfileToConfigJson(back)).toBe(kitfileToConfigJson(withoutDigests(kf)));
      }),
      { numRuns: 300 },
    );
  });
});
