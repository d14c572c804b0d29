import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { hostPortName, type SshTarget } from './ssh-target.js';

/** One key known_hosts lists for a host. */
export interface KnownHostKey {
  type: string;
  key: Buffer;
  revoked: boolean;
  line: number;
}

export type HostKeyVerdict = 'trusted' | 'unknown' | 'changed' | 'revoked';

/** OpenSSH host patterns: `*` and `?` wildcards, case-insensitive. */
function globMatch(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

/** `|1|salt|hash`: HMAC-SHA1 of the name keyed by the salt (HashKnownHosts yes). */
function hashedMatch(entry: string, name: string): boolean {
  const [, kind, salt, hash] = entry.split('|');
  if (kind !== '1' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** OpenSSH's rule: any matching `!pattern` excludes the line, else any matching pattern includes it. */
function hostsMatch(field: string, name: string): boolean {
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('|')) {
      if (hashedMatch(pattern, name)) matched = true;
    } else if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The keys a known_hosts text lists for the target (`host`, or `[host]:port` off port 22). */
export function knownKeysFor(text: string, target: Pick<SshTarget, 'host' | 'port'>): KnownHostKey[] {
  const name = hostPortName(target).toLowerCase();
  const keys: KnownHostKey[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0]!.startsWith('#')) return;
    let revoked = false;
    if (fields[0]!.startsWith('@')) {
      const marker = fields.shift();
      // Host certificates are not supported here; their CA lines say nothing about plain keys.
      if (marker !== '@revoked') return;
      revoked = true;
    }
    const [hosts, type, base64] = fields;
    if (!hosts || !type || !base64 || !hostsMatch(hosts, name)) return;
    keys.push({ type, key: Buffer.from(base64, 'base64'), revoked, line: i + 1 });
  });
  return keys;
}

export function checkHostKey(known: KnownHostKey[], presented: Buffer): HostKeyVerdict {
  if (known.some((k) => k.revoked && k.key.equals(presented))) return 'revoked';
  const trusted = known.filter((k) => !k.revoked);
  if (trusted.some((k) => k.key.equals(presented))) return 'trusted';
  return trusted.length === 0 ? 'unknown' : 'changed';
}

/** The key type inside an SSH public key blob (its first string). */
export function keyBlobType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH SHA256 fingerprint, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const SUPPORTED_HOST_KEY_ALGORITHMS = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-dss']);

/**
 * Host key algorithms (ssh2 names) for the key types known_hosts lists, in file order: a server
 * with several host keys then offers one we can check instead of the client's first preference.
 * Empty when nothing usable is known (the server's offer is then refused as unknown).
 */
export function hostKeyAlgorithms(known: KnownHostKey[]): string[] {
  const names: string[] = [];
  for (const k of known) {
    if (k.revoked) continue;
    const algs = k.type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [k.type];
    for (const a of algs) if (SUPPORTED_HOST_KEY_ALGORITHMS.has(a) && !names.includes(a)) names.push(a);
  }
  return names;
}
