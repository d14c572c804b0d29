import { formatBytes, listModelKits, parseReference, referenceName } from '@modelkit/core';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { printJson, table } from '../output.js';

export function registerList(program: Command): void {
  program
    .command('list')
    .description('List ModelKits in the local store')
    .argument('[repository]', 'only this repository (registry/repository)')
    .option('--format <format>', 'table or json', 'table')
    .option('--json', 'same as --format json')
    .action(async (repository: string | undefined, opts, command: Command) => {
      const store = await openStore(command);
      // Same rules as any reference: `org/model` is on localhost, `ghcr.io/org/model` is not.
      const name = repository ? referenceName(parseReference(repository)) : undefined;
      const rows = await listModelKits(store, name);
      if (opts.json || opts.format === 'json') {
        printJson(rows);
        return;
      }
      // One row per tag, "<none>" for untagged manifests, as kit prints it.
      const lines = rows.flatMap((r) =>
        (r.tags.length > 0 ? r.tags : ['<none>']).map((tag) => [r.repo, tag, r.author || '<none>', r.modelName || '<none>', formatBytes(r.size), r.digest]),
      );
      process.stdout.write(table(['REPOSITORY', 'TAG', 'MAINTAINER', 'NAME', 'SIZE', 'DIGEST'], lines));
    });
}
