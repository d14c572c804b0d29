import { describe, expect, it } from 'vitest';
import { parseKitfile, parseKitfileJson } from '../../src/kitfile/parse.js';
import { kitfileToConfigJson, kitfileToYaml } from '../../src/kitfile/serialize.js';
import { loadCases } from '../helpers/conformance.js';

interface ParametersCase {
  description: string;
  kitfileYaml: string;
  kitfileJson: string;
}

const cases = loadCases<ParametersCase>('pkg', 'artifact', 'testdata', 'parameters');

describe('KitOps parameters vectors (pkg/artifact/testdata/parameters)', () => {
  it('has all 5 cases', () => {
    expect(cases).toHaveLength(5);
  });

  for (const { file, data } of cases) {
    describe(`${file}: ${data.description}`, () => {
      it('YAML -> config JSON is byte-identical to upstream', () => {
        expect(kitfileToConfigJson(parseKitfile(data.kitfileYaml))).toBe(data.kitfileJson);
      });

      it('config JSON -> Kitfile -> config JSON is stable', () => {
        expect(kitfileToConfigJson(parseKitfileJson(data.kitfileJson))).toBe(data.kitfileJson);
      });

      it('re-marshalled YAML parses back to the same Kitfile and JSON', () => {
        const kf = parseKitfile(data.kitfileYaml);
        const again = parseKitfile(kitfileToYaml(kf));
        expect(again).toEqual(kf);
        expect(kitfileToConfigJson(again)).toBe(data.kitfileJson);
      });
    });
  }
});
