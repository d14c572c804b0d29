import { KitError, resolveLocal } from '@modelkit/core';
import { join } from 'node:path';
import { FileUploadJournal, formatDockerReference, pushModelKit, type UploadMode } from '@modelkit/registry';
import type { Command } from 'commander';
import { kitHome, openStore } from '../context.js';
import { info, printJson } from '../output.js';
import { concurrency, registryClient, withNetworkOptions, type NetworkFlags } from '../remote.js';

export function registerPush(program: Command): void {
  withNetworkOptions(
    program
      .command('push')
      .description('Push a local ModelKit to a registry (blobs the registry has are skipped)')
      .argument('<source>', 'local ModelKit, registry/repository:tag')
      .argument('[destination]', 'push there instead, registry/repository:tag[,tag2]')
      .option('--upload <mode>', 'auto, monolithic or chunked uploads', 'auto')
      .option('--no-referrers', 'leave out what is attached to it locally (SBOMs, signatures, attestations)')
      .option('--json', 'print the result as JSON'),
  ).action(async (source: string, destination: string | undefined, opts: NetworkFlags & { upload: string; referrers: boolean; json?: boolean }, command: Command) => {
    if (!['auto', 'monolithic', 'chunked'].includes(opts.upload)) {
      throw new KitError('INVALID_ARGUMENT', `--upload ${opts.upload}: use auto, monolithic or chunked`);
    }
    const store = await openStore(command);
    await resolveLocal(store, source); // fail early, with the local error, if it is not there
    const client = registryClient(command, opts);
    try {
      const { repository, reference } = client.repository(destination ?? source);
      const tags = reference.digest ? [] : [reference.tag ?? 'latest', ...reference.extraTags];
      const pushed = await pushModelKit({
        store,
        source,
        repository,
        tags,
        concurrency: concurrency(opts),
        uploadMode: opts.upload as UploadMode,
        referrers: opts.referrers,
        journal: new FileUploadJournal(join(kitHome(command), 'uploads')),
        onBlob: (e) => info(`${e.outcome === 'exists' ? 'Exists  ' : e.outcome === 'mounted' ? 'Mounted ' : 'Pushed  '} ${e.digest}`),
      });
      const where = formatDockerReference({ registry: reference.registry, repository: reference.repository });
      if (opts.json) printJson({ digest: pushed.digest, repository: where, tags, referrers: pushed.referrers });
      else info(`Pushed ${where}@${pushed.digest}${tags.length ? ` (tags: ${tags.join(', ')})` : ''}${pushed.referrers ? `, ${pushed.referrers} referrer(s)` : ''}`);
    } finally {
      await client.close();
    }
  });
}
