import { KitError, pack, parseCompression, type PackOptions } from '@modelkit/core';
import { packToRegistry, parseDockerReference } from '@modelkit/registry';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { info, printJson } from '../output.js';
import { terminalProgress } from '../progress.js';
import { registryClient, withNetworkOptions, type NetworkFlags } from '../remote.js';

export function registerPack(program: Command): void {
  withNetworkOptions(program
    .command('pack')
    .description('Pack a directory into a ModelKit in the local store')
    .argument('<directory>', 'context directory holding the Kitfile and the files it names')
    .option('-f, --file <path>', "Kitfile to use ('-' for stdin); default: Kitfile in the directory")
    .option('-t, --tag <reference...>', 'tag as registry/repository:tag[,tag2] (repeatable)')
    .option('--compression <type>', 'none, gzip, gzip-fastest or zstd', 'none')
    .option('--layer-format <format>', 'tar, or raw for single-file layers')
    .option('--use-model-pack', 'write the CNCF ModelPack format')
    .option('--push', 'stream the ModelKit straight to the registry named by -t, with no local copy')
    .option('--json', 'print the result as JSON'))
    .action(async (directory: string, opts, command: Command) => {
      const store = await openStore(command);
      const progress = terminalProgress('Packing');
      const options: PackOptions = {
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
          info(`${opts.push ? 'Pushed' : 'Saved'} ${l.kind} layer: ${l.digest} (${l.path})`);
        },
        onProgress: progress?.update,
      };
      if (opts.push) {
        await packAndPush(options, opts, command);
        return;
      }
      const result = await pack(options);
      if (opts.json) {
        printJson({ digest: result.descriptor.digest, size: result.descriptor.size, references: result.references.map((r) => `${r.registry}/${r.repository}:${r.tag}`), manifest: result.manifest });
        return;
      }
      info(`Model saved: ${result.descriptor.digest}`);
      process.stdout.write(`${result.descriptor.digest}\n`);
    });
}

/** pack --push: every -t must name one repository; blobs go straight into registry uploads. */
async function packAndPush(options: PackOptions, opts: NetworkFlags & { json?: boolean }, command: Command): Promise<void> {
  const refs = (options.tags ?? []).map((t) => parseDockerReference(t));
  if (refs.length === 0) throw new KitError('INVALID_ARGUMENT', 'pack --push needs -t registry/repository:tag to know where to push');
  const name = `${refs[0]!.registry}/${refs[0]!.repository}`;
  if (refs.some((r) => `${r.registry}/${r.repository}` !== name)) throw new KitError('INVALID_ARGUMENT', 'pack --push pushes to one repository: give tags of one registry/repository');
  const tags = refs.flatMap((r) => [r.tag ?? 'latest', ...r.extraTags]);
  const client = registryClient(command, opts);
  try {
    const built = await packToRegistry({ ...options, repository: client.repository(refs[0]!).repository, tags });
    if (opts.json) printJson({ digest: built.descriptor.digest, size: built.descriptor.size, references: tags.map((t) => `${name}:${t}`), manifest: built.manifest });
    else info(`Model pushed: ${name}@${built.descriptor.digest}`);
    process.stdout.write(`${built.descriptor.digest}\n`);
  } finally {
    await client.close();
  }
}
