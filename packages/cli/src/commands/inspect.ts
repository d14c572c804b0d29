import { inspectLocal } from '@modelkit/core';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { printJson } from '../output.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description("Print a ModelKit's digest, manifest and Kitfile as JSON")
    .argument('<reference>', 'ModelKit reference')
    .action(async (reference: string, _opts, command: Command) => {
      printJson(await inspectLocal(await openStore(command), reference));
    });
}
