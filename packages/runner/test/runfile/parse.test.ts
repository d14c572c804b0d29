import { describe, expect, it } from 'vitest';
import { KitError } from '@modelkit/core';
import { parseRunFile, type RunFile } from '../../src/runfile/index.js';

const MIN = 'run: python train.py\noutputs:\n  model: model.safetensors\n';

/** The file's problems, one line each, as thrown. */
function problems(text: string, file = 'kitrun.yaml'): string[] {
  try {
    parseRunFile(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(KitError);
    expect((e as KitError).code).toBe('INVALID_ARGUMENT');
    expect((e as KitError).exitCode).toBe(2);
    return (e as KitError).message.split('\n');
  }
  throw new Error('expected the run file to be refused');
}

describe('parseRunFile: fields', () => {
  it('reads the full example', () => {
    const text = `# kitrun.yaml
setup: pip install -r src/requirements.txt
run: python src/train.py --epochs 3
env:
  EPOCHS: "3"
secrets: [HF_TOKEN, WANDB_API_KEY]
resources:
  cpu: 4
  memory: 16GB
  gpu: A100:80GB:2
inputs: [model, datasets:train, code]
outputs:
  model: out/model.safetensors
  files: [out/tokenizer.json]
  metrics: out/metrics.json
max_duration: 2h
retry:
  on_events: [no_capacity, interruption, error]
  duration: 1h
`;
    expect(parseRunFile(text)).toEqual<RunFile>({
      setup: ['pip install -r src/requirements.txt'],
      run: ['python src/train.py --epochs 3'],
      env: { EPOCHS: '3' },
      secrets: ['HF_TOKEN', 'WANDB_API_KEY'],
      resources: {
        cpu: { min: 4, max: 4 },
        memoryMiB: { min: 16384, max: 16384 },
        gpu: { names: ['A100'], memoryMiB: { min: 81920, max: 81920 }, count: { min: 2, max: 2 } },
      },
      inputs: ['model', 'datasets:train', 'code'],
      outputs: { model: 'out/model.safetensors', files: ['out/tokenizer.json'], metrics: 'out/metrics.json' },
      maxDurationMs: 7_200_000,
      nodes: 1,
      retry: { onEvents: ['no_capacity', 'interruption', 'error'], durationMs: 3_600_000 },
    });
  });

  it('fills defaults for the smallest file', () => {
    expect(parseRunFile(MIN)).toEqual<RunFile>({
      setup: [], run: ['python train.py'], env: {}, secrets: [], resources: {},
      outputs: { model: 'model.safetensors', files: [] }, nodes: 1,
    });
  });

  it('nodes and image: a whole number of machines, an image reference', () => {
    expect(parseRunFile(`${MIN}nodes: 4\nimage: pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime\n`)).toMatchObject({ nodes: 4, image: 'pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime' });
    expect(() => parseRunFile(`${MIN}nodes: 0\n`)).toThrow(/kitrun\.yaml:4:8: nodes: "0" is not a number of nodes; write a whole number of machines, e.g. nodes: 2/);
    expect(() => parseRunFile(`${MIN}nodes: 1.5\n`)).toThrow(/nodes: "1\.5" is not a number of nodes/);
    expect(() => parseRunFile(`${MIN}image: "my image"\n`)).toThrow(/kitrun\.yaml:4:8: image: "my image" is not an image reference/);
  });

  it('reads JSON, which is YAML', () => {
    const rf = parseRunFile('{"run": ["a", "b"], "outputs": {"model": "m"}, "resources": {"gpu": 2}}');
    expect(rf.run).toEqual(['a', 'b']);
    expect(rf.resources.gpu).toEqual({ count: { min: 2, max: 2 } });
  });

  it('takes setup and run as a command or a list, block scalars as one command', () => {
    const rf = parseRunFile(`setup:
  - pip install torch
  - pip install -r requirements.txt
run: |
  python prep.py
  python train.py
outputs: {model: m}
`);
    expect(rf.setup).toEqual(['pip install torch', 'pip install -r requirements.txt']);
    expect(rf.run).toEqual(['python prep.py\npython train.py\n']);
  });

  it('keeps env values as written, numbers and booleans included', () => {
    const rf = parseRunFile(`${MIN}env:
  EPOCHS: 3
  LR: 1.0
  HEX: 0x10
  DEBUG: true
  EMPTY: ""
  QUOTED: 'it''s'
  _PRIVATE: x
`);
    expect(rf.env).toEqual({ EPOCHS: '3', LR: '1.0', HEX: '0x10', DEBUG: 'true', EMPTY: '', QUOTED: "it's", _PRIVATE: 'x' });
  });

  it('keeps a __proto__ env name as data', () => {
    const rf = parseRunFile(`${MIN}env:\n  __proto__: x\n`);
    expect(Object.hasOwn(rf.env, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(rf.env)).toBe(Object.prototype);
  });

  it('takes secrets as a name or a list', () => {
    expect(parseRunFile(`${MIN}secrets: HF_TOKEN\n`).secrets).toEqual(['HF_TOKEN']);
    expect(parseRunFile(`${MIN}secrets:\n  - HF_TOKEN\n  - WANDB_API_KEY\n`).secrets).toEqual(['HF_TOKEN', 'WANDB_API_KEY']);
  });

  it('treats a key with no value as absent where a value is optional', () => {
    expect(parseRunFile(`${MIN}setup:\nenv:\nsecrets: ~\nresources: null\ninputs:\nmax_duration:\nretry:\n`)).toEqual(parseRunFile(MIN));
  });

  describe('resources', () => {
    const res = (body: string) => parseRunFile(`${MIN}resources:\n${body}`).resources;

    it('cpu: counts and ranges', () => {
      expect(res('  cpu: 4\n').cpu).toEqual({ min: 4, max: 4 });
      expect(res('  cpu: 2..\n').cpu).toEqual({ min: 2 });
      expect(res('  cpu: ..8\n').cpu).toEqual({ min: 1, max: 8 });
      expect(res('  cpu: 2..8\n').cpu).toEqual({ min: 2, max: 8 });
    });

    it('memory: sizes and ranges in MiB', () => {
      expect(res('  memory: 16GB\n').memoryMiB).toEqual({ min: 16384, max: 16384 });
      expect(res('  memory: 8GB..\n').memoryMiB).toEqual({ min: 8192 });
      expect(res('  memory: ..64GB\n').memoryMiB).toEqual({ min: 0, max: 65536 });
      expect(res('  memory: 512MB..1TB\n').memoryMiB).toEqual({ min: 512, max: 1024 * 1024 });
      expect(res('  memory: 16\n').memoryMiB).toEqual({ min: 16384, max: 16384 });
    });

    it('gpu: a spec string or a bare count', () => {
      expect(res('  gpu: 24GB..:2\n').gpu).toEqual({ memoryMiB: { min: 24576 }, count: { min: 2, max: 2 } });
      expect(res('  gpu: 4\n').gpu).toEqual({ count: { min: 4, max: 4 } });
      expect(res('  gpu: "H100,A100:1..2"\n').gpu).toEqual({ names: ['H100', 'A100'], count: { min: 1, max: 2 } });
    });

    it('gpu: the mapping form', () => {
      expect(res('  gpu:\n    name: [A100, H100]\n    memory: 80GB..\n    count: 1..2\n    vendor: nvidia\n').gpu)
        .toEqual({ names: ['A100', 'H100'], memoryMiB: { min: 81920 }, count: { min: 1, max: 2 } });
      expect(res('  gpu: {name: A100}\n').gpu).toEqual({ names: ['A100'], count: { min: 1, max: 1 } });
      expect(res('  gpu: {name: "A100,H100", count: 2}\n').gpu).toEqual({ names: ['A100', 'H100'], count: { min: 2, max: 2 } });
      expect(res('  gpu: {memory: 40}\n').gpu).toEqual({ memoryMiB: { min: 40960, max: 40960 }, count: { min: 1, max: 1 } });
      expect(res('  gpu: {}\n').gpu).toEqual({ count: { min: 1, max: 1 } });
    });
  });

  it('inputs: filters as written, one or a list', () => {
    expect(parseRunFile(`${MIN}inputs: model\n`).inputs).toEqual(['model']);
    expect(parseRunFile(`${MIN}inputs: [model, "datasets:train,eval", "code,docs"]\n`).inputs).toEqual(['model', 'datasets:train,eval', 'code,docs']);
  });

  it('outputs: normalised paths, files as one or a list', () => {
    const rf = parseRunFile('run: x\noutputs:\n  model: ./out//model/\n  files: out/tok.json\n  metrics: out/model/metrics.json\n');
    expect(rf.outputs).toEqual({ model: 'out/model', files: ['out/tok.json'], metrics: 'out/model/metrics.json' });
    expect(parseRunFile('run: x\noutputs:\n  model: m\n  files: [a, b/c, "d e"]\n').outputs.files).toEqual(['a', 'b/c', 'd e']);
    expect(parseRunFile('run: x\noutputs:\n  model: ...\n').outputs.model).toBe('...');
  });

  it('max_duration: durations, plain seconds, and off', () => {
    expect(parseRunFile(`${MIN}max_duration: 90s\n`).maxDurationMs).toBe(90_000);
    expect(parseRunFile(`${MIN}max_duration: 30m\n`).maxDurationMs).toBe(1_800_000);
    expect(parseRunFile(`${MIN}max_duration: 1d\n`).maxDurationMs).toBe(86_400_000);
    expect(parseRunFile(`${MIN}max_duration: 3600\n`).maxDurationMs).toBe(3_600_000);
    expect(parseRunFile(`${MIN}max_duration: off\n`).maxDurationMs).toBeUndefined();
    expect(parseRunFile(`${MIN}max_duration: false\n`).maxDurationMs).toBeUndefined();
  });

  it('retry: true, false and the mapping with its defaults', () => {
    expect(parseRunFile(`${MIN}retry: true\n`).retry).toEqual({ onEvents: ['no_capacity', 'interruption'], durationMs: 3_600_000 });
    expect(parseRunFile(`${MIN}retry: false\n`).retry).toBeUndefined();
    expect(parseRunFile(`${MIN}retry:\n  on_events: [error]\n`).retry).toEqual({ onEvents: ['error'], durationMs: 3_600_000 });
    expect(parseRunFile(`${MIN}retry:\n  duration: 4h\n`).retry).toEqual({ onEvents: ['no_capacity', 'interruption'], durationMs: 14_400_000 });
    expect(parseRunFile(`${MIN}retry: {on_events: [no-capacity, no_capacity, error]}\n`).retry?.onEvents).toEqual(['no_capacity', 'error']);
    expect(parseRunFile(`${MIN}retry: {on_events: interruption}\n`).retry?.onEvents).toEqual(['interruption']);
  });

  it('accepts anchors and aliases', () => {
    const rf = parseRunFile('run: &c python train.py\nsetup: *c\nenv: &e {A: "1"}\noutputs: {model: m}\n');
    expect(rf.setup).toEqual(['python train.py']);
    expect(rf.env).toEqual({ A: '1' });
  });
});

describe('parseRunFile: errors carry file:line:col, the field, what is wrong and what to write', () => {
  it.each<[string, string, string[]]>([
    ['an empty file', '', ['kitrun.yaml:1:1: run: is required, and the run file is empty; write at least run: python src/train.py and outputs: {model: out/model.safetensors}']],
    ['only comments', '# nothing\n', ['kitrun.yaml:1:1: run: is required, and the run file is empty; write at least run: python src/train.py and outputs: {model: out/model.safetensors}']],
    ['a list at the top', '- run\n', ['kitrun.yaml:1:1: the run file: must be a mapping, got a list; write keys such as run: and outputs: at the top level']],
    ['a scalar at the top', 'python train.py\n', ['kitrun.yaml:1:1: the run file: must be a mapping, got the value "python train.py"; write keys such as run: and outputs: at the top level']],
    ['run and outputs missing', 'env: {A: b}\n', [
      'kitrun.yaml:1:1: run: is required; write the training command, e.g. run: python src/train.py',
      'kitrun.yaml:1:1: outputs: is required; name the trained model, e.g. outputs: {model: out/model.safetensors}',
    ]],
    ['run with no value', 'run:\noutputs: {model: m}\n', ['kitrun.yaml:1:5: run: is required; write the training command, e.g. run: python src/train.py']],
    ['run empty list', 'run: []\noutputs: {model: m}\n', ['kitrun.yaml:1:6: run: is an empty list; write at least one command, e.g. run: python src/train.py']],
    ['run empty string', 'run: ""\noutputs: {model: m}\n', ['kitrun.yaml:1:6: run: is empty; write a shell command or a list of them, e.g. run: python src/train.py']],
    ['run item empty', 'run:\n  - python a.py\n  -\noutputs: {model: m}\n', ['kitrun.yaml:3:4: run[1]: is empty; write a shell command or a list of them, e.g. run: python src/train.py']],
    ['run a mapping', 'run: {python: train.py}\noutputs: {model: m}\n', ['kitrun.yaml:1:6: run: must be a value or a list of values, got a mapping; write a shell command or a list of them, e.g. run: python src/train.py']],
    ['setup item a list', 'setup: [[a]]\nrun: x\noutputs: {model: m}\n', ['kitrun.yaml:1:9: setup[0]: must be a single value, got a list; write a shell command or a list of them, e.g. setup: pip install -r src/requirements.txt']],
    ['an unknown key', `${MIN}maxduration: 2h\n`, ['kitrun.yaml:4:1: maxduration: unknown key at the top level; did you mean max_duration? (allowed: setup, run, env, secrets, resources, inputs, outputs, max_duration, retry, nodes, image)']],
    ['camelCase key', `${MIN}maxDuration: 2h\n`, ['kitrun.yaml:4:1: maxDuration: unknown key at the top level; did you mean max_duration? (allowed: setup, run, env, secrets, resources, inputs, outputs, max_duration, retry, nodes, image)']],
    ['a key far from any', `${MIN}docker_image_name: pytorch\n`, ['kitrun.yaml:4:1: docker_image_name: unknown key at the top level; remove it (allowed: setup, run, env, secrets, resources, inputs, outputs, max_duration, retry, nodes, image)']],
    ['dstack commands', 'commands: [python train.py]\noutputs: {model: m}\n', [
      'kitrun.yaml:1:1: commands: unknown key at the top level; write the training commands under run (and install steps under setup) (allowed: setup, run, env, secrets, resources, inputs, outputs, max_duration, retry, nodes, image)',
      'kitrun.yaml:1:1: run: is required; write the training command, e.g. run: python src/train.py',
    ]],
    ['a merge key', `${MIN}resources:\n  <<: {cpu: 2}\n`, ['kitrun.yaml:5:3: resources.<<: unknown key in resources; YAML merge keys are not supported in a run file; write the keys out (allowed: cpu, memory, gpu)']],
    ['an unknown resources key', `${MIN}resources:\n  gpus: 2\n`, ['kitrun.yaml:5:3: resources.gpus: unknown key in resources; did you mean gpu? (allowed: cpu, memory, gpu)']],
    ['dstack disk', `${MIN}resources:\n  disk: 100GB\n`, ['kitrun.yaml:5:3: resources.disk: unknown key in resources; remove it (allowed: cpu, memory, gpu)']],
    ['resources a list', `${MIN}resources: [gpu]\n`, ['kitrun.yaml:4:12: resources: must be a mapping, got a list; write cpu, memory and gpu under it, e.g. gpu: A100:80GB:2']],
    ['bad cpu', `${MIN}resources:\n  cpu: x86:4\n`, ['kitrun.yaml:5:8: resources.cpu: "x86:4" is not a count; write a whole number like 2, or a range like 1..2, 2.. or ..4']],
    ['cpu zero', `${MIN}resources:\n  cpu: 0\n`, ['kitrun.yaml:5:8: resources.cpu: "0": counts start at 1; write a whole number like 2, or a range like 1..2, 2.. or ..4']],
    ['cpu a list', `${MIN}resources:\n  cpu: [2]\n`, ['kitrun.yaml:5:8: resources.cpu: must be a single value, got a list; write a number of cores like 4, or a range like 2..']],
    ['bad memory', `${MIN}resources:\n  memory: 16XB\n`, ['kitrun.yaml:5:11: resources.memory: "16XB" is not a size; write a number with MB, GB or TB, e.g. 16GB, or a range like 24GB.., ..80GB or 24GB..80GB']],
    ['memory out of order', `${MIN}resources:\n  memory: 64GB..8GB\n`, ['kitrun.yaml:5:11: resources.memory: "64GB..8GB" has its minimum above its maximum; write 8GB..64GB']],
    ['gpu token twice', `${MIN}resources:\n  gpu: A100:H100\n`, ['kitrun.yaml:5:8: resources.gpu: "A100:H100" gives the GPU name twice ("A100" and "H100"); list alternative names with commas, e.g. A100,H100']],
    ['gpu bad memory token', `${MIN}resources:\n  gpu: A100:80XB:2\n`, ['kitrun.yaml:5:8: resources.gpu: "80XB" is not a size; write a number with MB, GB or TB, e.g. 16GB, or a range like 24GB.., ..80GB or 24GB..80GB']],
    ['gpu amd', `${MIN}resources:\n  gpu: amd:MI300X\n`, ['kitrun.yaml:5:8: resources.gpu: "amd" GPUs are not supported: this runner finds GPUs with nvidia-smi; write nvidia or leave the vendor out']],
    ['gpu a list', `${MIN}resources:\n  gpu: [A100]\n`, ['kitrun.yaml:5:8: resources.gpu: must be a GPU spec or a mapping, got a list; write e.g. A100:80GB:2, H100,A100:1..2, 24GB.. or 2, or name: [A100, H100] with memory and count']],
    ['gpu mapping unknown key', `${MIN}resources:\n  gpu:\n    name: A100\n    total_memory: 160GB\n`, ['kitrun.yaml:7:5: resources.gpu.total_memory: unknown key in resources.gpu; remove it (allowed: name, memory, count, vendor)']],
    ['gpu mapping bad fields', `${MIN}resources:\n  gpu:\n    name: [A100, 80GB]\n    memory: lots\n    count: 0\n    vendor: intel\n`, [
      'kitrun.yaml:6:18: resources.gpu.name[1]: "80GB" is not a GPU name; names start with a letter; separate a memory or count from the names with ":", e.g. A100:80GB',
      'kitrun.yaml:7:13: resources.gpu.memory: "lots" is not a size; write a number with MB, GB or TB, e.g. 16GB, or a range like 24GB.., ..80GB or 24GB..80GB',
      'kitrun.yaml:8:12: resources.gpu.count: "0": counts start at 1; write a whole number like 2, or a range like 1..2, 2.. or ..4',
      'kitrun.yaml:9:13: resources.gpu.vendor: "intel" GPUs are not supported: this runner finds GPUs with nvidia-smi; write nvidia or leave the vendor out',
    ]],
    ['env a list', `${MIN}env: [A=1]\n`, ['kitrun.yaml:4:6: env: must be a mapping, got a list; write NAME: value lines, e.g. EPOCHS: "3"']],
    ['env bad name', `${MIN}env:\n  1EPOCHS: "3"\n  MY-VAR: x\n`, [
      'kitrun.yaml:5:3: env.1EPOCHS: "1EPOCHS" is not a valid environment variable name; names are letters, digits and "_", not starting with a digit, e.g. HF_TOKEN',
      'kitrun.yaml:6:3: env.MY-VAR: "MY-VAR" is not a valid environment variable name; names are letters, digits and "_", not starting with a digit, e.g. HF_TOKEN',
    ]],
    ['env no value', `${MIN}env:\n  HF_TOKEN:\n`, ['kitrun.yaml:5:12: env.HF_TOKEN: has no value; write HF_TOKEN: "" for an empty value, or list HF_TOKEN under secrets to take it from the caller\'s environment']],
    ['env nested', `${MIN}env:\n  A: {b: c}\n`, ['kitrun.yaml:5:6: env.A: must be a single value, got a mapping; write A: value (quote it if it contains ": " or starts with a special character)']],
    ['secret bad name', `${MIN}secrets: [HF-TOKEN]\n`, ['kitrun.yaml:4:11: secrets[0]: "HF-TOKEN" is not a valid environment variable name; names are letters, digits and "_", not starting with a digit, e.g. HF_TOKEN']],
    ['secret twice', `${MIN}secrets: [A, A]\n`, ['kitrun.yaml:4:14: secrets[1]: A is listed twice; list each secret once']],
    ['secret in env', `${MIN}env:\n  HF_TOKEN: hf_abc\nsecrets:\n  - HF_TOKEN\n`, ['kitrun.yaml:7:5: secrets[0]: HF_TOKEN is also set in env; a secret\'s value comes only from the caller\'s environment, so remove it from env (or from secrets if it is not secret)']],
    ['secrets a mapping', `${MIN}secrets: {A: b}\n`, ['kitrun.yaml:4:10: secrets: must be a value or a list of values, got a mapping; list the names of variables to take from the caller\'s environment, e.g. secrets: [HF_TOKEN]']],
    ['inputs bad type', `${MIN}inputs: [model, weights]\n`, ['kitrun.yaml:4:17: inputs[1]: unknown filter type "weights" in "weights": use one of kitfile, model, datasets, code, docs, prompts, mcpservers']],
    ['inputs empty list', `${MIN}inputs: []\n`, ['kitrun.yaml:4:9: inputs: an empty list selects no layers; leave out inputs to materialize every layer, or list the layers to use']],
    ['inputs empty filter', `${MIN}inputs: [":train"]\n`, ['kitrun.yaml:4:10: inputs[0]: empty filter ":train": use TYPE[,TYPE][:NAME[,NAME]] with TYPE one of kitfile, model, datasets, code, docs, prompts, mcpservers']],
    ['outputs missing model', 'run: x\noutputs:\n  files: [a]\n', ['kitrun.yaml:2:1: outputs.model: is required; write the path of the trained model under the outputs dir, e.g. model: out/model.safetensors']],
    ['outputs model no value', 'run: x\noutputs:\n  model:\n', ['kitrun.yaml:3:9: outputs.model: is required; write the path of the trained model under the outputs dir, e.g. model: out/model.safetensors']],
    ['outputs a string', 'run: x\noutputs: out/model\n', ['kitrun.yaml:2:10: outputs: must be a mapping, got the value "out/model"; write model: PATH under it, e.g. model: out/model.safetensors']],
    ['outputs unknown key', 'run: x\noutputs:\n  model: m\n  metric: m.json\n', ['kitrun.yaml:4:3: outputs.metric: unknown key in outputs; did you mean metrics? (allowed: model, files, metrics)']],
    ['output path escapes', 'run: x\noutputs:\n  model: ../model.bin\n', ['kitrun.yaml:3:10: outputs.model: "../model.bin" uses ".." to leave the outputs dir; write a path relative to the outputs dir, e.g. out/tokenizer.json']],
    ['output path escapes midway', 'run: x\noutputs:\n  model: out/../../x\n', ['kitrun.yaml:3:10: outputs.model: "out/../../x" uses ".." to leave the outputs dir; write a path relative to the outputs dir, e.g. out/tokenizer.json']],
    ['output path absolute', 'run: x\noutputs:\n  model: /tmp/model\n', ['kitrun.yaml:3:10: outputs.model: "/tmp/model" is absolute; write a path relative to the outputs dir, e.g. out/tokenizer.json']],
    ['output path windows', 'run: x\noutputs:\n  model: m\n  files: ["C:/x"]\n', ['kitrun.yaml:4:11: outputs.files[0]: "C:/x" is absolute; write a path relative to the outputs dir, e.g. out/tokenizer.json']],
    ['output path backslash', 'run: x\noutputs:\n  model: m\n  metrics: out\\m.json\n', ['kitrun.yaml:4:12: outputs.metrics: "out\\\\m.json" contains "\\"; separate directories with "/"']],
    ['output the dir itself', 'run: x\noutputs:\n  model: ./\n', ['kitrun.yaml:3:10: outputs.model: "./" names the outputs dir itself; name a file or directory inside it']],
    ['output path empty', 'run: x\noutputs:\n  model: " "\n', ['kitrun.yaml:3:10: outputs.model: is empty; write a path relative to the outputs dir, e.g. out/tokenizer.json']],
    ['output repeated', 'run: x\noutputs:\n  model: out/model\n  files: [out/tok.json, ./out/model/]\n', ['kitrun.yaml:4:25: outputs.files[1]: "out/model" is the same path as outputs.model ("out/model"), so it would be packed twice; list each output once']],
    ['output nested', 'run: x\noutputs:\n  model: out/model\n  files:\n    - out\n    - out/model/tok.json\n', [
      'kitrun.yaml:5:7: outputs.files[0]: "out" contains outputs.model ("out/model"), so it would be packed twice; list each output once',
      'kitrun.yaml:6:7: outputs.files[1]: "out/model/tok.json" is inside outputs.model ("out/model"), so it would be packed twice; list each output once',
    ]],
    ['metrics same as model', 'run: x\noutputs:\n  model: m.json\n  metrics: m.json\n', ['kitrun.yaml:4:12: outputs.metrics: "m.json" is the same path as outputs.model; metrics are a JSON file of their own']],
    ['bad max_duration', `${MIN}max_duration: 1h30m\n`, ['kitrun.yaml:4:15: max_duration: "1h30m" is not a duration; dstack durations take one unit; write 90m']],
    ['zero max_duration', `${MIN}max_duration: 0\n`, ['kitrun.yaml:4:15: max_duration: "0" is no time at all; a duration must be longer than 0']],
    ['max_duration a list', `${MIN}max_duration: [2h]\n`, ['kitrun.yaml:4:15: max_duration: must be a single value, got a list; write a duration like 2h, or off']],
    ['retry a word', `${MIN}retry: yes\n`, ['kitrun.yaml:4:8: retry: must be a mapping, got the value "yes"; write retry: true, or on_events and duration under it, e.g. on_events: [no_capacity, interruption]']],
    ['retry bad event', `${MIN}retry:\n  on_events: [no_capacity, preemption]\n`, ['kitrun.yaml:5:28: retry.on_events[1]: "preemption" is not a retry event; list events from no_capacity, interruption, error, e.g. on_events: [no_capacity, interruption]']],
    ['retry no events', `${MIN}retry:\n  on_events: []\n`, ['kitrun.yaml:5:14: retry.on_events: is empty, so nothing would be retried; list events, or leave out retry']],
    ['retry bad duration', `${MIN}retry:\n  duration: forever\n`, ['kitrun.yaml:5:13: retry.duration: "forever" is not a duration; write a whole number with s, m, h, d or w (90s, 30m, 2h, 1d), or plain seconds']],
    ['retry unknown key', `${MIN}retry:\n  on-events: [error]\n`, ['kitrun.yaml:5:3: retry.on-events: unknown key in retry; did you mean on_events? (allowed: on_events, duration)']],
    ['a YAML tag', 'run: !!int 3\noutputs: {model: m}\n', ['kitrun.yaml:1:12: run: YAML tag !!int is not supported in a run file; remove it (quote the value if it must stay text)']],
    ['a custom tag', `${MIN}env:\n  A: !secret x\n`, ['kitrun.yaml:5:14: env.A: YAML tag !secret is not supported in a run file; remove it (quote the value if it must stay text)']],
    ['an alias cycle', 'run: &a [*a]\noutputs: {model: m}\n', [
      'kitrun.yaml:1:9: run[0]: must be a single value, got a list; write a shell command or a list of them, e.g. run: python src/train.py',
      'kitrun.yaml:1:10: run[0][0]: alias *a is used inside its own anchor; a run file cannot hold a cycle, so copy the content instead',
    ]],
    ['a non-scalar key', `${MIN}? [a, b]\n: c\n`, ['kitrun.yaml:4:3: the run file: a key here is not a plain name; write simple "name: value" keys']],
  ])('%s', (_name, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });

  it('allows !!str, which only says "text"', () => {
    expect(parseRunFile(`${MIN}env:\n  A: !!str 3\n`).env).toEqual({ A: '3' });
  });

  it('reports YAML syntax errors with their position', () => {
    expect(problems('run: [a\noutputs: {model: m}\n')[0]).toMatch(/^kitrun\.yaml:\d+:\d+: YAML syntax: /);
    expect(problems('run: x\nrun: y\noutputs: {model: m}\n')).toEqual([
      'kitrun.yaml:2:1: YAML syntax: Map keys must be unique; each key may appear once per mapping: remove or merge the repeated key',
    ]);
    expect(problems('run: x\n\toutputs: {model: m}\n')[0]).toMatch(/^kitrun\.yaml:2:1: YAML syntax: .*tabs/);
  });

  it('refuses a second document', () => {
    expect(problems(`${MIN}---\nrun: y\n`)).toEqual([
      'kitrun.yaml:5:1: YAML syntax: a second YAML document starts here, but a run file is one document; remove the "---" separator and merge the content',
    ]);
    expect(parseRunFile(`---\n${MIN}...\n`).run).toEqual(['python train.py']);
  });

  it('refuses alias bombs', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const e = (() => { try { parseRunFile(`run: x\noutputs: {model: m}\nsetup: *a7\n${lines.join('\n')}\n`); } catch (err) { return err as KitError; } })();
    expect(e?.code).toBe('INVALID_ARGUMENT');
    expect(e?.message).toContain('expands to more than 100000 YAML nodes');
  });

  it('reports every problem at once, in source order, under the given file name', () => {
    const text = `run:
maxduration: 2h
resources:
  gpu: A100:xx
  cpu: 0
env:
  B:
secrets: [B]
outputs:
  model: ../x
`;
    expect(problems(text, 'src/kitrun.yaml')).toEqual([
      'src/kitrun.yaml:1:5: run: is required; write the training command, e.g. run: python src/train.py',
      'src/kitrun.yaml:2:1: maxduration: unknown key at the top level; did you mean max_duration? (allowed: setup, run, env, secrets, resources, inputs, outputs, max_duration, retry, nodes, image)',
      'src/kitrun.yaml:4:8: resources.gpu: "A100:xx" gives the GPU name twice ("A100" and "xx"); list alternative names with commas, e.g. A100,H100',
      'src/kitrun.yaml:5:8: resources.cpu: "0": counts start at 1; write a whole number like 2, or a range like 1..2, 2.. or ..4',
      'src/kitrun.yaml:7:5: env.B: has no value; write B: "" for an empty value, or list B under secrets to take it from the caller\'s environment',
      'src/kitrun.yaml:10:10: outputs.model: "../x" uses ".." to leave the outputs dir; write a path relative to the outputs dir, e.g. out/tokenizer.json',
    ]);
  });
});
