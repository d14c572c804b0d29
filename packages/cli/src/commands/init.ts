import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKitfile, KitError, kitfileToYaml, writeFileAtomic } from '@modelkit/core';
import type { Command } from 'commander';
import { info } from '../output.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Write a Kitfile for a directory by detecting its model, datasets, code and docs')
    .argument('<directory>', 'project directory')
    .option('--name <name>', 'package name (default: the directory name)')
    .option('--desc <description>', 'package description')
    .option('--author <author>', 'package author')
    .option('-f, --force', 'overwrite an existing Kitfile')
    .action(async (directory: string, opts) => {
      const target = join(directory, 'Kitfile');
      const exists = await access(target).then(() => true, () => false);
      if (exists && !opts.force) throw new KitError('ALREADY_EXISTS', `${target} already exists: use --force to replace it`);
      const kitfile = await generateKitfile(directory, { name: opts.name, description: opts.desc, author: opts.author });
      await writeFileAtomic(target, kitfileToYaml(kitfile));
      info(`Wrote ${target}`);
    });
}
