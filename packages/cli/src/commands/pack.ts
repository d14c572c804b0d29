import {
  attachLocal,
  KitError,
  localTarget,
  modelKitSbom,
  pack,
  parseCompression,
  SBOM_MEDIA_TYPES,
  type ArtifactPayload,
  type Descriptor,
  type PackOptions,
  type ReadTarget,
  type SbomFormat,
} from '@modelkit/core';
import { attachRemote, packToRegistry, parseDockerReference, remoteTarget } from '@modelkit/registry';
import { parseSbomFormat, warnLicenseProblems } from './sbom.js';
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
    .option('--sbom [format]', 'also attach an SBOM (cyclonedx or spdx) as a referrer')
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
      const sbomFormat = opts.sbom === undefined ? undefined : parseSbomFormat(opts.sbom === true ? 'cyclonedx' : opts.sbom);
      if (opts.push) {
        await packAndPush(options, { ...opts, sbomFormat }, command);
        return;
      }
      const result = await pack(options);
      if (sbomFormat) await attachSbom(localTarget(store), result.descriptor, (d, p) => attachLocal(store, d, p), sbomFormat);
      if (opts.json) {
        printJson({ digest: result.descriptor.digest, size: result.descriptor.size, references: result.references.map((r) => `${r.registry}/${r.repository}:${r.tag}`), manifest: result.manifest });
        return;
      }
      info(`Model saved: ${result.descriptor.digest}`);
      process.stdout.write(`${result.descriptor.digest}\n`);
    });
}

/** pack --push: every -t must name one repository; blobs go straight into registry uploads. */
async function packAndPush(options: PackOptions, opts: NetworkFlags & { json?: boolean; sbomFormat?: SbomFormat }, command: Command): Promise<void> {
  const refs = (options.tags ?? []).map((t) => parseDockerReference(t));
  if (refs.length === 0) throw new KitError('INVALID_ARGUMENT', 'pack --push needs -t registry/repository:tag to know where to push');
  const name = `${refs[0]!.registry}/${refs[0]!.repository}`;
  if (refs.some((r) => `${r.registry}/${r.repository}` !== name)) throw new KitError('INVALID_ARGUMENT', 'pack --push pushes to one repository: give tags of one registry/repository');
  const tags = refs.flatMap((r) => [r.tag ?? 'latest', ...r.extraTags]);
  const client = registryClient(command, opts);
  try {
    const repository = client.repository(refs[0]!).repository;
    const built = await packToRegistry({ ...options, repository, tags });
    if (opts.sbomFormat) await attachSbom(remoteTarget(repository), built.descriptor, (d, p) => attachRemote(repository, d, p), opts.sbomFormat);
    if (opts.json) printJson({ digest: built.descriptor.digest, size: built.descriptor.size, references: tags.map((t) => `${name}:${t}`), manifest: built.manifest });
    else info(`Model pushed: ${name}@${built.descriptor.digest}`);
    process.stdout.write(`${built.descriptor.digest}\n`);
  } finally {
    await client.close();
  }
}

/** pack --sbom: describe what was just packed and attach the SBOM beside it. */
async function attachSbom(target: ReadTarget, subject: Descriptor, attach: (subject: Descriptor, payload: ArtifactPayload) => Promise<Descriptor>, format: SbomFormat): Promise<void> {
  const { sbom } = await modelKitSbom(target, subject.digest, subject.digest, format);
  warnLicenseProblems(sbom.problems);
  const referrer = await attach(subject, { artifactType: SBOM_MEDIA_TYPES[format], bytes: sbom.bytes, title: `sbom.${format}.json` });
  info(`Attached ${format} SBOM: ${referrer.digest}`);
}
