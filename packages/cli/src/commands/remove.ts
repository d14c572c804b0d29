import { formatBytes, KitError, removeAllLocal, removeLocal, type RemoveResult } from '@modelkit/core';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { info, printJson } from '../output.js';

export function registerRemove(program: Command): void {
  program
    .command('remove')
    .alias('rm')
    .description('Remove ModelKits from the local store and free the space only they used')
    .argument('[reference]', 'ModelKit reference; with a tag, only that tag goes if others remain')
    .option('-f, --force', 'remove the manifest and all its tags; with --all, every ModelKit')
    .option('-a, --all', 'remove every untagged ModelKit (with --force, everything)')
    .option('--json', 'print what was removed as JSON')
    .action(async (reference: string | undefined, opts, command: Command) => {
      if (!reference && !opts.all) throw new KitError('INVALID_ARGUMENT', 'name a ModelKit to remove, or use --all');
      if (reference && opts.all) throw new KitError('INVALID_ARGUMENT', 'give either a reference or --all, not both');
      const store = await openStore(command);
      const result: RemoveResult = reference ? await removeLocal(store, reference, { force: opts.force }) : await removeAllLocal(store, { force: opts.force });
      if (opts.json) {
        printJson(result);
        return;
      }
      for (const r of result.removed) {
        const what = r.manifestRemoved ? `Removed ${r.repository}@${r.digest}` : `Untagged ${r.repository}`;
        info(`${what}${r.tags.length ? ` (tags: ${r.tags.join(', ')})` : ''}`);
      }
      info(`Freed ${formatBytes(result.freedBytes)} (${result.removedBlobs} blob(s))`);
    });
}
