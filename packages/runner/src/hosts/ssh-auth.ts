import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KitError } from '@modelkit/core';
import ssh2 from 'ssh2';
import type { ConnectConfig } from 'ssh2';
import { fingerprint, keyBlobType, knownKeysFor, type HostKeyVerdict, type KnownHostKey } from './ssh-known-hosts.js';
import { hostPortName, type SshTarget } from './ssh-target.js';

// What SSH proves and trusts: the client key (or agent) and the known host keys.

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KitError('IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** A key ssh2 can use without a passphrase, or why not. */
function usableKey(data: Buffer): { ok: true } | { ok: false; encrypted: boolean; why: string } {
  const parsed = ssh2.utils.parseKey(data);
  if (!(parsed instanceof Error)) return { ok: true };
  return { ok: false, encrypted: /passphrase|encrypted/i.test(parsed.message), why: parsed.message };
}

export async function loadAuth(privateKeyPath: string | undefined): Promise<Pick<ConnectConfig, 'privateKey' | 'agent'>> {
  const agent = process.env.SSH_AUTH_SOCK || undefined;
  if (privateKeyPath !== undefined) {
    const path = expandHome(privateKeyPath);
    const data = await readOptional(path);
    if (!data) throw new KitError('KEY_INVALID', `SSH private key ${path} does not exist`);
    const check = usableKey(data);
    if (check.ok) return { privateKey: data, agent };
    // A passphrase-protected key is normally unlocked in the agent; without one it is unusable.
    if (check.encrypted && agent) return { agent };
    throw new KitError('KEY_INVALID', check.encrypted ? `SSH private key ${path} is passphrase-protected: add it to ssh-agent (ssh-add) so that SSH_AUTH_SOCK is set` : `SSH private key ${path} is not a usable private key (${check.why})`);
  }
  for (const name of DEFAULT_KEYS) {
    const data = await readOptional(join(homedir(), '.ssh', name));
    if (data && usableKey(data).ok) return { privateKey: data, agent };
  }
  if (agent) return { agent };
  throw new KitError('UNAUTHORIZED', `no SSH key: none of ~/.ssh/${DEFAULT_KEYS.join(', ')} is usable without a passphrase and SSH_AUTH_SOCK is not set; pass a key file or start ssh-agent`);
}

export async function loadKnownHosts(options: { target: SshTarget; knownHostsPath?: string }): Promise<{ keys: KnownHostKey[]; files: string[] }> {
  const files = options.knownHostsPath !== undefined ? [expandHome(options.knownHostsPath)] : [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
  const keys: KnownHostKey[] = [];
  for (const file of files) {
    const text = await readOptional(file);
    if (text) keys.push(...knownKeysFor(text.toString('utf8'), options.target));
  }
  return { keys, files };
}

export function hostKeyError(verdict: HostKeyVerdict, key: Buffer, target: SshTarget, files: string[]): KitError {
  const name = hostPortName(target);
  const offered = `${keyBlobType(key)} key ${fingerprint(key)}`;
  const where = files.join(' or ');
  const sshOnce = `ssh${target.port === 22 ? '' : ` -p ${target.port}`} ${target.user}@${target.host}`;
  switch (verdict) {
    case 'unknown':
      return new KitError('UNAUTHORIZED', `host key of ${name} is not known (${where} has no entry; it offered ${offered}): connect once with \`${sshOnce}\` to check and record it, or pass --ssh-known-hosts FILE`);
    case 'changed':
      return new KitError('UNAUTHORIZED', `host key of ${name} has CHANGED (it offered ${offered}, ${where} lists another): this could be a man-in-the-middle attack; if the change is expected, remove the old entry with \`ssh-keygen -R '${name}'\` and connect once with \`${sshOnce}\``);
    default:
      return new KitError('UNAUTHORIZED', `host key of ${name} (${offered}) is marked @revoked in ${where}; refusing to connect`);
  }
}
