import { RegistryClient } from '@modelkit/registry';
import type { Command } from 'commander';
import { kitHome } from './context.js';

/**
 * The network flags kit's remote commands share. Signing commands use `--key` for the signing
 * key (as cosign does), so there the mutual-TLS pair comes from KITOPS_CLIENT_CERT/KEY only.
 */
export function withNetworkOptions(command: Command, options: { clientCertFlags?: boolean } = {}): Command {
  command
    .option('--plain-http', 'use HTTP instead of HTTPS (default for localhost and 127.0.0.1 unless TLS options are given)')
    .option('--tls-verify <bool>', 'verify TLS certificates', 'true')
    .option('--tls-cert <file...>', 'extra CA certificate (PEM), repeatable');
  if (options.clientCertFlags !== false) {
    command
      .option('--cert <file>', 'client certificate (PEM) for mutual TLS (env KITOPS_CLIENT_CERT)')
      .option('--key <file>', 'client key (PEM) for mutual TLS (env KITOPS_CLIENT_KEY)');
  }
  return command.option('--concurrency <n>', 'blobs transferred at once', '5');
}

export interface NetworkFlags {
  plainHttp?: boolean;
  tlsVerify?: string;
  tlsCert?: string[];
  cert?: string;
  key?: string;
  concurrency?: string;
}

/** A registry client configured from the flags, the environment and the selected kit home. */
export function registryClient(command: Command, flags: NetworkFlags): RegistryClient {
  return new RegistryClient({
    kitopsHome: kitHome(command),
    plainHttp: flags.plainHttp || undefined,
    tlsVerify: flags.tlsVerify !== 'false',
    caFiles: flags.tlsCert,
    clientCert: flags.cert ?? process.env.KITOPS_CLIENT_CERT,
    clientKey: flags.key ?? process.env.KITOPS_CLIENT_KEY,
  });
}

export function concurrency(flags: NetworkFlags): number {
  const n = Number(flags.concurrency ?? 5);
  return Number.isInteger(n) && n > 0 ? n : 5;
}
