import { loadPolicy, trustedKey, verifyModelKit } from '@modelkit/core';
import type { Command } from 'commander';
import { withAuditTarget } from '../audit-target.js';
import { info, printJson } from '../output.js';
import { withNetworkOptions } from '../remote.js';

export function registerVerify(program: Command): void {
  withNetworkOptions(
    program
      .command('verify')
      .description('Check signatures, that the tag still points at the signed digest, every blob digest, and a policy')
      .argument('<reference>', 'ModelKit reference; repo:tag@sha256:… also checks the tag still points at that digest')
      .option('--key <file...>', 'trusted public key(s) (PEM); a valid signature by one of them is required')
      .option('--policy <file>', 'a policy (YAML: signers, licenses.allowed, attestations) to enforce')
      .option('--skip-blobs', 'do not re-hash the blobs')
      .option('-r, --remote', 'verify the ModelKit in the registry instead of the local store')
      .option('--json', 'print the report as JSON'),
    { clientCertFlags: false },
  ).action(async (input: string, opts: { key?: string[]; policy?: string; skipBlobs?: boolean; remote?: boolean; json?: boolean }, command: Command) => {
    const keys = await Promise.all((opts.key ?? []).map((k) => trustedKey(k)));
    const policy = opts.policy ? await loadPolicy(opts.policy) : undefined;
    await withAuditTarget(command, input, opts, async (t) => {
      const report = await verifyModelKit({ target: t.target, reference: t.reference, name: t.name, expectedDigest: t.expectedDigest, keys, policy, checkBlobs: !opts.skipBlobs });
      if (opts.json) return printJson(report);
      for (const s of report.signatures) info(`Signature ${s.referrer}: valid, signed by ${s.signer}`);
      for (const a of report.attestations) info(`Attestation ${a.predicateType} ${a.referrer}: valid, signed by ${a.signer}`);
      if (!opts.skipBlobs) info(`Blobs: ${report.blobs.checked} checked (${report.blobs.bytes} bytes), all match their digests`);
      if (policy) info(`Policy ${policy.file}: satisfied`);
      info(`Verified ${t.name} (${report.digest})`);
    });
  });
}
