/**
 * The input of a Kubernetes run must be in a registry the cluster can reach: the pod pulls it by
 * digest. Here it is resolved to that digest, and only what the submitter needs to read the run
 * file (manifest, config, code layers) is pulled into the local store.
 */
import { stat } from 'node:fs/promises';
import { KitError, openLocal, parseFilter, resolveLocal, type Descriptor, type LocalStore, type ModelKitContents } from '@modelkit/core';
import { pullModelKit, RegistryError, type RegistryClient } from '@modelkit/registry';
import { findRunFile, type PackedRunFile } from '../runfile-in-kit.js';

export interface RemoteInput {
  /** `registry/repository`, as provenance names the input. */
  reference: string;
  descriptor: Descriptor;
  /** `registry/repository@sha256:…`: what the pod pulls. */
  pinned: string;
  contents: ModelKitContents;
  runFile: PackedRunFile;
}

export async function resolveRemoteInput(store: LocalStore, registry: RegistryClient, input: string): Promise<RemoteInput> {
  if ((await stat(input).catch(() => undefined))?.isDirectory()) {
    throw new KitError('INVALID_ARGUMENT', `${input} is a directory: the Kubernetes backend runs a ModelKit the cluster pulls from a registry; pack and push it first (kit pack ${input} -t REGISTRY/REPOSITORY:TAG --push) and run that reference`);
  }
  const local = await resolveLocal(store, input).catch((e: unknown) => {
    if (e instanceof KitError && (e.code === 'NOT_FOUND' || e.code === 'REFERENCE_INVALID')) return undefined;
    throw e;
  });
  if (local?.reference.registry === 'localhost') {
    throw new KitError('INVALID_ARGUMENT', `${input} is only in the local store: push it to a registry the cluster can reach (kit push ${input} REGISTRY/REPOSITORY:TAG) and run that reference`);
  }
  const named = local ? `${local.reference.registry}/${local.reference.repository}@${local.descriptor.digest}` : input;
  const { repository, reference, target } = registry.repository(named);
  const where = `${reference.registry}/${reference.repository}`;
  let descriptor: Descriptor;
  try {
    descriptor = await repository.resolve(target);
  } catch (e) {
    if (e instanceof RegistryError && e.status === 404) {
      throw new KitError('NOT_FOUND', `${input} is not in ${where}: the pod pulls the input from the registry; push it first (kit push ${input})`);
    }
    throw e;
  }
  // By digest, so no local tag moves; the code layers carry the run file.
  await pullModelKit({ store, repository, reference: descriptor.digest, filters: [parseFilter('code')] });
  const { contents } = await openLocal(store, descriptor.digest, input);
  const runFile = await findRunFile(store, contents, input);
  return { reference: where, descriptor, pinned: `${where}@${descriptor.digest}`, contents, runFile };
}
