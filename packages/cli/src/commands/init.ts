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
    .option('--depth <n>', 'levels of subdirectories to list file by file (-1: every file)', '0')
    .option('-f, --force', 'overwrite an existing Kitfile')
    .action(async (directory: string, opts) => {
      const target = join(directory, 'Kitfile');
      const exists = await access(target).then(() => true, () => false);
      if (exists && !opts.force) throw new KitError('ALREADY_EXISTS', `${target} already exists: use --force to replace it`);
      const depth = Number(opts.depth);
      if (!Number.isInteger(depth) || depth < -1) throw new KitError('INVALID_ARGUMENT', `--depth must be a whole number, -1 or more (got ${opts.depth})`);
      const kitfile = await generateKitfile(directory, { name: opts.name, description: opts.desc, author: opts.author, depth });
      await writeFileAtomic(target, kitfileToYaml(kitfile));
      info(`Wrote ${target}`);
    });
}
