import type { KeyObject } from 'node:crypto';
import { attestationPayload, KitError, loadPrivateKey, signaturePayload, type Descriptor, type SignedPayload } from '@modelkit/core';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { withAuditTarget, type AuditTarget } from '../audit-target.js';
import { info, printJson } from '../output.js';
import { withNetworkOptions } from '../remote.js';

interface SignFlags {
  key: string;
  remote?: boolean;
  json?: boolean;
}

/** Sign what `reference` points at now and attach the bundle beside it (locally, or in the registry with -r). */
async function attachSigned(command: Command, input: string, opts: SignFlags, what: string, build: (t: AuditTarget, subject: Descriptor, manifest: Buffer, key: KeyObject) => SignedPayload): Promise<void> {
  const key = await loadPrivateKey(opts.key);
  await withAuditTarget(command, input, opts, async (t) => {
    const subject = await t.target.resolve(t.reference);
    if (t.expectedDigest && subject.digest !== t.expectedDigest) {
      throw new KitError('SIGNATURE_INVALID', `${t.name} points at ${subject.digest}, not ${t.expectedDigest}: refusing to sign`);
    }
    const signed = build(t, subject, await t.target.fetchManifest(subject), key);
    const referrer = await t.attach(subject, signed.payload);
    if (opts.json) printJson({ subject: subject.digest, referrer: referrer.digest, keyId: signed.keyId });
    else info(`${what} ${t.name} (${subject.digest}) with key ${signed.keyId.slice(0, 16)}…: ${referrer.digest}`);
  });
}

export function registerSign(program: Command): void {
  withNetworkOptions(
    program
      .command('sign')
      .description("Sign a ModelKit's manifest digest; the signature is attached as a Sigstore bundle referrer")
      .argument('<reference>', 'ModelKit reference')
      .requiredOption('--key <file>', 'private key (PEM, ECDSA P-256 or Ed25519)')
      .option('-r, --remote', 'sign the ModelKit in the registry and attach the signature there')
      .option('--json', 'print the result as JSON'),
    { clientCertFlags: false },
  ).action(async (input: string, opts: SignFlags, command: Command) => {
    await attachSigned(command, input, opts, 'Signed', (_t, _subject, manifest, key) => signaturePayload(manifest, key));
  });
}

export function registerAttest(program: Command): void {
  withNetworkOptions(
    program
      .command('attest')
      .description('Attach a signed in-toto attestation (SLSA provenance, an SBOM, …) to a ModelKit')
      .argument('<reference>', 'ModelKit reference')
      .requiredOption('--key <file>', 'private key (PEM, ECDSA P-256 or Ed25519)')
      .requiredOption('--predicate <file>', 'the predicate, a JSON file')
      .requiredOption('--type <uri>', 'its predicate type, e.g. https://slsa.dev/provenance/v1')
      .option('-r, --remote', 'attest the ModelKit in the registry and attach it there')
      .option('--json', 'print the result as JSON'),
    { clientCertFlags: false },
  ).action(async (input: string, opts: SignFlags & { predicate: string; type: string }, command: Command) => {
    let predicate: unknown;
    try {
      predicate = JSON.parse(await readFile(opts.predicate, 'utf8'));
    } catch (e) {
      throw new KitError('INVALID_ARGUMENT', `--predicate ${opts.predicate}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; give a JSON file`);
    }
    await attachSigned(command, input, opts, `Attested ${opts.type} for`, (t, subject, _manifest, key) => attestationPayload(subject, t.name, opts.type, predicate, key));
  });
}
