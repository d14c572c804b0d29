import { isKitError, KitError, parseFilter, resolveLocal, unpack, type UnpackFilter } from '@modelkit/core';
import { pullModelKit } from '@modelkit/registry';
import type { Command } from 'commander';
import { openStore } from '../context.js';
import { info, printJson } from '../output.js';
import { terminalProgress } from '../progress.js';
import { concurrency, registryClient, withNetworkOptions, type NetworkFlags } from '../remote.js';

/** The pre-filter flags kit still accepts, each the same as one --filter type. */
const LEGACY_FLAGS = { kitfile: 'kitfile', config: 'kitfile', model: 'model', datasets: 'datasets', code: 'code', docs: 'docs', prompts: 'prompts' } as const;

export function registerUnpack(program: Command): void {
  const command = withNetworkOptions(program
    .command('unpack')
    .description('Unpack a ModelKit from the local store into a directory')
    .argument('<reference>', 'ModelKit reference (repository:tag or @digest)')
    .option('-d, --dir <path>', 'directory to unpack into', '.')
    .option('-f, --filter <filter...>', 'only these parts: TYPE[,TYPE][:NAME[,NAME]] with TYPE kitfile, model, datasets, code, docs, prompts or mcpservers (repeatable, OR-ed)')
    .option('-o, --overwrite', 'overwrite existing files')
    .option('-i, --ignore-existing', 'keep existing files and unpack the rest')
    .option('--json', 'print the result as JSON'));
  for (const flag of Object.keys(LEGACY_FLAGS)) command.option(`--${flag}`, `unpack only the ${flag} (same as --filter ${LEGACY_FLAGS[flag as keyof typeof LEGACY_FLAGS]})`);
  command.action(async (reference: string, opts, cmd: Command) => {
    if (opts.overwrite && opts.ignoreExisting) throw new KitError('INVALID_ARGUMENT', 'use either -o/--overwrite or -i/--ignore-existing, not both');
    const filters: UnpackFilter[] = (opts.filter ?? []).map(parseFilter);
    for (const [flag, type] of Object.entries(LEGACY_FLAGS)) if (opts[flag]) filters.push({ types: [type], names: [] });
    const store = await openStore(cmd);
    const local = await pullIfMissing(store, reference, filters, opts, cmd);
    const progress = terminalProgress('Unpacking');
    const result = await unpack({
      store,
      reference: local,
      dir: opts.dir,
      filters,
      existing: opts.overwrite ? 'overwrite' : opts.ignoreExisting ? 'skip' : 'error',
      onLayer: (l) => {
        progress?.done();
        info(`Unpacking ${l.kind} ${l.path} (${l.descriptor.digest})`);
      },
      onProgress: progress?.update,
    });
    progress?.done();
    if (opts.json) printJson({ digest: result.digest, files: result.files, kitfile: result.kitfileWritten, layers: result.layers.map((l) => ({ kind: l.kind, path: l.path, digest: l.descriptor.digest })) });
    else info(`Unpacked ${result.layers.length} layer(s), ${result.files} file(s) to ${opts.dir}`);
  });
}

/** Not in the local store: fetch from the registry the reference names, only the layers asked for. */
async function pullIfMissing(store: Awaited<ReturnType<typeof openStore>>, reference: string, filters: UnpackFilter[], flags: NetworkFlags, command: Command): Promise<string> {
  try {
    await resolveLocal(store, reference);
    return reference;
  } catch (e) {
    if (!isKitError(e) || e.code !== 'NOT_FOUND') throw e;
  }
  const client = registryClient(command, flags);
  try {
    const { repository, reference: ref, target } = client.repository(reference);
    info(`${reference} is not in the local store: pulling from ${ref.registry}`);
    const pulled = await pullModelKit({ store, repository, reference: target, filters, concurrency: concurrency(flags), localRepository: `${ref.registry}/${ref.repository}` });
    return `${pulled.localRepository}@${pulled.descriptor.digest}`;
  } finally {
    await client.close();
  }
}
