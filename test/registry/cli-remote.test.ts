// The built `kit` against real registries: push, pull, login and logout, with plain, Basic and token auth.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRegistry, type RegistryServer } from './harness.js';
import { EXAMPLE, kitIn, kitOk } from '../kit-cli.js';

const servers: RegistryServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => {});
});

const kit = kitIn; // short names: these tests read as kit command lines
const ok = kitOk;

describe('kit push / pull / login against docker-registry', () => {
  it('round-trips through a plain registry and pulls only the model with --filter', async () => {
    const registry = await startRegistry();
    servers.push(registry);
    const home = await mkdtemp(join(tmpdir(), 'kit-cli-reg-'));
    const ref = `${registry.host}/demo/sentiment:v1`;
    const digest = (await ok(home, ['pack', EXAMPLE, '-t', ref])).stdout.trim();
    await ok(home, ['push', ref]);
    await ok(home, ['remove', ref, '--force']);
    const remoteInspect = JSON.parse((await ok(home, ['inspect', '-r', ref])).stdout);
    expect(remoteInspect.digest).toBe(digest);
    expect((await ok(home, ['info', '--remote', ref, '-f', '.package.name'])).stdout.trim()).toBe('sentiment-demo');
    const pulled = JSON.parse((await ok(home, ['pull', ref, '--json'])).stdout);
    expect(pulled.descriptor.digest).toBe(digest);
    const out = await mkdtemp(join(tmpdir(), 'kit-cli-reg-out-'));
    await ok(home, ['unpack', ref, '-d', out]);
    expect(readFileSync(join(out, 'src/train.py'), 'utf8')).toBe(readFileSync(join(EXAMPLE, 'src/train.py'), 'utf8'));

    const other = await mkdtemp(join(tmpdir(), 'kit-cli-reg-2-'));
    const filtered = JSON.parse((await ok(other, ['pull', ref, '--filter', 'model', '--json'])).stdout);
    expect(filtered.layersSkipped).toBe(5);

    // unpack of a ModelKit that is only in the registry fetches just the layers it needs.
    const third = await mkdtemp(join(tmpdir(), 'kit-cli-reg-3-'));
    const docsOnly = await mkdtemp(join(tmpdir(), 'kit-cli-reg-docs-'));
    await ok(third, ['unpack', ref, '--filter', 'docs', '-d', docsOnly]);
    expect(readFileSync(join(docsOnly, 'README.md'), 'utf8')).toBe(readFileSync(join(EXAMPLE, 'README.md'), 'utf8'));
    expect(existsSync(join(docsOnly, 'model'))).toBe(false);
  });

  it('pack --push streams a ModelKit to the registry with no local copy, identical to pack then push', async () => {
    const registry = await startRegistry();
    servers.push(registry);
    const home = await mkdtemp(join(tmpdir(), 'kit-cli-packpush-'));
    const streamed = (await ok(home, ['pack', EXAMPLE, '--push', '-t', `${registry.host}/direct/kit:v1,v2`])).stdout.trim();
    expect(readdirSync(join(home, 'storage/blobs/sha256'))).toEqual([]);
    const other = await mkdtemp(join(tmpdir(), 'kit-cli-packpush-2-'));
    const pulled = JSON.parse((await ok(other, ['pull', `${registry.host}/direct/kit:v2`, '--json'])).stdout);
    expect(pulled.descriptor.digest).toBe(streamed);
    const out = await mkdtemp(join(tmpdir(), 'kit-cli-packpush-out-'));
    await ok(other, ['unpack', `${registry.host}/direct/kit:v2`, '-d', out]);
    expect(readFileSync(join(out, 'model/sentiment.safetensors')).equals(readFileSync(join(EXAMPLE, 'model/sentiment.safetensors')))).toBe(true);
  });

  it('logs in with Basic auth, refuses a wrong password with exit 4, and never prints the secret', async () => {
    const registry = await startRegistry({ auth: 'htpasswd', users: { alice: 's3cret-pw' } });
    servers.push(registry);
    const home = await mkdtemp(join(tmpdir(), 'kit-cli-basic-'));
    const ref = `${registry.host}/team/model:v1`;
    await ok(home, ['pack', EXAMPLE, '-t', ref]);
    const denied = await kit(home, ['push', ref]);
    expect(denied.code).toBe(4);
    expect(denied.stderr).toContain('kit login');

    const wrong = await kit(home, ['login', registry.host, '-u', 'alice', '--password-stdin'], 'wrong-pw\n');
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).not.toContain('wrong-pw');
    const saved = existsSync(join(home, 'credentials.json')) ? JSON.parse(readFileSync(join(home, 'credentials.json'), 'utf8')) : {};
    expect(saved.auths?.[registry.host]).toBeUndefined();

    const login = await ok(home, ['login', registry.host, '-u', 'alice', '--password-stdin'], 's3cret-pw\n');
    expect(login.stderr + login.stdout).not.toContain('s3cret-pw');
    expect(statSync(join(home, 'credentials.json')).mode & 0o777).toBe(0o600);
    await ok(home, ['push', ref]);
    await ok(home, ['logout', registry.host]);
    expect((await kit(home, ['pull', ref])).code).toBe(4);
  });

  it('pushes and pulls through token auth with a real JWT-verifying registry', async () => {
    const registry = await startRegistry({ auth: 'token', users: { bob: 'token-pw' } });
    servers.push(registry);
    const home = await mkdtemp(join(tmpdir(), 'kit-cli-token-'));
    const ref = `${registry.host}/secure/model:v1`;
    const digest = (await ok(home, ['pack', EXAMPLE, '-t', ref])).stdout.trim();
    await ok(home, ['login', registry.host, '-u', 'bob', '--password-stdin'], 'token-pw');
    await ok(home, ['push', ref]);
    await ok(home, ['remove', ref, '--force']);
    const pulled = JSON.parse((await ok(home, ['pull', ref, '--json'])).stdout);
    expect(pulled.descriptor.digest).toBe(digest);
    expect(registry.tokenIssuer!.requests.some((r) => r.user === 'bob' && r.scopes.some((s) => s.includes('secure/model')))).toBe(true);
  });

  it('says clearly when a registry is down or a repository is missing', async () => {
    const registry = await startRegistry();
    servers.push(registry);
    const home = await mkdtemp(join(tmpdir(), 'kit-cli-err-'));
    const missing = await kit(home, ['pull', `${registry.host}/no/such:v1`]);
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const down = await kit(home, ['pull', '127.0.0.1:9/no/such:v1']);
    expect(down.code).toBe(5);
    expect(down.stderr).toMatch(/cannot reach 127\.0\.0\.1:9/);
  });
});
