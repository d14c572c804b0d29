import { attachLocal, localTarget, type ArtifactPayload, type Descriptor, type ReadTarget } from '@modelkit/core';
import { attachRemote, remoteTarget } from '@modelkit/registry';
import type { Command } from 'commander';
import { openStore } from './context.js';
import { registryClient, type NetworkFlags } from './remote.js';

/** A ModelKit to audit, wherever it lives, with a way to attach things to it there. */
export interface AuditTarget {
  target: ReadTarget;
  /** Tag or digest to resolve in the target. */
  reference: string;
  /** How messages name it. */
  name: string;
  /** From `repo:tag@sha256:…`: the digest the tag must still point at. */
  expectedDigest?: string;
  attach(subject: Descriptor, payload: ArtifactPayload): Promise<Descriptor>;
}

/** `repo:tag@sha256:…` pins a tag to an approved digest; split it so the tag can be checked. */
export function splitPinnedDigest(input: string): { reference: string; expectedDigest?: string } {
  const at = input.lastIndexOf('@');
  if (at < 0) return { reference: input };
  const before = input.slice(0, at);
  const lastSegment = before.slice(before.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? { reference: before, expectedDigest: input.slice(at + 1) } : { reference: input };
}

/**
 * Open the local store or (with --remote) the registry, run `fn`, and close connections after.
 * `--key` on audit commands is a signing or verification key, never the mutual-TLS key.
 */
export async function withAuditTarget<T>(command: Command, input: string, opts: Omit<NetworkFlags, 'key'> & { remote?: boolean }, fn: (t: AuditTarget) => Promise<T>): Promise<T> {
  const { reference, expectedDigest } = splitPinnedDigest(input);
  if (!opts.remote) {
    const store = await openStore(command);
    return fn({ target: localTarget(store), reference, name: input, expectedDigest, attach: (subject, payload) => attachLocal(store, subject, payload) });
  }
  const client = registryClient(command, { ...opts, cert: undefined, key: undefined });
  try {
    const { repository, target } = client.repository(reference);
    return await fn({ target: remoteTarget(repository), reference: target, name: input, expectedDigest, attach: (subject, payload) => attachRemote(repository, subject, payload) });
  } finally {
    await client.close();
  }
}
