import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KitError, kitfileToYaml, pack, type Kitfile, type LocalStore, type ModelKitContents, type PackResult, type ReusedLayer } from '@modelkit/core';
import type { RunFile } from './runfile/index.js';

/** Where the trained model and its extras sit in the output kit: under the run's outputs directory. */
export interface OutputPlan {
  kitfile: Kitfile;
  reuse: ReusedLayer[];
}

/**
 * The output ModelKit's Kitfile: the input's, with the trained model (and extra output files as
 * its parts) in place of the input model, the version marked with the run, lineage and metrics in
 * the model's parameters. Code, datasets, docs and prompts stay, reused by digest.
 */
export async function planOutputs(input: ModelKitContents, runFile: RunFile, outputsDir: string, lineage: { reference: string; digest: string; runId: string }): Promise<OutputPlan> {
  const modelPath = runFile.outputs.model;
  if (!(await stat(join(outputsDir, modelPath)).catch(() => undefined))) {
    throw new KitError('NOT_FOUND', `the run did not write its model: outputs.model "${modelPath}" is not in the outputs directory ($KIT_OUTPUT_DIR)`);
  }
  for (const file of runFile.outputs.files) {
    if (!(await stat(join(outputsDir, file)).catch(() => undefined))) {
      throw new KitError('NOT_FOUND', `the run did not write outputs.files "${file}" in the outputs directory ($KIT_OUTPUT_DIR)`);
    }
  }
  let metrics: unknown;
  if (runFile.outputs.metrics) {
    const path = join(outputsDir, runFile.outputs.metrics);
    try {
      metrics = JSON.parse(await readFile(path, 'utf8'));
    } catch (e) {
      throw new KitError('INVALID_ARGUMENT', `outputs.metrics "${runFile.outputs.metrics}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; the run must write a JSON file there`);
    }
  }

  const old = structuredClone(input.kitfile);
  const version = (v: string | undefined) => `${(v ?? '0.0.0').replace(/\+.*$/, '')}+${lineage.runId}`;
  const kitfile: Kitfile = { ...old, manifestVersion: old.manifestVersion ?? '1.0.0' };
  if (kitfile.package) kitfile.package = { ...kitfile.package, version: version(kitfile.package.version) };
  kitfile.model = {
    ...(old.model ?? {}),
    path: modelPath,
    version: version(old.model?.version),
    parts: runFile.outputs.files.map((path) => ({ path })),
    parameters: {
      ...((old.model?.parameters as Record<string, unknown> | undefined) ?? {}),
      lineage: { parent: `${lineage.reference}@${lineage.digest}`, run: lineage.runId },
      ...(metrics === undefined ? {} : { metrics }),
    },
  };
  if (kitfile.model.parts?.length === 0) delete kitfile.model.parts;

  const reusedKinds = new Set(['code', 'dataset', 'docs', 'prompt']);
  const reuse = input.layers
    .filter((l) => reusedKinds.has(l.kind))
    .map((l): ReusedLayer => ({ kind: l.kind, path: l.path, descriptor: l.descriptor, diffId: (l.element as { diffId?: string }).diffId }));
  return { kitfile, reuse }; // kitfileToYaml drops the input's layer digests; pack records the output's own
}

/** Pack the outputs into the local store; unchanged layers are the input's, by digest. */
export async function packOutputs(store: LocalStore, outputsDir: string, plan: OutputPlan, tags: string[]): Promise<PackResult> {
  const kitfilePath = join(outputsDir, '..', 'Kitfile.out');
  await writeFile(kitfilePath, kitfileToYaml(plan.kitfile));
  return pack({ store, contextDir: outputsDir, kitfile: kitfilePath, tags, reuse: plan.reuse });
}
