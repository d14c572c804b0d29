import { inspectLocal, kitfileToYaml, selectKitfileField } from '@modelkit/core';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { openStore } from '../context.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description("Print a ModelKit's Kitfile")
    .argument('<reference>', 'ModelKit reference')
    .option('-f, --filter <path>', 'print one field, as a dotted path such as .model.path')
    .action(async (reference: string, opts, command: Command) => {
      const { kitfile } = await inspectLocal(await openStore(command), reference);
      if (!opts.filter) {
        process.stdout.write(kitfileToYaml(kitfile));
        return;
      }
      const value = selectKitfileField(kitfile, opts.filter);
      process.stdout.write(typeof value === 'string' ? `${value}\n` : stringify(value, { indent: 2 }));
    });
}
