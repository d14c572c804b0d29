import { KitError } from '@modelkit/core';
import { KitCredentialStore, RemoteRepository } from '@modelkit/registry';
import type { Command } from 'commander';
import { kitHome } from '../context.js';
import { info } from '../output.js';
import { registryClient, withNetworkOptions, type NetworkFlags } from '../remote.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerLogin(program: Command): void {
  withNetworkOptions(
    program
      .command('login')
      .description("Check and save credentials for a registry in kit's credential store (0600)")
      .argument('<registry>', 'registry host, e.g. ghcr.io or localhost:5000')
      .option('-u, --username <name>', 'user name')
      .option('-p, --password <password>', 'password (prefer --password-stdin)')
      .option('--password-stdin', 'read the password from standard input'),
  ).action(async (registry: string, opts: NetworkFlags & { username?: string; password?: string; passwordStdin?: boolean }, command: Command) => {
    if (!opts.username) throw new KitError('INVALID_ARGUMENT', 'give a user name with -u');
    const password = opts.passwordStdin ? await readStdin() : opts.password;
    if (!password) throw new KitError('INVALID_ARGUMENT', 'give a password with --password-stdin (or -p)');
    const store = new KitCredentialStore(kitHome(command));
    // Check before saving: write the credentials, try them, and take them back if refused.
    const previous = await store.get(registry);
    await store.set(registry, { username: opts.username, password });
    const client = registryClient(command, opts);
    try {
      const { repository } = client.repository(`${registry}/kit-login-check:probe`);
      await checkAccess(repository);
    } catch (e) {
      if (previous?.username && previous.password) await store.set(registry, { username: previous.username, password: previous.password });
      else await store.remove(registry);
      throw e;
    } finally {
      await client.close();
    }
    info(`Login succeeded for ${registry}`);
  });
}

/** GET /v2/ with credentials: 200 means they work (a 401 after the challenge means they don't). */
async function checkAccess(repository: RemoteRepository): Promise<void> {
  const res = await repository.transport.request({ method: 'GET', url: '/v2/', scopes: [], expect: [200], what: `log in to ${repository.registry}` });
  await res.body.dump();
}

export function registerLogout(program: Command): void {
  program
    .command('logout')
    .description("Remove a registry's credentials from kit's credential store")
    .argument('<registry>', 'registry host')
    .action(async (registry: string, _opts, command: Command) => {
      const removed = await new KitCredentialStore(kitHome(command)).remove(registry);
      info(removed ? `Removed credentials for ${registry}` : `No credentials stored for ${registry}`);
    });
}
