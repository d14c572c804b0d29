// TLS to a real docker-registry serving HTTPS with a self-signed certificate for 127.0.0.1.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore, pack } from '@modelkit/core';
import { pullModelKit, pushModelKit, RegistryClient } from '@modelkit/registry';
import { freePort } from './harness.js';

const EXAMPLE = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '../..'), 'examples/sentiment');
let child: ChildProcess;
let host: string;
let ca: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kit-tls-'));
  ca = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', ca], { stdio: 'ignore' });
  host = `127.0.0.1:${await freePort()}`;
  await writeFile(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${host}\n  tls:\n    certificate: ${ca}\n    key: ${join(dir, 'key.pem')}\n`);
  child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('openssl', ['s_client', '-connect', host], { input: '', stdio: 'ignore', timeout: 2000 });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the TLS registry did not start');
});
afterAll(() => {
  child?.kill();
});

describe('TLS', () => {
  it('refuses an unknown certificate, and works with the CA given or verification off', async () => {
    const store = await LocalStore.open(await mkdtemp(join(tmpdir(), 'kit-tls-home-')));
    await pack({ store, contextDir: EXAMPLE, tags: ['tls/kit:v1'] });

    const strict = new RegistryClient({ kitopsHome: store.root, plainHttp: false });
    const { repository: denied } = strict.repository(`${host}/tls/kit:v1`);
    await expect(pushModelKit({ store, source: 'tls/kit:v1', repository: denied, tags: ['v1'] })).rejects.toMatchObject({ code: 'NETWORK', message: expect.stringContaining('--tls-cert') });
    await strict.close();

    const trusted = new RegistryClient({ kitopsHome: store.root, caFiles: [ca] });
    const { repository } = trusted.repository(`${host}/tls/kit:v1`);
    await pushModelKit({ store, source: 'tls/kit:v1', repository, tags: ['v1'] });
    await trusted.close();

    const insecure = new RegistryClient({ kitopsHome: store.root, tlsVerify: false });
    const fresh = await LocalStore.open(await mkdtemp(join(tmpdir(), 'kit-tls-pull-')));
    const pulled = await pullModelKit({ store: fresh, repository: insecure.repository(`${host}/tls/kit:v1`).repository, reference: 'v1' });
    expect(pulled.descriptor.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    await insecure.close();
  });
});

describe('mutual TLS', () => {
  it('presents a client certificate when the registry requires one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kit-mtls-'));
    const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca-key.pem', '-out', 'ca.pem']);
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', 'server-key.pem', '-out', 'server.pem']);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kit-client', '-keyout', 'client-key.pem', '-out', 'client.csr']);
    run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-out', 'client.pem']);
    const mtlsHost = `127.0.0.1:${await freePort()}`;
    await writeFile(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${mtlsHost}\n  tls:\n    certificate: ${join(dir, 'server.pem')}\n    key: ${join(dir, 'server-key.pem')}\n    clientcas:\n      - ${join(dir, 'ca.pem')}\n`);
    const server = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 500));
      const store = await LocalStore.open(await mkdtemp(join(tmpdir(), 'kit-mtls-home-')));
      await pack({ store, contextDir: EXAMPLE, tags: ['mtls/kit:v1'] });
      const anonymous = new RegistryClient({ kitopsHome: store.root, caFiles: [join(dir, 'server.pem')], retries: 1 });
      await expect(pushModelKit({ store, source: 'mtls/kit:v1', repository: anonymous.repository(`${mtlsHost}/mtls/kit`).repository, tags: ['v1'] })).rejects.toMatchObject({ code: 'NETWORK' });
      await anonymous.close();
      const client = new RegistryClient({ kitopsHome: store.root, caFiles: [join(dir, 'server.pem')], clientCert: join(dir, 'client.pem'), clientKey: join(dir, 'client-key.pem') });
      await pushModelKit({ store, source: 'mtls/kit:v1', repository: client.repository(`${mtlsHost}/mtls/kit`).repository, tags: ['v1'] });
      expect(await client.repository(`${mtlsHost}/mtls/kit`).repository.listTags()).toEqual(['v1']);
      await client.close();
    } finally {
      server.kill();
    }
  });
});
