import type { KeyObject } from 'node:crypto';
import { attachLocal, type Descriptor, type LocalStore, type ModelKitContents, type PackResult } from '@modelkit/core';
import { parseDockerReference, pushModelKit, type RegistryClient } from '@modelkit/registry';
import type { GpuInfo } from './hosts/host.js';
import { packOutputs, planOutputs } from './outputs.js';
import { provenancePayload, provenanceStatement, type RunProvenance } from './provenance.js';
import type { PackedRunFile } from './runfile-in-kit.js';

export interface FinishedRun {
  runId: string;
  /** The input as the run resolved it: a repository name and the digest that went in. */
  input: { reference: string; descriptor: Descriptor; contents: ModelKitContents };
  runFile: PackedRunFile;
  /** A local directory holding what the run wrote to $KIT_OUTPUT_DIR. */
  outputsDir: string;
  backend: string;
  host: string;
  gpus: GpuInfo[];
  /** The scheduler's job, for cluster backends. */
  job?: RunProvenance['job'];
  startedOn: string;
  finishedOn: string;
  log: { digest: string; size: number };
  tags: string[];
  key?: KeyObject;
}

/**
 * The outputs of a successful run as a new ModelKit in the store (the input's code and data reused
 * by digest), with SLSA provenance attached as a referrer. Every backend ends here, the Kubernetes
 * one inside its pod.
 */
export async function packageRun(store: LocalStore, run: FinishedRun): Promise<PackResult> {
  const { input, runFile } = run;
  const spec = runFile.runFile;
  const plan = await planOutputs(input.contents, spec, run.outputsDir, { reference: input.reference, digest: input.descriptor.digest, runId: run.runId });
  const output = await packOutputs(store, run.outputsDir, plan, run.tags);
  const first = output.references[0];
  const statement = provenanceStatement(output.descriptor, {
    runId: run.runId,
    backend: run.backend,
    host: run.host,
    input: { reference: input.reference, digest: input.descriptor.digest, mediaType: input.descriptor.mediaType },
    outputName: first ? `${first.registry}/${first.repository}` : input.reference,
    runFile: { path: runFile.path, digest: runFile.digest, content: spec },
    command: { setup: spec.setup, run: spec.run },
    env: spec.env,
    secretNames: spec.secrets,
    resources: spec.resources,
    gpus: run.gpus.map((g) => ({ uuid: g.uuid, name: g.name, memoryTotalMiB: g.memoryTotalMiB })),
    driverVersion: run.gpus[0]?.driverVersion,
    cudaVersion: run.gpus[0]?.cudaVersion,
    ...(run.job && { job: run.job }),
    startedOn: run.startedOn,
    finishedOn: run.finishedOn,
    log: run.log,
    exitCode: 0,
  });
  await attachLocal(store, output.descriptor, provenancePayload(output.descriptor, statement, run.key));
  return output;
}

/**
 * Push a packed output (with its referrers, the provenance among them) to the repository of its
 * first reference, under every tag given for that repository. `mountFrom` names repositories of
 * the same registry to mount shared blobs from instead of uploading them.
 */
export async function pushRunOutput(store: LocalStore, client: RegistryClient, references: string[], mountFrom?: string[]): Promise<void> {
  const first = parseDockerReference(references[0]!);
  const { repository } = client.repository(first);
  const tags = references.map((r) => parseDockerReference(r)).filter((r) => r.registry === first.registry && r.repository === first.repository).map((r) => r.tag ?? 'latest');
  await pushModelKit({ store, source: references[0]!, repository, tags, mountFrom });
}
