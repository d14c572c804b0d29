import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { KitError } from '@modelkit/core';
import { parseRunFile } from '../../src/runfile/index.js';

/** Parses, and fails the property if anything but a KitError escapes. */
function parsesOrKitError(text: string): void {
  try {
    parseRunFile(text);
  } catch (e) {
    if (!(e instanceof KitError)) throw new Error(`non-KitError for ${JSON.stringify(text)}: ${String(e)}`);
    expect(e.code).toBe('INVALID_ARGUMENT');
    // Every line is located: file:line:col, or the file name for whole-file limits.
    for (const line of e.message.split('\n')) expect(line).toMatch(/^kitrun\.yaml(:\d+:\d+)?: \S/);
  }
}

const EXAMPLE = `setup: pip install -r src/requirements.txt
run: [python src/train.py --epochs 3]
env: {EPOCHS: "3"}
secrets: [HF_TOKEN]
resources: {cpu: 4, memory: 16GB.., gpu: A100:80GB:2}
inputs: [model, datasets:train, code]
outputs: {model: out/model.safetensors, files: [out/tok.json], metrics: out/metrics.json}
max_duration: 2h
retry: {on_events: [no_capacity], duration: 1h}
`;

const YAML_BITS = [
  'run:', 'outputs:', 'model:', 'resources:', 'gpu:', 'env:', 'secrets:', 'retry:', 'max_duration:', 'inputs:',
  ' ', '  ', '\n', '\n  ', '- ', '[', ']', '{', '}', ':', ',', '&a ', '*a', '!!int ', '!x ', '"', "'", '|', '>',
  '#', '---\n', '...', '..', '? ', '<<: ', '\t', '\\', '%YAML 1.2\n', 'A100', '80GB', '2', '0', 'true', '~', 'null',
  '2h', '/abs', '../x', '__proto__', 'constructor', '\u0000', '\uFEFF', '💥',
];

describe('parseRunFile on garbage only ever throws KitError', () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), parsesOrKitError), { numRuns: 500 });
  });

  it('strings of YAML punctuation and run-file words', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...YAML_BITS), { maxLength: 60 }), (bits) => parsesOrKitError(bits.join(''))), { numRuns: 1500 });
  });

  it('well-formed YAML of any shape under the known keys', () => {
    const key = fc.constantFrom('setup', 'run', 'env', 'secrets', 'resources', 'inputs', 'outputs', 'max_duration', 'retry', 'cpu', 'memory', 'gpu', 'model', 'files', 'metrics', 'on_events', 'duration', 'name', 'count');
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('tree'), { maxLength: 4 }), fc.dictionary(key, tie('tree'), { maxKeys: 5 })),
      leaf: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('A100:80GB:2', '2h', 'out/m', '1..2', 'model', 'nvidia')),
    }));
    fc.assert(fc.property(fc.dictionary(key, tree, { maxKeys: 9 }), (doc) => parsesOrKitError(stringify(doc))), { numRuns: 1000 });
  });

  it('a valid file with random edits', () => {
    const edit = fc.tuple(fc.nat(EXAMPLE.length), fc.nat(4), fc.constantFrom(...YAML_BITS));
    fc.assert(fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
      let text = EXAMPLE;
      for (const [at, del, insert] of edits) text = text.slice(0, at) + insert + text.slice(at + del);
      parsesOrKitError(text);
    }), { numRuns: 1500 });
  });
});

describe('round trips', () => {
  it('env values and commands come back exactly as the YAML writer quoted them', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);
    const command = fc.string({ minLength: 1 }).filter((s) => s.trim() !== '');
    fc.assert(fc.property(fc.dictionary(name, fc.string()), fc.array(command, { minLength: 1, maxLength: 3 }), (env, run) => {
      const rf = parseRunFile(stringify({ run, env, outputs: { model: 'm' } }));
      expect(rf.env).toEqual(env);
      expect(rf.run).toEqual(run);
    }), { numRuns: 500 });
  });
});
