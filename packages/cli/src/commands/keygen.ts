import { generateKeyPair, KitError, writeKeyPair, type KeyAlgorithm } from '@modelkit/core';
import type { Command } from 'commander';
import { info, printJson } from '../output.js';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('Generate a signing key pair: PREFIX.key (private, 0600) and PREFIX.pub')
    .option('--output-key-prefix <prefix>', 'where to write the keys', 'kit')
    .option('--algorithm <algorithm>', 'ecdsa-p256 or ed25519', 'ecdsa-p256')
    .option('--force', 'overwrite existing key files')
    .option('--json', 'print the paths as JSON')
    .action(async (opts: { outputKeyPrefix: string; algorithm: string; force?: boolean; json?: boolean }) => {
      if (opts.algorithm !== 'ecdsa-p256' && opts.algorithm !== 'ed25519') {
        throw new KitError('INVALID_ARGUMENT', `--algorithm ${opts.algorithm}: use ecdsa-p256 or ed25519`);
      }
      const written = await writeKeyPair(opts.outputKeyPrefix, generateKeyPair(opts.algorithm as KeyAlgorithm), { force: opts.force });
      if (opts.json) printJson(written);
      else info(`Private key written to ${written.privateKeyPath}\nPublic key written to ${written.publicKeyPath}`);
    });
}
