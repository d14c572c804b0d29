import { tagLocal } from '@modelkit/core';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { info } from '../output.js';

export function registerTag(program: Command): void {
  program
    .command('tag')
    .description('Give a local ModelKit another tag (in the same or another repository)')
    .argument('<source>', 'existing ModelKit reference')
    .argument('<target>', 'new reference, registry/repository:tag')
    .action(async (source: string, target: string, _opts, command: Command) => {
      const dest = await tagLocal(await openStore(command), source, target);
      info(`Tagged ${source} as ${dest.registry}/${dest.repository}:${[dest.tag ?? 'latest', ...dest.extraTags].join(',')}`);
    });
}
