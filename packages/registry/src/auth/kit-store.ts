/**
 * kit's own credential file, `$KITOPS_HOME/credentials.json`, in Docker's config.json format so the
 * Go `kit login` and this toolkit share logins. Writes go to a 0600 temp file that is renamed over
 * the old one: a crash never leaves a half-written file, and the secret is never world-readable.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KitError } from '@modelkit/core';
import { credentialFromEntry, readConfigFile, type DockerConfigFile } from './config-file.js';
import { credentialServerAddress, findServerEntry, normaliseServerKey } from './server-address.js';
import { encodeBasicAuth, type Credential, type CredentialSource } from './secret.js';

export const KIT_CREDENTIALS_FILE = 'credentials.json';

export class KitCredentialStore implements CredentialSource {
  readonly path: string;
  // Serialises this instance's read-modify-write cycles; across processes the last writer wins.
  private writes: Promise<unknown> = Promise.resolve();

  constructor(kitopsHome: string) {
    this.path = join(kitopsHome, KIT_CREDENTIALS_FILE);
  }

  async get(registry: string): Promise<Credential | undefined> {
    const config = await readConfigFile(this.path);
    return credentialFromEntry(findServerEntry(config?.auths, registry), registry, this.path);
  }

  /** Stores `username:password` for the registry, replacing any entry for the same host. */
  async set(registry: string, credential: { username: string; password: string }): Promise<void> {
    const { username, password } = credential;
    if (typeof username !== 'string' || username === '' || username.includes(':')) {
      throw new KitError('INVALID_ARGUMENT', `the username for ${registry} must be non-empty and must not contain ':'`);
    }
    if (typeof password !== 'string' || password === '') {
      throw new KitError('INVALID_ARGUMENT', `the password for ${registry} must not be empty`);
    }
    const key = checkedKey(registry);
    await this.update((auths) => {
      dropHost(auths, registry);
      auths[key] = { auth: encodeBasicAuth(username, password) };
    });
  }

  /** Removes the registry's entries; false when there were none. */
  async remove(registry: string): Promise<boolean> {
    checkedKey(registry);
    let removed = false;
    await this.update((auths) => {
      removed = dropHost(auths, registry);
      return removed;
    });
    return removed;
  }

  toJSON(): { path: string } {
    return { path: this.path };
  }

  private update(change: (auths: NonNullable<DockerConfigFile['auths']>) => boolean | void): Promise<void> {
    const run = async (): Promise<void> => {
      const config: DockerConfigFile = (await readConfigFile(this.path)) ?? {};
      const auths = config.auths && typeof config.auths === 'object' ? config.auths : {};
      if (change(auths) === false) return;
      config.auths = auths;
      await writeFileAtomic(this.path, `${JSON.stringify(config, null, '\t')}\n`);
    };
    const next = this.writes.then(run, run);
    this.writes = next.catch(() => undefined);
    return next;
  }
}

function checkedKey(registry: string): string {
  if (typeof registry !== 'string' || normaliseServerKey(registry) === '') {
    throw new KitError('INVALID_ARGUMENT', `invalid registry ${JSON.stringify(registry)}; expected a host[:port] such as ghcr.io`);
  }
  return credentialServerAddress(registry);
}

function dropHost(auths: Record<string, unknown>, registry: string): boolean {
  const host = normaliseServerKey(registry);
  let dropped = false;
  for (const key of Object.keys(auths)) {
    if (normaliseServerKey(key) === host) {
      delete auths[key];
      dropped = true;
    }
  }
  return dropped;
}

async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let created = false;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // 'wx' + 0600 from the start: the secret is never in a file others could open.
    const fh = await open(tmp, 'wx', 0o600);
    created = true;
    try {
      await fh.chmod(0o600); // the umask can only have made it stricter; make it exactly 0600
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new KitError('IO', `could not write credentials file ${path}: ${code}`, { cause: e });
  }
}
