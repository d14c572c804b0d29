import { kitfileToYaml, selectKitfileField } from '@modelkit/core';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { withNetworkOptions } from '../remote.js';
import { inspectReference } from './inspect.js';

export function registerInfo(program: Command): void {
  withNetworkOptions(program
    .command('info')
    .description("Print a ModelKit's Kitfile")
    .argument('<reference>', 'ModelKit reference')
    .option('-f, --filter <path>', 'print one field, as a dotted path such as .model.path')
    .option('-r, --remote', 'read it from the registry instead of the local store'))
    .action(async (reference: string, opts, command: Command) => {
      const { kitfile } = await inspectReference(reference, opts, command);
      if (!opts.filter) {
        process.stdout.write(kitfileToYaml(kitfile));
        return;
      }
      const value = selectKitfileField(kitfile, opts.filter);
      process.stdout.write(typeof value === 'string' ? `${value}\n` : stringify(value, { indent: 2 }));
    });
}
