import { pack, parseCompression } from '@modelkit/core';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { info, printJson } from '../output.js';
import { terminalProgress } from '../progress.js';

export function registerPack(program: Command): void {
  program
    .command('pack')
    .description('Pack a directory into a ModelKit in the local store')
    .argument('<directory>', 'context directory holding the Kitfile and the files it names')
    .option('-f, --file <path>', "Kitfile to use ('-' for stdin); default: Kitfile in the directory")
    .option('-t, --tag <reference...>', 'tag as registry/repository:tag[,tag2] (repeatable)')
    .option('--compression <type>', 'none, gzip, gzip-fastest or zstd', 'none')
    .option('--layer-format <format>', 'tar, or raw for single-file layers')
    .option('--use-model-pack', 'write the CNCF ModelPack format')
    .option('--json', 'print the result as JSON')
    .action(async (directory: string, opts, command: Command) => {
      const store = await openStore(command);
      const progress = terminalProgress('Packing');
      const result = await pack({
        store,
        contextDir: directory,
        kitfile: opts.file,
        tags: opts.tag,
        compression: parseCompression(opts.compression),
        layerFormat: opts.layerFormat,
        modelPack: !!opts.useModelPack,
        onWarning: (m) => info(`Warning: ${m}`),
        onLayer: (l) => {
          progress?.done();
          info(`Saved ${l.kind} layer: ${l.digest} (${l.path})`);
        },
        onProgress: progress?.update,
      });
      if (opts.json) {
        printJson({ digest: result.descriptor.digest, size: result.descriptor.size, references: result.references.map((r) => `${r.registry}/${r.repository}:${r.tag}`), manifest: result.manifest });
        return;
      }
      info(`Model saved: ${result.descriptor.digest}`);
      process.stdout.write(`${result.descriptor.digest}\n`);
    });
}
