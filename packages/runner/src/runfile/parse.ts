/**
 * Run-file text -> RunFile. Every problem in the file is reported at once, each with its
 * `file:line:col`, the field, what is wrong and what to write instead.
 */
import { problemsError, type SourcePos } from './problems.js';
import { Reader, present } from './read.js';
import { readCommands, readEnv, readImage, readInputs, readMaxDuration, readNodes, readRetry, readSecrets } from './fields.js';
import { readOutputs } from './outputs.js';
import { readResources } from './resources.js';
import { RUNFILE_KEYS, type RunFile } from './schema.js';
import { readYamlTree } from './yaml-tree.js';

const START: SourcePos = { line: 1, col: 1 };

/** Parses a run file; throws KitError INVALID_ARGUMENT listing every problem. */
export function parseRunFile(text: string, file = 'kitrun.yaml'): RunFile {
  const tree = readYamlTree(text, file);
  const r = new Reader();
  r.problems.push(...tree.problems);
  if (tree.root.kind === 'null') {
    r.report(START, 'run', 'is required, and the run file is empty; write at least run: python src/train.py and outputs: {model: out/model.safetensors}');
    throw problemsError(file, r.problems);
  }
  const top = r.mapping(tree.root, '', RUNFILE_KEYS.top, 'write keys such as run: and outputs: at the top level');
  if (!top) throw problemsError(file, r.problems);

  const at = (key: string): SourcePos => top.get(key)?.value.pos ?? START;
  const node = (key: string) => present(top, key);

  const setupNode = node('setup');
  const setup = setupNode ? readCommands(r, setupNode, 'setup', 'pip install -r src/requirements.txt') : [];
  const runNode = node('run');
  const run = runNode
    ? readCommands(r, runNode, 'run', 'python src/train.py')
    : r.report(at('run'), 'run', 'is required; write the training command, e.g. run: python src/train.py');
  if (runNode?.kind === 'seq' && runNode.items.length === 0) r.report(runNode.pos, 'run', 'is an empty list; write at least one command, e.g. run: python src/train.py');

  const envNode = node('env');
  const env = envNode ? readEnv(r, envNode) : {};
  const secretsNode = node('secrets');
  const secrets = secretsNode ? readSecrets(r, secretsNode, env) : [];
  const resourcesNode = node('resources');
  const resources = resourcesNode ? readResources(r, resourcesNode) : {};
  const inputsNode = node('inputs');
  const inputs = inputsNode ? readInputs(r, inputsNode) : undefined;
  const outputsNode = node('outputs');
  const outputs = outputsNode
    ? readOutputs(r, outputsNode, top.get('outputs')!.keyPos)
    : r.report(at('outputs'), 'outputs', 'is required; name the trained model, e.g. outputs: {model: out/model.safetensors}');
  const durationNode = node('max_duration');
  const maxDurationMs = durationNode ? readMaxDuration(r, durationNode) : undefined;
  const retryNode = node('retry');
  const retry = retryNode ? readRetry(r, retryNode) : undefined;
  const nodesNode = node('nodes');
  const nodes = nodesNode ? readNodes(r, nodesNode) : 1;
  const imageNode = node('image');
  const image = imageNode ? readImage(r, imageNode) : undefined;

  if (r.problems.length > 0 || !setup || !run || !env || !secrets || !resources || !outputs || nodes === undefined) throw problemsError(file, r.problems);
  return {
    setup, run, env, secrets, resources,
    ...(inputs !== undefined && { inputs }),
    outputs,
    ...(maxDurationMs !== undefined && { maxDurationMs }),
    nodes,
    ...(image !== undefined && { image }),
    ...(retry !== undefined && { retry }),
  };
}
