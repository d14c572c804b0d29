import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chainCredentials,
  defaultCredentials,
  DockerConfigCredentials,
  KitCredentialStore,
  runCredentialHelper,
  type Credential,
  type CredentialSource,
} from '../../src/auth/index.js';
import { caught } from '../helpers/caught.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

let root: string;
let binDir: string;
let helperLog: string;
let n = 0;

/** A fresh directory per test, so tests never see each other's files. */
async function freshDir(): Promise<string> {
  const dir = join(root, `case-${n++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Environment for a test: HOME and DOCKER_CONFIG in `dir`, the fake helpers first on PATH. */
function envFor(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}`, HOME: join(dir, 'home'), HELPER_LOG: helperLog, ...extra };
}

async function writeDockerConfig(dir: string, config: unknown): Promise<void> {
  await mkdir(join(dir, 'docker'), { recursive: true });
  await writeFile(join(dir, 'docker', 'config.json'), JSON.stringify(config));
}

// A real executable speaking the docker-credential-helpers protocol (not a mock of our code).
const HELPER = `#!/bin/sh
url=$(cat)
if [ -n "$HELPER_LOG" ]; then printf '%s %s\\n' "$1" "$url" >> "$HELPER_LOG"; fi
if [ "$1" != "get" ]; then echo "unknown action"; exit 1; fi
case "$url" in
  registry.example.com) printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret-helper"}' "$url" ;;
  token.example.com) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-abc"}' "$url" ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hubuser","Secret":"hubpass"}' "$url" ;;
  empty.example.com) printf '{"ServerURL":"%s","Username":"","Secret":""}' "$url" ;;
  notjson.example.com) echo 'Secret=leaky-value' ;;
  slow.example.com) exec sleep 10 ;;
  broken.example.com) echo "keychain is locked"; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'modelkit-creds-'));
  binDir = join(root, 'bin');
  await mkdir(binDir);
  helperLog = join(root, 'helper.log');
  await writeFile(join(binDir, 'docker-credential-test'), HELPER);
  await chmod(join(binDir, 'docker-credential-test'), 0o755);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});


describe('KitCredentialStore', () => {
  it('stores Docker-format entries atomically with mode 0600', async () => {
    const home = join(await freshDir(), 'kitops');
    const store = new KitCredentialStore(home);
    expect(await store.get('ghcr.io')).toBeUndefined();
    await store.set('ghcr.io', { username: 'alice', password: 'pa:ss' });
    const path = join(home, 'credentials.json');
    expect(store.path).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ auths: { 'ghcr.io': { auth: b64('alice:pa:ss') } } });
    expect(await store.get('ghcr.io')).toEqual({ username: 'alice', password: 'pa:ss' });
    expect(await readdir(home)).toEqual(['credentials.json']); // no temp files left
  });

  it('makes an existing world-readable file 0600 on write and keeps unrelated content', async () => {
    const home = await freshDir();
    const path = join(home, 'credentials.json');
    await writeFile(path, JSON.stringify({ auths: { 'quay.io': { auth: b64('q:w') } }, credsStore: 'x', other: 1 }));
    await chmod(path, 0o644);
    const store = new KitCredentialStore(home);
    await store.set('localhost:5000', { username: 'u', password: 'p' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(path, 'utf8'));
    expect(saved.other).toBe(1);
    expect(saved.credsStore).toBe('x');
    expect(Object.keys(saved.auths).sort()).toEqual(['localhost:5000', 'quay.io']);
  });

  it('keys Docker Hub as https://index.docker.io/v1/ and finds it by any alias', async () => {
    const home = await freshDir();
    const store = new KitCredentialStore(home);
    await store.set('docker.io', { username: 'hub', password: 'pw' });
    const saved = JSON.parse(await readFile(store.path, 'utf8'));
    expect(Object.keys(saved.auths)).toEqual(['https://index.docker.io/v1/']);
    for (const alias of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) {
      expect(await store.get(alias)).toEqual({ username: 'hub', password: 'pw' });
    }
  });

  it('replaces legacy keys for the same host and removes entries', async () => {
    const home = await freshDir();
    await writeFile(join(home, 'credentials.json'), JSON.stringify({ auths: { 'https://ghcr.io/': { auth: b64('old:old') } } }));
    const store = new KitCredentialStore(home);
    expect(await store.get('ghcr.io')).toEqual({ username: 'old', password: 'old' });
    await store.set('ghcr.io', { username: 'new', password: 'new' });
    expect(Object.keys(JSON.parse(await readFile(store.path, 'utf8')).auths)).toEqual(['ghcr.io']);
    expect(await store.remove('ghcr.io')).toBe(true);
    expect(await store.remove('ghcr.io')).toBe(false);
    expect(await store.get('ghcr.io')).toBeUndefined();
  });

  it('serialises concurrent writes from one instance', async () => {
    const store = new KitCredentialStore(await freshDir());
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.set(`r${i}.example.com`, { username: `u${i}`, password: `p${i}` })));
    for (let i = 0; i < 10; i++) expect(await store.get(`r${i}.example.com`)).toEqual({ username: `u${i}`, password: `p${i}` });
  });

  it('rejects unusable usernames and passwords', async () => {
    const store = new KitCredentialStore(await freshDir());
    expect((await caught(store.set('r.io', { username: 'a:b', password: 'p' }))).code).toBe('INVALID_ARGUMENT');
    expect((await caught(store.set('r.io', { username: '', password: 'p' }))).message).toContain('r.io');
    expect((await caught(store.set('r.io', { username: 'a', password: '' }))).message).toContain('password');
    expect((await caught(store.set('', { username: 'a', password: 'b' }))).message).toContain('invalid registry');
  });

  it('reports a corrupt file without quoting it', async () => {
    const home = await freshDir();
    await writeFile(join(home, 'credentials.json'), '{"auths": {"r.io": {"auth": "SUPERSECRET"} ');
    const err = await caught(new KitCredentialStore(home).get('r.io'));
    expect(err.exitCode).toBe(4);
    expect(err.message).toContain('not valid JSON');
    expect(err.message).not.toContain('SUPERSECRET');
    expect(err.cause).toBeUndefined();
  });

  it('reports a malformed auth entry', async () => {
    const home = await freshDir();
    await writeFile(join(home, 'credentials.json'), JSON.stringify({ auths: { 'r.io': { auth: b64('nocolon') } } }));
    const err = await caught(new KitCredentialStore(home).get('r.io'));
    expect(err.message).toMatch(/malformed.*kit login r\.io/);
    expect(err.message).not.toContain('nocolon');
  });
});

describe('DockerConfigCredentials', () => {
  it('reads auths from $DOCKER_CONFIG: auth, username/password, identitytoken, registrytoken', async () => {
    const dir = await freshDir();
    await writeDockerConfig(dir, {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:hubpw') },
        'https://legacy.example.com/v2/': { username: 'leg', password: 'legpw' },
        'idt.example.com': { identitytoken: 'id-token-1' },
        'rt.example.com': { registrytoken: 'reg-token-1' },
        'helper-only.example.com': {},
      },
    });
    const src = new DockerConfigCredentials({ env: envFor(dir, { DOCKER_CONFIG: join(dir, 'docker') }) });
    expect(src.path).toBe(join(dir, 'docker', 'config.json'));
    expect(await src.get('docker.io')).toEqual({ username: 'hub', password: 'hubpw' });
    expect(await src.get('registry-1.docker.io')).toEqual({ username: 'hub', password: 'hubpw' });
    expect(await src.get('legacy.example.com')).toEqual({ username: 'leg', password: 'legpw' });
    expect(await src.get('idt.example.com')).toEqual({ identityToken: 'id-token-1' });
    expect(await src.get('rt.example.com')).toEqual({ registryToken: 'reg-token-1' });
    expect(await src.get('helper-only.example.com')).toBeUndefined();
    expect(await src.get('unknown.example.com')).toBeUndefined();
  });

  it('falls back to ~/.docker/config.json and tolerates a missing file', async () => {
    const dir = await freshDir();
    const env = envFor(dir);
    expect(await new DockerConfigCredentials({ env }).get('r.io')).toBeUndefined();
    await mkdir(join(dir, 'home', '.docker'), { recursive: true });
    await writeFile(join(dir, 'home', '.docker', 'config.json'), JSON.stringify({ auths: { 'r.io': { auth: b64('h:p') } } }));
    expect(await new DockerConfigCredentials({ env }).get('r.io')).toEqual({ username: 'h', password: 'p' });
  });

  it('asks credHelpers[host] first, then credsStore, then auths', async () => {
    const dir = await freshDir();
    await writeDockerConfig(dir, {
      auths: { 'registry.example.com': { auth: b64('file:filepw') }, 'other.example.com': { auth: b64('o:opw') } },
      credHelpers: { 'registry.example.com': 'test', 'gone.example.com': 'not-installed-anywhere' },
    });
    const env = envFor(dir, { DOCKER_CONFIG: join(dir, 'docker') });
    const src = new DockerConfigCredentials({ env });
    expect(await src.get('registry.example.com')).toEqual({ username: 'alice', password: 's3cret-helper' });
    expect(await src.get('other.example.com')).toEqual({ username: 'o', password: 'opw' });
    // An absent helper binary does not break anonymous or file-based access.
    expect(await src.get('gone.example.com')).toBeUndefined();

    await writeDockerConfig(dir, { auths: { 'nowhere.example.com': { auth: b64('f:f') } }, credsStore: 'test' });
    expect(await src.get('https://index.docker.io/v1/')).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect(await src.get('token.example.com')).toEqual({ identityToken: 'refresh-abc' });
    // The store applies and says "not found": anonymous, as Docker does, not the auths entry.
    expect(await src.get('nowhere.example.com')).toBeUndefined();
  });

  it('falls back to auths when the configured credsStore is not installed', async () => {
    const dir = await freshDir();
    await writeDockerConfig(dir, { auths: { 'r.io': { auth: b64('f:fpw') } }, credsStore: 'desktop-not-here' });
    const src = new DockerConfigCredentials({ configDir: join(dir, 'docker'), env: envFor(dir) });
    expect(await src.get('r.io')).toEqual({ username: 'f', password: 'fpw' });
  });

  it('rejects helper names that are paths', async () => {
    const dir = await freshDir();
    await writeDockerConfig(dir, { credsStore: '../../bin/sh' });
    const err = await caught(new DockerConfigCredentials({ configDir: join(dir, 'docker'), env: envFor(dir) }).get('r.io'));
    expect(err.message).toContain('invalid credential helper name');
  });
});

describe('runCredentialHelper', () => {
  const env = (): NodeJS.ProcessEnv => ({ PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}`, HELPER_LOG: helperLog });

  it('runs `get` with the server URL on stdin (Docker Hub as https://index.docker.io/v1/)', async () => {
    await writeFile(helperLog, '');
    expect(await runCredentialHelper('test', 'registry.example.com', { env: env() })).toEqual({ username: 'alice', password: 's3cret-helper' });
    expect(await runCredentialHelper('test', 'docker.io', { env: env() })).toEqual({ username: 'hubuser', password: 'hubpass' });
    expect((await readFile(helperLog, 'utf8')).split('\n')).toEqual(['get registry.example.com', 'get https://index.docker.io/v1/', '']);
  });

  it('treats Username <token> as an identity token, and "not found" or an empty secret as none', async () => {
    expect(await runCredentialHelper('test', 'token.example.com', { env: env() })).toEqual({ identityToken: 'refresh-abc' });
    expect(await runCredentialHelper('test', 'unknown.example.com', { env: env() })).toBeUndefined();
    expect(await runCredentialHelper('test', 'empty.example.com', { env: env() })).toBeUndefined();
  });

  it('reports failures, bad output, missing helpers and timeouts as credential errors', async () => {
    const broken = await caught(runCredentialHelper('test', 'broken.example.com', { env: env() }));
    expect(broken.exitCode).toBe(4);
    expect(broken.message).toBe('credential helper docker-credential-test failed for broken.example.com (exit 3): keychain is locked');

    const notJson = await caught(runCredentialHelper('test', 'notjson.example.com', { env: env() }));
    expect(notJson.message).toContain('not JSON');
    expect(notJson.message).not.toContain('leaky-value');

    const missing = await caught(runCredentialHelper('absent', 'r.io', { env: env() }));
    expect(missing.message).toContain('docker-credential-absent');

    const started = Date.now();
    const slow = await caught(runCredentialHelper('test', 'slow.example.com', { env: env(), timeoutMs: 300 }));
    expect(slow.message).toContain('did not answer within 0.3 s for slow.example.com');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('chains and defaults', () => {
  it('chainCredentials returns the first hit', async () => {
    const calls: string[] = [];
    const src = (name: string, c?: Credential): CredentialSource => ({
      async get(r) {
        calls.push(`${name}:${r}`);
        return c;
      },
    });
    const chain = chainCredentials(src('a'), src('b', { username: 'b', password: 'x' }), src('c', { username: 'c', password: 'y' }));
    expect(await chain.get('r.io')).toEqual({ username: 'b', password: 'x' });
    expect(calls).toEqual(['a:r.io', 'b:r.io']);
    expect(await chainCredentials().get('r.io')).toBeUndefined();
  });

  it('defaultCredentials prefers kit’s store, then Docker config', async () => {
    const dir = await freshDir();
    await writeDockerConfig(dir, { auths: { 'r.io': { auth: b64('docker:d') }, 's.io': { auth: b64('docker:s') } } });
    const kitopsHome = join(dir, 'kitops');
    await new KitCredentialStore(kitopsHome).set('r.io', { username: 'kit', password: 'k' });
    const env = envFor(dir, { DOCKER_CONFIG: join(dir, 'docker'), KITOPS_HOME: kitopsHome });
    for (const creds of [defaultCredentials({ kitopsHome, env }), defaultCredentials({ env })]) {
      expect(await creds.get('r.io')).toEqual({ username: 'kit', password: 'k' });
      expect(await creds.get('s.io')).toEqual({ username: 'docker', password: 's' });
      expect(await creds.get('t.io')).toBeUndefined();
    }
  });

  it('never shows secrets when credentials and stores are serialised or inspected', async () => {
    const dir = await freshDir();
    await writeDockerConfig(dir, { auths: { 'r.io': { auth: b64('user:topsecret'), identitytoken: 'idtok-secret' } } });
    const src = new DockerConfigCredentials({ configDir: join(dir, 'docker'), env: envFor(dir) });
    const cred = await src.get('r.io');
    expect(cred).toEqual({ username: 'user', password: 'topsecret', identityToken: 'idtok-secret' });
    for (const shown of [JSON.stringify(cred), inspect(cred), JSON.stringify({ nested: [cred] }), JSON.stringify(src), inspect(src)]) {
      expect(shown).not.toContain('topsecret');
      expect(shown).not.toContain('idtok-secret');
    }
    expect(JSON.parse(JSON.stringify(cred))).toEqual({ username: 'user', password: '[redacted]', identityToken: '[redacted]' });
    const helperCred = await runCredentialHelper('test', 'registry.example.com', { env: envFor(dir) });
    expect(JSON.stringify(helperCred)).not.toContain('s3cret-helper');
    expect(inspect(helperCred)).not.toContain('s3cret-helper');
  });
});
