import { writeFileAtomic, KitError, modelKitSbom, SBOM_MEDIA_TYPES, type LicenseProblem, type SbomFormat } from '@modelkit/core';
import type { Command } from 'commander';
import { withAuditTarget } from '../audit-target.js';
import { info } from '../output.js';
import { withNetworkOptions } from '../remote.js';

export function parseSbomFormat(value: string): SbomFormat {
  if (value === 'cyclonedx' || value === 'spdx') return value;
  throw new KitError('INVALID_ARGUMENT', `--format ${value}: use cyclonedx (CycloneDX 1.6 JSON) or spdx (SPDX 3.0.1 JSON-LD)`);
}

export function warnLicenseProblems(problems: LicenseProblem[]): void {
  for (const p of problems) info(`Warning: ${p.field}: "${p.expression}" ${p.message}`);
}

export function registerSbom(program: Command): void {
  withNetworkOptions(
    program
      .command('sbom')
      .description('Write the SBOM of a ModelKit (CycloneDX 1.6 ML-BOM or SPDX 3.0.1) without unpacking it')
      .argument('<reference>', 'ModelKit reference')
      .option('--format <format>', 'cyclonedx or spdx', 'cyclonedx')
      .option('-o, --output <file>', 'write it to FILE instead of standard output')
      .option('--attach', 'also attach it to the ModelKit as an OCI referrer (pushed with it by `kit push`)')
      .option('--timestamp <time>', 'record this RFC 3339 creation time (default: none, so the same ModelKit gives the same bytes)')
      .option('-r, --remote', 'read it from the registry (and with --attach, attach it there)'),
  ).action(async (input: string, opts: { format: string; output?: string; attach?: boolean; timestamp?: string; remote?: boolean }, command: Command) => {
    const format = parseSbomFormat(opts.format);
    await withAuditTarget(command, input, opts, async (t) => {
      const { sbom, descriptor } = await modelKitSbom(t.target, t.reference, t.name, format, opts.timestamp);
      warnLicenseProblems(sbom.problems);
      if (opts.output) await writeFileAtomic(opts.output, sbom.bytes);
      else process.stdout.write(sbom.bytes);
      if (opts.attach) {
        const referrer = await t.attach(descriptor, { artifactType: SBOM_MEDIA_TYPES[format], bytes: sbom.bytes, title: `sbom.${format}.json` });
        info(`Attached the ${format} SBOM to ${t.name} as ${referrer.digest}`);
      }
    });
  });
}
