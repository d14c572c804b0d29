import { parseFilter, type UnpackFilter } from '@modelkit/core';
import { pullModelKit } from '@modelkit/registry';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { info, printJson } from '../output.js';
import { concurrency, registryClient, withNetworkOptions, type NetworkFlags } from '../remote.js';

export function registerPull(program: Command): void {
  withNetworkOptions(
    program
      .command('pull')
      .description('Pull a ModelKit from a registry into the local store (resumable, verified)')
      .argument('<reference>', 'registry/repository:tag or @digest')
      .option('-f, --filter <filter...>', 'only these parts: TYPE[,TYPE][:NAME[,NAME]] (the config is always pulled)')
      .option('--referrers', 'also bring what is attached to it: SBOMs, signatures, attestations')
      .option('--json', 'print the result as JSON'),
  ).action(async (input: string, opts: NetworkFlags & { filter?: string[]; referrers?: boolean; json?: boolean }, command: Command) => {
    const store = await openStore(command);
    const filters: UnpackFilter[] = (opts.filter ?? []).map(parseFilter);
    const client = registryClient(command, opts);
    try {
      const { repository, reference, target } = client.repository(input);
      const result = await pullModelKit({
        store,
        repository,
        reference: target,
        filters,
        concurrency: concurrency(opts),
        referrers: opts.referrers,
        localRepository: `${reference.registry}/${reference.repository}`,
        onBlob: (e) => info(`${e.outcome === 'cached' ? 'Cached    ' : 'Downloaded'} ${e.digest}`),
      });
      if (opts.json) printJson(result);
      else info(`Pulled ${result.localRepository}@${result.descriptor.digest} (${result.bytesDownloaded} bytes downloaded${result.layersSkipped ? `, ${result.layersSkipped} layer(s) left out by filters` : ''}${opts.referrers ? `, ${result.referrers} referrer(s)` : ''})`);
    } finally {
      await client.close();
    }
  });
}
