import { describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import { parseKitfile, parseKitfileJson } from '../../src/kitfile/parse.js';
import { kitfileToConfigJson, kitfileToYaml } from '../../src/kitfile/serialize.js';
import type { Kitfile } from '../../src/kitfile/types.js';

const SAMPLE = `manifestVersion: 1.0.0
package:
  name: sentiment
  version: 1.2.0
  license: Apache-2.0
  authors: [Jane Doe]
model:
  name: sentiment-bert
  path: models/bert
  framework: pytorch
  format: safetensors
  parts:
    - name: tokenizer
      path: models/bert/tokenizer   # nested inside model.path: allowed
      type: tokenizer
  parameters:
    epochs: 3
code:
  - path: src
    description: training code
datasets:
  - name: train
    path: data/train.csv
docs:
  - path: README.md
`;

describe('kitfileToConfigJson', () => {
  it('matches the reference config (kitops-format.md §2.2): struct order, digests last', () => {
    const kf = parseKitfile(SAMPLE);
    const d = { digest: 'sha256:d', diffId: 'sha256:i' };
    kf.model = { ...kf.model!, ...d, parts: kf.model!.parts!.map((p) => ({ ...p, ...d })) };
    kf.code = kf.code!.map((c) => ({ ...d, ...c })); // insertion order must not matter
    kf.datasets = kf.datasets!.map((x) => ({ ...x, ...d }));
    kf.docs = kf.docs!.map((x) => ({ ...x, ...d }));
    expect(kitfileToConfigJson(kf)).toBe(
      '{"manifestVersion":"1.0.0","package":{"name":"sentiment","version":"1.2.0","license":"Apache-2.0","authors":["Jane Doe"]},' +
        '"model":{"name":"sentiment-bert","path":"models/bert","framework":"pytorch","format":"safetensors","parts":[{"name":"tokenizer",' +
        '"path":"models/bert/tokenizer","type":"tokenizer","digest":"sha256:d","diffId":"sha256:i"}],"parameters":{"epochs":3},' +
        '"digest":"sha256:d","diffId":"sha256:i"},"code":[{"path":"src","description":"training code","digest":"sha256:d","diffId":"sha256:i"}],' +
        '"datasets":[{"name":"train","path":"data/train.csv","digest":"sha256:d","diffId":"sha256:i"}],' +
        '"docs":[{"path":"README.md","digest":"sha256:d","diffId":"sha256:i"}]}',
    );
  });

  it('always writes manifestVersion, package and docs[].path; omits empty values', () => {
    const kf: Kitfile = { manifestVersion: '', package: {}, code: [], docs: [{ path: '' }], datasets: [{ name: '', remotePath: 'x' }] };
    expect(kitfileToConfigJson(kf)).toBe('{"manifestVersion":"","package":{},"datasets":[{"remotePath":"x"}],"docs":[{"path":""}]}');
  });

  it('keeps newer sections in Go order: prompts then mcpServers, dataset remote fields after path', () => {
    const kf = parseKitfile(
      'mcpServers:\n  - {path: s.mcpb, name: s}\nprompts:\n  - {description: d, path: p, name: n}\nmanifestVersion: 1.0.0\n' +
        'datasets:\n  - {license: l, remoteHash: h, remotePath: s3://b/k, path: d, name: n}\n',
    );
    expect(kitfileToConfigJson(kf)).toBe(
      '{"manifestVersion":"1.0.0","package":{},"datasets":[{"name":"n","path":"d","remotePath":"s3://b/k","remoteHash":"h","license":"l"}],' +
        '"prompts":[{"name":"n","path":"p","description":"d"}],"mcpServers":[{"name":"s","path":"s.mcpb"}]}',
    );
  });

  it('escapes like Go (HTML-safe, U+2028/2029, \\b \\f, lone surrogates) and sorts keys by bytes', () => {
    const kf: Kitfile = {
      manifestVersion: '1.0.0',
      package: { description: 'a<b>&c "q" \\ \n\t\r\b\f\u0001\u007f\u2028\u2029é😀\ud800' },
      model: { parameters: { b: 1, a: { 'z': 0, 'é': 1, 'Z': 2, '😀': 3, '\uffff': 4 }, '': [true, null, 'x'] } },
    };
    expect(kitfileToConfigJson(kf)).toBe(
      '{"manifestVersion":"1.0.0","package":{"description":"a\\u003cb\\u003e\\u0026c \\"q\\" \\\\ \\n\\t\\r\\b\\f\\u0001\u007f\\u2028\\u2029é😀\\ufffd"},' +
        '"model":{"parameters":{"":[true,null,"x"],"a":{"Z":2,"z":0,"é":1,"\uffff":4,"😀":3},"b":1}}}',
    );
  });

  it('prints numbers as Go prints float64 and int64', () => {
    const kf = parseKitfile(
      'manifestVersion: 1.0.0\nmodel:\n  parameters: [0xFF, 1.2e+3, 1e21, 1e20, 0.000001, 1e-7, 1.5e-10, -0, 0.1, 1.0, 9223372036854775807, -9223372036854775808, 18446744073709551615, 18446744073709551616]\n',
    );
    expect(kitfileToConfigJson(kf)).toBe(
      '{"manifestVersion":"1.0.0","package":{},"model":{"parameters":[255,1200,1e+21,100000000000000000000,0.000001,1e-7,1.5e-10,-0,0.1,1,' +
        '9223372036854775807,-9223372036854775808,18446744073709551615,18446744073709552000]}}',
    );
  });

  it('refuses NaN and infinities, as Go json.Marshal does', () => {
    const kf: Kitfile = { manifestVersion: '1.0.0', package: {}, model: { parameters: { x: NaN } } };
    expect(() => kitfileToConfigJson(kf)).toThrow(KitError);
  });
});

describe('kitfileToYaml', () => {
  it('writes 2-space YAML in struct order with flow authors and no digests', () => {
    const kf = parseKitfile(SAMPLE);
    kf.model!.digest = 'sha256:d';
    kf.code![0].diffId = 'sha256:i';
    expect(kitfileToYaml(kf)).toBe(`manifestVersion: 1.0.0
package:
  name: sentiment
  version: 1.2.0
  license: Apache-2.0
  authors: [Jane Doe]
model:
  name: sentiment-bert
  path: models/bert
  framework: pytorch
  format: safetensors
  parts:
    - name: tokenizer
      path: models/bert/tokenizer
      type: tokenizer
  parameters:
    epochs: 3
code:
  - path: src
    description: training code
datasets:
  - name: train
    path: data/train.csv
docs:
  - path: README.md
`);
  });

  it('omits an empty package (yaml.v3 omitempty) and quotes strings that would read as other types', () => {
    const kf: Kitfile = {
      manifestVersion: '1.0',
      package: {},
      model: { version: '1.10', name: 'null', parameters: { s: ['0b101', '1_000', '017', 'True', '-0x10', '~', 'yes', 'line1\nline2'] } },
    };
    const yaml = kitfileToYaml(kf);
    expect(yaml).not.toContain('package');
    expect(yaml).toContain('manifestVersion: "1.0"');
    expect(parseKitfile(yaml)).toEqual(kf);
  });

  it('round-trips YAML -> config JSON -> YAML', () => {
    const original = parseKitfile(SAMPLE.replace('epochs: 3', 'epochs: 3\n    lr: 0.001\n    layers: [1, 2, {x: "<y>"}]'));
    const fromJson = parseKitfileJson(kitfileToConfigJson(original));
    const yaml = kitfileToYaml(fromJson);
    const back = parseKitfile(yaml);
    expect(back).toEqual(original);
    expect(kitfileToConfigJson(back)).toBe(kitfileToConfigJson(original));
  });
});
