import { ANNOTATION_BUNDLE_CONTENT, ANNOTATION_BUNDLE_PREDICATE_TYPE } from '@modelkit/core';
import type { Command } from 'commander';
import { withAuditTarget } from '../audit-target.js';
import { printJson, table } from '../output.js';
import { withNetworkOptions } from '../remote.js';

export function registerReferrers(program: Command): void {
  withNetworkOptions(
    program
      .command('referrers')
      .description('List what is attached to a ModelKit: SBOMs, signatures, attestations')
      .argument('<reference>', 'ModelKit reference')
      .option('--type <artifactType>', 'only this artifact type')
      .option('-r, --remote', 'list them in the registry instead of the local store')
      .option('--json', 'print them as JSON'),
  ).action(async (input: string, opts: { type?: string; remote?: boolean; json?: boolean }, command: Command) => {
    await withAuditTarget(command, input, opts, async (t) => {
      const subject = await t.target.resolve(t.reference);
      const found = await t.target.referrers(subject.digest, opts.type);
      if (opts.json) return printJson({ subject: subject.digest, referrers: found });
      const rows = found.map((r) => {
        const a = r.annotations ?? {};
        return [r.digest, r.artifactType ?? '', [a[ANNOTATION_BUNDLE_CONTENT], a[ANNOTATION_BUNDLE_PREDICATE_TYPE]].filter(Boolean).join(' ')];
      });
      process.stdout.write(table(['DIGEST', 'ARTIFACT TYPE', 'CONTENT'], rows));
    });
  });
}
