import { describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import { parseKitfile, parseKitfileJson, parseKitfileWithPositions } from '../../src/kitfile/parse.js';
import { validateKitfile } from '../../src/kitfile/validate.js';
import { caught } from '../helpers/caught.js';

describe('parseKitfile: positions in every message', () => {
  it('names an unknown key with its line:column, the allowed keys and a likely fix', () => {
    const text = 'manifestVersion: 1.0.0\npackage:\n  name: x\nmodel:\n  name: m\n  path: m\n  fromat: onnx\n';
    const e = caught(() => parseKitfile(text));
    expect(e.code).toBe('KITFILE_INVALID');
    expect(e.message).toBe(
      'Kitfile:7:3: unknown key "fromat" in model (allowed: name, path, license, framework, format, version, ' +
        'description, parts, parameters); did you mean "format"?',
    );
  });

  it('reports every problem, one per line, in source order', () => {
    const text = [
      'manifestVersion: 1.0.0',
      'modle: {}',
      'package:',
      '  authors: jane',
      'code:',
      '  - path: src',
      '    digest: sha256:abc',
      'datasets:',
      '  - name: [a]',
    ].join('\n');
    const lines = caught(() => parseKitfile(text, 'my/Kitfile')).message.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^my\/Kitfile:2:1: unknown key "modle" at the top level \(allowed: manifestVersion, package, model, code, datasets, docs, prompts, mcpServers\); did you mean "model"\?$/);
    expect(lines[1]).toBe('my/Kitfile:4:12: package.authors must be a list, got the value "jane"; write one "- item" line per entry under the key');
    expect(lines[2]).toMatch(/^my\/Kitfile:7:5: unknown key "digest" in code\[0\] .*written into the config by kit pack/);
    expect(lines[3]).toMatch(/^my\/Kitfile:9:11: datasets\[0\]\.name must be a single value, got a list; /);
  });

  it('locates the top level being the wrong type', () => {
    expect(caught(() => parseKitfile('- a\n- b\n')).message).toMatch(/^Kitfile:1:1: the Kitfile must be a mapping, got a list; /);
    expect(caught(() => parseKitfile('   \n# only a comment\n')).message).toMatch(/^Kitfile:1:1: the Kitfile is empty/);
  });

  it('reports YAML syntax errors as KITFILE_SYNTAX with their position', () => {
    const tab = caught(() => parseKitfile('manifestVersion: 1.0.0\nmodel:\n\tpath: x\n'));
    expect(tab.code).toBe('KITFILE_SYNTAX');
    expect(tab.message).toMatch(/^Kitfile:3:1: Tabs are not allowed as indentation; indent with spaces, not tabs/);

    const dup = caught(() => parseKitfile('manifestVersion: 1.0.0\nmodel:\n  path: a\n  path: b\n'));
    expect(dup.code).toBe('KITFILE_SYNTAX');
    expect(dup.message).toMatch(/^Kitfile:4:3: Map keys must be unique; /);

    const open = caught(() => parseKitfile('manifestVersion: 1.0.0\npackage:\n  name: "unterminated\n'));
    expect(open.code).toBe('KITFILE_SYNTAX');
    expect(open.message).toMatch(/^Kitfile:4:1: Missing closing "quote; close the quote or bracket that is left open$/);
  });

  it('refuses a second YAML document instead of silently dropping it', () => {
    const e = caught(() => parseKitfile('manifestVersion: 1.0.0\n---\nmodel: {path: x}\n'));
    expect(e.code).toBe('KITFILE_SYNTAX');
    expect(e.message).toMatch(/^Kitfile:3:1: a second YAML document/);
  });

  it('gives validation the positions: duplicate path at the later use', () => {
    const text = 'manifestVersion: 1.0.0\nmodel:\n  name: m\n  path: data\ndatasets:\n  - name: d\n    path: ./data/\n';
    const { kitfile, positions } = parseKitfileWithPositions(text);
    const e = caught(() => validateKitfile(kitfile, { file: 'Kitfile', positions }));
    expect(e.message).toBe('Kitfile:7:11: model m and dataset layer 0 use the same path data; give each layer its own path (layers may nest, but not coincide)');
  });
});

describe('parseKitfile: yaml.v3 decoding semantics', () => {
  it('keeps string fields as written, like yaml.v3 decoding into a string', () => {
    const kf = parseKitfile('manifestVersion: 1.0\npackage:\n  version: 1.10\n  name: 0x1F\n  description: true\n  license: ~\n');
    expect(kf).toEqual({ manifestVersion: '1.0', package: { version: '1.10', name: '0x1F', description: 'true' } });
  });

  it('decodes parameters with Go number rules', () => {
    const kf = parseKitfile(
      'manifestVersion: 1.0.0\nmodel:\n  parameters:\n    hex: 0xFF\n    exp: 1.2e+3\n    under: 1_000\n    bin: 0b101\n' +
        '    oct: 017\n    oct12: 0o17\n    big: 12345678901234567890\n    negzero: -0\n    yes: yes\n    bool: True\n' +
        '    quoted: "12"\n    huge: 1e400\n    nul: ~\n    str: !!str 12\n    flt: !!float 3\n',
    );
    expect(kf.model?.parameters).toEqual({
      hex: 255, exp: 1200, under: 1000, bin: 5, oct: 15, oct12: 15, big: 12345678901234567890n, negzero: -0,
      yes: 'yes', bool: true, quoted: '12', huge: '1e400', nul: null, str: '12', flt: 3,
    });
    expect(Object.is((kf.model?.parameters as { negzero: number }).negzero, -0)).toBe(true);
  });

  it('rejects parameter keys that are not strings (Go cannot marshal them to JSON)', () => {
    const e = caught(() => parseKitfile('manifestVersion: 1.0.0\nmodel:\n  parameters:\n    1: one\n'));
    expect(e.message).toMatch(/^Kitfile:4:5: the key 1 in model\.parameters is read as int, .*quote it: "1"$/);
  });

  it('rejects a mistyped explicit tag', () => {
    expect(caught(() => parseKitfile('manifestVersion: 1.0.0\nmodel:\n  parameters:\n    a: !!int abc\n')).message).toMatch(
      /^Kitfile:4:14: cannot decode !!str "abc" as !!int; /,
    );
  });

  it('supports anchors, aliases and merge keys, and refuses alias cycles', () => {
    const kf = parseKitfile('manifestVersion: 1.0.0\nmodel:\n  <<: {name: base, path: p}\n  name: real\n  parameters: &p {a: 1}\ndatasets:\n  - path: d\n    parameters: *p\n');
    expect(kf.model).toEqual({ name: 'real', path: 'p', parameters: { a: 1 } });
    expect(kf.datasets?.[0].parameters).toEqual({ a: 1 });
    expect(caught(() => parseKitfile('manifestVersion: 1.0.0\nmodel:\n  parameters: &x [*x]\n')).message).toMatch(/alias \*x is used inside its own anchor/);
  });

  it('caps alias expansion ("billion laughs")', () => {
    const lines = ['manifestVersion: 1.0.0', 'model:', '  parameters:', '    a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) lines.push(`    a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    expect(caught(() => parseKitfile(lines.join('\n'))).message).toMatch(/more than 100000 YAML nodes/);
  });

  it('decodes null list items and docs without path like Go zero values', () => {
    expect(parseKitfile('manifestVersion: 1.0.0\ncode:\n  -\ndocs:\n  - description: d\n')).toEqual({
      manifestVersion: '1.0.0', package: {}, code: [{}], docs: [{ path: '', description: 'd' }],
    });
  });

  it('accepts JSON, which is YAML', () => {
    const kf = parseKitfile('{"manifestVersion": "1.0.0", "package": {"name": "x", "authors": ["a"]}, "model": {"path": "m", "parameters": {"n": 1.5}}}');
    expect(kf).toEqual({ manifestVersion: '1.0.0', package: { name: 'x', authors: ['a'] }, model: { path: 'm', parameters: { n: 1.5 } } });
  });

  it('treats a "__proto__" parameter as data', () => {
    const kf = parseKitfile('manifestVersion: 1.0.0\nmodel:\n  parameters:\n    __proto__: {polluted: true}\n');
    expect(Object.keys(kf.model?.parameters as object)).toEqual(['__proto__']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('parseKitfileJson (config blobs)', () => {
  it('accepts digests and old configs without them, ignores unknown keys and nulls like Go', () => {
    const kf = parseKitfileJson(
      '{"manifestVersion":"1.0.0","package":null,"model":{"path":"m","digest":"sha256:1","diffId":"sha256:2","future":true,"parameters":{"a":null}},' +
        '"code":[{"path":"src"}],"skills":[{"path":"x"}]}',
    );
    expect(kf).toEqual({
      manifestVersion: '1.0.0', package: {}, model: { path: 'm', digest: 'sha256:1', diffId: 'sha256:2', parameters: { a: null } },
      code: [{ path: 'src' }],
    });
  });

  it('reports broken JSON and wrong types as KitErrors', () => {
    expect(caught(() => parseKitfileJson('{"manifestVersion":')).code).toBe('KITFILE_SYNTAX');
    const e = caught(() => parseKitfileJson('{"manifestVersion":"1.0.0","code":{"path":"x"}}'));
    expect(e.code).toBe('KITFILE_INVALID');
    expect(e.message).toMatch(/^config: code: .*expected array/);
  });
});
