import { lineage } from '@modelkit/runner';
import type { Command } from 'commander';
import { withAuditTarget } from '../audit-target.js';
import { printJson, table } from '../output.js';
import { withNetworkOptions } from '../remote.js';

export function registerLineage(program: Command): void {
  withNetworkOptions(
    program
      .command('lineage')
      .description('Walk a ModelKit back through the provenance of the runs that made it')
      .argument('<reference>', 'ModelKit reference')
      .option('-r, --remote', 'read it in the registry instead of the local store')
      .option('--json', 'print the steps as JSON'),
  ).action(async (input: string, opts: { remote?: boolean; json?: boolean }, command: Command) => {
    await withAuditTarget(command, input, opts, async (t) => {
      const subject = await t.target.resolve(t.reference);
      const steps = await lineage(t.target, subject.digest);
      if (opts.json) return printJson(steps);
      const rows = steps.map((s) => [s.digest, s.runId ?? '(no provenance: an origin)', s.runId ? (s.signed ? 'signed' : 'unsigned') : '', s.input?.uri ?? '']);
      process.stdout.write(table(['MODELKIT', 'RUN', 'PROVENANCE', 'INPUT'], rows));
    });
  });
}
