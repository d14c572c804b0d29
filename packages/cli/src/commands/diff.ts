import { diffLocal } from '@modelkit/core';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { printJson } from '../output.js';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('Compare two local ModelKits: config, annotations, shared and unique layers')
    .argument('<a>', 'first ModelKit reference')
    .argument('<b>', 'second ModelKit reference')
    .option('--json', 'print the comparison as JSON')
    .action(async (a: string, b: string, opts, command: Command) => {
      const diff = await diffLocal(await openStore(command), a, b);
      if (opts.json) {
        printJson(diff);
        return;
      }
      const lines = [
        `Config:      ${diff.sameConfig ? 'same' : 'different'}`,
        `Annotations: ${diff.annotationsMatch ? 'same' : 'different'}`,
        `Shared layers (${diff.sharedLayers.length}):`,
        ...diff.sharedLayers.map((l) => `  ${l.digest}  ${l.mediaType}`),
        `Only in ${a} (${diff.uniqueLayersA.length}):`,
        ...diff.uniqueLayersA.map((l) => `  ${l.digest}  ${l.mediaType}`),
        `Only in ${b} (${diff.uniqueLayersB.length}):`,
        ...diff.uniqueLayersB.map((l) => `  ${l.digest}  ${l.mediaType}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
