/**
 * spec/runfile.md and spec/runfile.schema.json against the parser: the documented examples parse
 * to what the document says, and the JSON Schema agrees with the parser on what is valid.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseGpuSpec, parseRunFile } from '../../src/runfile/index.js';

const SPEC = join(import.meta.dirname, '../../../../spec');
const doc = readFileSync(join(SPEC, 'runfile.md'), 'utf8');
const schema = JSON.parse(readFileSync(join(SPEC, 'runfile.schema.json'), 'utf8')) as object;
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
const MIN = 'run: python train.py\noutputs:\n  model: model.safetensors\n';

const blocks = (lang: string): string[] => [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
const schemaValid = (yamlText: string): boolean => validate(parseYaml(yamlText) as unknown) as boolean;

describe('spec/runfile.md', () => {
  const yamlBlocks = blocks('yaml');

  it('every YAML example parses, and validates against the schema', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(5);
    for (const block of yamlBlocks) {
      // Snippets of one section are completed with the smallest run file; the retry block shows
      // two alternatives, so each is checked on its own.
      const parts = block.startsWith('retry: true') ? block.split(/\n(?=retry:)/) : [block];
      for (const part of parts) {
        const text = /^run:|\nrun:/.test(part) ? part : part.startsWith('outputs:') ? `run: x\n${part}` : `${MIN}${part}`;
        expect(() => parseRunFile(text), text).not.toThrow();
        expect(schemaValid(text), `${text}\n${JSON.stringify(validate.errors)}`).toBe(true);
      }
    }
  });

  it('shows the errors the parser gives for the edited example', () => {
    const example = yamlBlocks[0].replace('A100:80GB:2', 'A100:80XB:2').replace('max_duration:', 'maxduration:');
    const shown = blocks('text')[0].trim().split('\n').map((l) => l.trim());
    expect(() => parseRunFile(example)).toThrow(shown.join('\n'));
  });

  it('the GPU spec table says what parseGpuSpec returns', () => {
    const rows = [...doc.matchAll(/^\| `([^`]+)` \| (any|`\[[^\]]*\]`) \| (any|[\d.]+) \| ([\d.]+) \|$/gm)];
    expect(rows.length).toBe(7);
    const range = (text: string) => {
      const [min, max] = text.split('..');
      return { ...(min !== '' && { min: Number(min) }), ...(max !== '' && { max: Number(max) }) };
    };
    for (const [, spec, names, memory, count] of rows) {
      expect(parseGpuSpec(spec), spec).toEqual({
        ...(names !== 'any' && { names: names.slice(2, -2).split(', ') }),
        ...(memory !== 'any' && { memoryMiB: range(memory) }),
        count: range(count),
      });
    }
  });
});

describe('spec/runfile.schema.json', () => {
  it.each([
    ['no run', 'outputs: {model: m}\n'],
    ['no outputs', 'run: x\n'],
    ['no model', 'run: x\noutputs: {files: [a]}\n'],
    ['an unknown key', `${MIN}maxduration: 2h\n`],
    ['a bad GPU spec', `${MIN}resources: {gpu: "A100:80XB"}\n`],
    ['a GPU count of 0', `${MIN}resources: {gpu: 0}\n`],
    ['a bad cpu', `${MIN}resources: {cpu: "x86:4"}\n`],
    ['a bad memory', `${MIN}resources: {memory: 16XB}\n`],
    ['a bad env name', `${MIN}env: {1A: x}\n`],
    ['a nested env value', `${MIN}env: {A: [x]}\n`],
    ['a bad secret', `${MIN}secrets: [HF-TOKEN]\n`],
    ['an empty inputs list', `${MIN}inputs: []\n`],
    ['an unknown filter', `${MIN}inputs: [weights]\n`],
    ['an absolute output', 'run: x\noutputs: {model: /m}\n'],
    ['an escaping output', 'run: x\noutputs: {model: a/../../m}\n'],
    ['the outputs dir itself', 'run: x\noutputs: {model: ./}\n'],
    ['a compound duration', `${MIN}max_duration: 1h30m\n`],
    ['a bad retry event', `${MIN}retry: {on_events: [preemption]}\n`],
    ['empty retry events', `${MIN}retry: {on_events: []}\n`],
    ['an empty run list', 'run: []\noutputs: {model: m}\n'],
  ])('rejects %s, as the parser does', (_name, text) => {
    expect(() => parseRunFile(text)).toThrow();
    expect(schemaValid(text)).toBe(false);
  });

  it('accepts every GPU spec the parser accepts (written without spaces)', () => {
    const token = fc.oneof(
      fc.constantFrom('A100', 'H100,A100', 'RTX4090', 'L40S', 'nvidia', 'NVIDIA'),
      fc.constantFrom('80GB', '24GB..', '..40GB', '24GB..80GB', '24..80GB', '512MB', '1.5TB', '16gib'),
      fc.constantFrom('1', '2', '1..2', '2..', '..4', '8'),
    );
    fc.assert(fc.property(fc.array(token, { minLength: 1, maxLength: 4 }), (tokens) => {
      const spec = tokens.join(':');
      let parsed = true;
      try { parseGpuSpec(spec); } catch { parsed = false; }
      // The schema cannot say "each kind once", so it only has to accept what the parser accepts.
      if (parsed) expect(schemaValid(`${MIN}resources: {gpu: "${spec}"}\n`), spec).toBe(true);
    }));
  });
});
