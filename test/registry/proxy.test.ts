// The standard proxy variables: requests go through a real forward proxy on 127.0.0.1.
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalStore, pack } from '@modelkit/core';
import { pullModelKit, pushModelKit, RegistryClient } from '@modelkit/registry';
import { startRegistry, type RegistryServer } from './harness.js';

const EXAMPLE = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '../..'), 'examples/sentiment');
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const s of stops) await s();
});

/** A plain HTTP forward proxy: absolute-form requests are forwarded to their origin. */
async function forwardProxy(): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const target = new URL(req.url!);
    seen.push(`${req.method} ${target.pathname}`);
    const upstream = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  // undici tunnels through CONNECT, as clients do for HTTPS.
  server.on('connect', (req, client, head) => {
    const [host, port] = req.url!.split(':');
    seen.push(`CONNECT ${req.url}`);
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  stops.push(() => new Promise((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, seen };
}

describe('proxy settings', () => {
  it('sends registry traffic through HTTP_PROXY', async () => {
    const registry: RegistryServer = await startRegistry();
    stops.push(() => registry.stop());
    const proxy = await forwardProxy();
    const store = await LocalStore.open(await mkdtemp(join(tmpdir(), 'kit-proxy-')));
    await pack({ store, contextDir: EXAMPLE, tags: ['proxy/kit:v1'] });
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
    process.env.HTTP_PROXY = proxy.url;
    delete process.env.NO_PROXY;
    try {
      const client = new RegistryClient({ kitopsHome: store.root });
      const { repository } = client.repository(`${registry.host}/proxied/kit`);
      await pushModelKit({ store, source: 'proxy/kit:v1', repository, tags: ['v1'] });
      const fresh = await LocalStore.open(await mkdtemp(join(tmpdir(), 'kit-proxy-pull-')));
      await pullModelKit({ store: fresh, repository, reference: 'v1' });
      await client.close();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(proxy.seen.filter((s) => s === `CONNECT ${registry.host}` || s.includes('/v2/proxied/kit/')).length).toBeGreaterThan(0);
  });
});
