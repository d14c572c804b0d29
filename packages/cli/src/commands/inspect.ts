import { inspectLocal, type InspectResult } from '@modelkit/core';
import { inspectRemote } from '@modelkit/registry';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { printJson } from '../output.js';
import { registryClient, withNetworkOptions, type NetworkFlags } from '../remote.js';

/** The ModelKit a reference names, from the local store or (with --remote) from its registry. */
export async function inspectReference(reference: string, opts: NetworkFlags & { remote?: boolean }, command: Command): Promise<InspectResult> {
  if (!opts.remote) return inspectLocal(await openStore(command), reference);
  const client = registryClient(command, opts);
  try {
    const { repository, target } = client.repository(reference);
    return await inspectRemote(repository, target);
  } finally {
    await client.close();
  }
}

export function registerInspect(program: Command): void {
  withNetworkOptions(
    program
      .command('inspect')
      .description("Print a ModelKit's digest, manifest and Kitfile as JSON")
      .argument('<reference>', 'ModelKit reference')
      .option('-r, --remote', 'read it from the registry instead of the local store'),
  ).action(async (reference: string, opts, command: Command) => {
    printJson(await inspectReference(reference, opts, command));
  });
}
