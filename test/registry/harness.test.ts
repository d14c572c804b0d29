// Proves the registry test harness end to end against real servers on 127.0.0.1:
// distribution 2.8.2 (plain, htpasswd, token), the token issuer, the fault proxy and skopeo.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMPTY_CONFIG,
  MANIFEST_ACCEPT,
  OCI_MANIFEST,
  freePort,
  parseChallenge,
  parseScope,
  pushArtifact,
  putBlob,
  sha256,
  skopeo,
  startFaultProxy,
  startRegistry,
  startTokenIssuer,
  type FaultProxy,
  type RegistryServer,
  type TokenIssuer,
} from './harness.js';

const T = 20_000; // per-test budget
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  const errors: unknown[] = [];
  for (const c of cleanups.reverse()) await c().catch((e) => errors.push(e));
  if (errors.length) throw errors[0];
});
function track<S extends { stop(): Promise<void> }>(s: S): S {
  cleanups.push(() => s.stop());
  return s;
}
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

async function getToken(issuer: { url: string }, service: string, scopes: string[], auth?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const u = new URL(issuer.url);
  u.searchParams.set('service', service);
  for (const s of scopes) u.searchParams.append('scope', s);
  const res = await fetch(u, { headers: auth ? { Authorization: auth } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('helpers', () => {
  it('freePort returns a bindable port', async () => {
    const p = await freePort();
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(65536);
  });

  it('parseScope splits actions at the last colon (names may carry host:port)', () => {
    expect(parseScope('repository:localhost:5000/a/b:pull,push')).toEqual({
      raw: 'repository:localhost:5000/a/b:pull,push',
      type: 'repository',
      name: 'localhost:5000/a/b',
      actions: ['pull', 'push'],
    });
    expect(parseScope('registry:catalog:*')?.actions).toEqual(['*']);
    expect(parseScope('repository(plugin):x/y:pull')).toMatchObject({ type: 'repository', class: 'plugin', name: 'x/y' });
    expect(parseScope('bogus')).toBeUndefined();
  });
});

describe('plain registry', () => {
  let reg: RegistryServer;
  beforeAll(async () => {
    reg = track(await startRegistry());
  });

  it('answers /v2/ with 200 and the API version header', { timeout: T }, async () => {
    expect(reg.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(reg.url).toBe(`http://${reg.host}`);
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await res.text()).toBe('{}');
  });

  it('stores pushed blobs under dataDir', { timeout: T }, async () => {
    const { manifest, digest } = await pushArtifact(reg.url, 'plain/art', 'v1', [{ data: 'hello model weights\n', title: 'layer.bin' }]);
    const res = await fetch(`${reg.url}/v2/plain/art/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(manifest);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const blobPath = join(reg.dataDir, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data');
    expect(await readFile(blobPath, 'utf8')).toBe(manifest);
  });

  it('stop() is idempotent and frees the port', { timeout: T }, async () => {
    const r = await startRegistry();
    await r.stop();
    await r.stop();
    await expect(fetch(`${r.url}/v2/`)).rejects.toThrow();
  });
});

describe('htpasswd registry', () => {
  let reg: RegistryServer;
  beforeAll(async () => {
    reg = track(await startRegistry({ auth: 'htpasswd', users: { alice: 'wonder land', bob: 'b0b' } }));
  });

  it('401 with a Basic challenge without credentials, 200 with them', { timeout: T }, async () => {
    const anon = await fetch(`${reg.url}/v2/`);
    expect(anon.status).toBe(401);
    expect(parseChallenge(anon.headers.get('www-authenticate'))).toEqual({ scheme: 'Basic', params: { realm: 'basic-realm' } });
    const ok = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basic('alice', 'wonder land') } });
    expect(ok.status).toBe(200);
    expect((await fetch(`${reg.url}/v2/`, { headers: { Authorization: reg.basicAuth('bob') } })).status).toBe(200);
    const wrong = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basic('alice', 'nope') } });
    expect(wrong.status).toBe(401);
  });

  it('push with Basic works', { timeout: T }, async () => {
    const { digest } = await pushArtifact(reg.url, 'auth/art', 'v1', [{ data: 'x' }], reg.basicAuth());
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('token registry', () => {
  let reg: RegistryServer;
  let issuer: TokenIssuer;
  const repo = 'test/x';
  const layer = Buffer.from('hello model weights\n');
  let manifest: string;
  let manifestDigest: string;

  beforeAll(async () => {
    reg = track(await startRegistry({ auth: 'token', users: { testuser: 'testpass' }, token: { anonymousPull: true } }));
    issuer = reg.tokenIssuer!;
  });

  it('GET /v2/ gives a Bearer challenge whose realm is the issuer', { timeout: T }, async () => {
    const res = await fetch(`${reg.url}/v2/`);
    expect(res.status).toBe(401);
    const ch = parseChallenge(res.headers.get('www-authenticate'));
    expect(ch?.scheme).toBe('Bearer');
    expect(ch?.params.realm).toBe(issuer.url);
    expect(ch?.params.service).toBe(issuer.service);
    expect(ch?.params.scope).toBeUndefined();
  });

  it('a token for repository:test/x:pull,push pushes a blob and a manifest that read back', { timeout: T }, async () => {
    // The upload POST challenge names the scope.
    const chRes = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(chRes.status).toBe(401);
    const ch = parseChallenge(chRes.headers.get('www-authenticate'))!;
    expect(ch.params.scope).toMatch(/^repository:test\/x:(pull,push|push,pull)$/);

    issuer.clearRequests();
    const tok = await getToken(issuer, ch.params.service, [`repository:${repo}:pull,push`], basic('testuser', 'testpass'));
    expect(tok.status).toBe(200);
    expect(tok.body.token).toBe(tok.body.access_token);
    expect(tok.body.expires_in).toBe(300);
    expect(typeof tok.body.issued_at).toBe('string');
    expect(issuer.requests).toEqual([
      expect.objectContaining({ method: 'GET', user: 'testuser', scopes: ['repository:test/x:pull,push'], status: 200, service: issuer.service }),
    ]);
    const bearer = `Bearer ${tok.body.token as string}`;

    // JWT header carries x5c (the cert, base64 DER) — what distribution verifies against rootcertbundle.
    const [h, p] = (tok.body.token as string).split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    expect(header).toMatchObject({ typ: 'JWT', alg: 'RS256' });
    expect(header.x5c).toHaveLength(1);
    expect(claims).toMatchObject({ iss: issuer.issuer, sub: 'testuser', aud: issuer.service, access: [{ type: 'repository', name: repo, actions: ['pull', 'push'] }] });

    // POST + PUT, step by step
    const post = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { Authorization: bearer }, redirect: 'manual' });
    expect(post.status).toBe(202);
    const loc = new URL(post.headers.get('location')!, reg.url);
    loc.searchParams.set('digest', sha256(layer));
    const put = await fetch(loc, { method: 'PUT', headers: { Authorization: bearer, 'Content-Type': 'application/octet-stream' }, body: layer, redirect: 'manual' });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256(layer));
    expect(await putBlob(reg.url, repo, '{}', bearer)).toBe(EMPTY_CONFIG.digest);

    manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.model.v1',
      config: EMPTY_CONFIG,
      layers: [{ mediaType: 'application/vnd.example.layer.v1', digest: sha256(layer), size: layer.length, annotations: { 'org.opencontainers.image.title': 'layer.bin' } }],
    });
    const mput = await fetch(`${reg.url}/v2/${repo}/manifests/tag`, { method: 'PUT', headers: { Authorization: bearer, 'Content-Type': OCI_MANIFEST }, body: manifest });
    expect(mput.status).toBe(201);
    manifestDigest = mput.headers.get('docker-content-digest')!;
    expect(manifestDigest).toBe(sha256(manifest));

    const get = await fetch(`${reg.url}/v2/${repo}/manifests/tag`, { headers: { Authorization: bearer, Accept: MANIFEST_ACCEPT } });
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe(OCI_MANIFEST);
    expect(await get.text()).toBe(manifest);
    const blob = await fetch(`${reg.url}/v2/${repo}/blobs/${sha256(layer)}`, { headers: { Authorization: bearer } });
    expect(Buffer.from(await blob.arrayBuffer())).toEqual(layer);

    // No token → 401 with the pull scope in the challenge.
    const anon = await fetch(`${reg.url}/v2/${repo}/manifests/tag`, { headers: { Accept: MANIFEST_ACCEPT } });
    expect(anon.status).toBe(401);
    expect(parseChallenge(anon.headers.get('www-authenticate'))?.params.scope).toBe(`repository:${repo}:pull`);
  });

  it('anonymous gets pull only; a pull token cannot push (insufficient_scope)', { timeout: T }, async () => {
    const tok = await getToken(issuer, issuer.service, [`repository:${repo}:pull,push`]);
    expect(tok.status).toBe(200);
    expect(issuer.requests.at(-1)).toMatchObject({ granted: [{ name: repo, actions: ['pull'] }] });
    expect(issuer.requests.at(-1)?.user).toBeUndefined();
    const bearer = `Bearer ${tok.body.token as string}`;
    const get = await fetch(`${reg.url}/v2/${repo}/manifests/tag`, { headers: { Authorization: bearer, Accept: MANIFEST_ACCEPT } });
    expect(get.status).toBe(200);
    await get.arrayBuffer();
    const post = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { Authorization: bearer } });
    expect(post.status).toBe(401);
    expect(parseChallenge(post.headers.get('www-authenticate'))?.params.error).toBe('insufficient_scope');
  });

  it('wrong credentials → 401 from the issuer', { timeout: T }, async () => {
    const tok = await getToken(issuer, issuer.service, [`repository:${repo}:pull`], basic('testuser', 'wrong'));
    expect(tok.status).toBe(401);
    expect(issuer.requests.at(-1)).toMatchObject({ status: 401, rejectedUser: 'testuser' });
    expect(issuer.requests.at(-1)?.user).toBeUndefined();
  });

  it('OAuth2 POST: password grant with offline access, then refresh_token grant', { timeout: T }, async () => {
    const form = (f: Record<string, string>) =>
      fetch(issuer.url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(f).toString() });
    const r1 = await form({ grant_type: 'password', service: issuer.service, client_id: 'harness-test', scope: `repository:${repo}:pull repository:other/y:pull,push`, username: 'testuser', password: 'testpass', access_type: 'offline' });
    expect(r1.status).toBe(200);
    const b1 = (await r1.json()) as Record<string, string>;
    expect(b1.access_token).toBeTruthy();
    expect(b1.token).toBeUndefined();
    expect(b1.refresh_token).toBeTruthy();
    expect(b1.scope).toBe(`repository:${repo}:pull repository:other/y:pull,push`);

    const r2 = await form({ grant_type: 'refresh_token', service: issuer.service, client_id: 'harness-test', scope: `repository:${repo}:pull`, refresh_token: b1.refresh_token });
    expect(r2.status).toBe(200);
    const b2 = (await r2.json()) as Record<string, string>;
    const get = await fetch(`${reg.url}/v2/${repo}/manifests/${manifestDigest}`, { headers: { Authorization: `Bearer ${b2.access_token}`, Accept: MANIFEST_ACCEPT } });
    expect(get.status).toBe(200);
    expect(await get.text()).toBe(manifest);

    expect((await form({ grant_type: 'refresh_token', service: issuer.service, client_id: 'c', refresh_token: 'bogus' })).status).toBe(401);
    expect((await form({ grant_type: 'password', service: issuer.service, client_id: 'c', username: 'testuser', password: 'x' })).status).toBe(401);
    expect((await form({ grant_type: 'password', service: issuer.service, username: 'testuser', password: 'testpass' })).status).toBe(400);
    expect((await form({ grant_type: 'client_credentials', service: issuer.service, client_id: 'c' })).status).toBe(400);
    expect(issuer.requests.filter((r) => r.method === 'POST').map((r) => [r.grantType, r.status])).toEqual([
      ['password', 200],
      ['refresh_token', 200],
      ['refresh_token', 401],
      ['password', 401],
      ['password', 400],
      ['client_credentials', 400],
    ]);
  });

  it('tokens with a wrong audience or expired are refused by the registry', { timeout: T }, async () => {
    const access = [{ type: 'repository', name: repo, actions: ['pull'] }];
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [{ aud: 'other-service' }, { exp: now - 3600, nbf: now - 7200, iat: now - 7200 }]) {
      const res = await fetch(`${reg.url}/v2/${repo}/manifests/tag`, { headers: { Authorization: `Bearer ${issuer.issueToken('testuser', access, claims)}`, Accept: MANIFEST_ACCEPT } });
      expect(res.status).toBe(401);
      await res.arrayBuffer();
    }
    const ok = await fetch(`${reg.url}/v2/${repo}/manifests/tag`, { headers: { Authorization: `Bearer ${issuer.issueToken('testuser', access)}`, Accept: MANIFEST_ACCEPT } });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
  });

  it('skopeo pulls from the token registry with credentials', { timeout: T }, async () => {
    const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', 'testuser:testpass', `docker://${reg.host}/${repo}:tag`]);
    expect(stdout.trim()).toBe(manifest);
    expect(issuer.requests.at(-1)).toMatchObject({ user: 'testuser', status: 200 });
  });
});

describe('token variants', () => {
  it('ES256 with kid (libtrust key ID) verifies too', { timeout: T }, async () => {
    const reg = track(await startRegistry({ auth: 'token', token: { alg: 'ES256', keyHint: 'kid' } }));
    const iss = reg.tokenIssuer!;
    expect(iss.keyId).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    const tok = await getToken(iss, iss.service, ['repository:es/x:pull,push'], reg.basicAuth());
    const [h] = (tok.body.token as string).split('.');
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'ES256', kid: iss.keyId });
    expect(await putBlob(reg.url, 'es/x', 'kid-verified', `Bearer ${tok.body.token as string}`)).toBe(sha256('kid-verified'));
    await reg.stop();
  });

  it('getResponseFields and oauthPost=false', { timeout: T }, async () => {
    const iss = track(await startTokenIssuer({ getResponseFields: 'access_token', oauthPost: false }));
    const tok = await getToken(iss, iss.service, ['repository:a/b:pull'], basic('testuser', 'testpass'));
    expect(tok.body.token).toBeUndefined();
    expect(tok.body.access_token).toBeTruthy();
    const post = await fetch(iss.url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password' });
    expect(post.status).toBe(404);
    await post.arrayBuffer();
    // anonymous without anonymousPull: token with an empty grant
    const anon = await getToken(iss, iss.service, ['repository:a/b:pull']);
    expect(anon.status).toBe(200);
    expect(iss.requests.at(-1)?.granted).toEqual([]);
  });
});

describe('fault proxy', () => {
  let reg: RegistryServer;
  let big: Buffer;
  let bigDigest: string;
  beforeAll(async () => {
    reg = track(await startRegistry());
    big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    bigDigest = await putBlob(reg.url, 'proxy/x', big);
  });

  it('answers matching requests with 429 + Retry-After and passes the rest through', { timeout: T }, async () => {
    const proxy: FaultProxy = track(await startFaultProxy(reg.url, { status: 429, retryAfter: 2, match: (m, p) => m === 'GET' && p.includes('/blobs/') }));
    const v2 = await fetch(`${proxy.url}/v2/`);
    expect(v2.status).toBe(200);
    await v2.arrayBuffer();
    const res = await fetch(`${proxy.url}/v2/proxy/x/blobs/${bigDigest}`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0].code).toBe('TOOMANYREQUESTS');
    const head = await fetch(`${proxy.url}/v2/proxy/x/blobs/${bigDigest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(big.length));
    // Uploads pass through the proxy, and Location points back at the proxy (Host is forwarded).
    const post = await fetch(`${proxy.url}/v2/proxy/y/blobs/uploads/`, { method: 'POST', redirect: 'manual' });
    expect(post.status).toBe(202);
    expect(new URL(post.headers.get('location')!, proxy.url).host).toBe(proxy.host);
    expect(await putBlob(proxy.url, 'proxy/y', big)).toBe(bigDigest); // streamed PUT of 1 MiB
    expect(proxy.stats).toMatchObject({ faulted: 1, matched: 1 });
    expect(proxy.stats.forwarded).toBeGreaterThanOrEqual(5);
  });

  it('failEvery / failTimes: 500 on the 1st and 3rd matching request only', { timeout: T }, async () => {
    const proxy = track(await startFaultProxy(reg.host, { status: 500, failEvery: 2, failTimes: 2, match: (_m, p) => p.startsWith('/v2/proxy/') }));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${proxy.url}/v2/proxy/x/blobs/${bigDigest}`, { method: 'HEAD' });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([500, 200, 500, 200, 200, 200]);
  });

  it('a blob GET through a cutting proxy ends early; Range resumes it', { timeout: T }, async () => {
    const proxy = track(await startFaultProxy(reg.url, { cutAfterBytes: 100_000, cutTimes: 1, match: (m, p) => m === 'GET' && p.includes('/blobs/sha256:') }));
    const res = await fetch(`${proxy.url}/v2/proxy/x/blobs/${bigDigest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(big.length));
    const chunks: Buffer[] = [];
    let err: unknown;
    try {
      for await (const c of res.body!) chunks.push(Buffer.from(c));
    } catch (e) {
      err = e;
    }
    expect(err).toBeDefined();
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(100_000);
    expect(got.equals(big.subarray(0, 100_000))).toBe(true);
    expect(proxy.stats.cut).toBe(1);

    const rest = await fetch(`${proxy.url}/v2/proxy/x/blobs/${bigDigest}`, { headers: { Range: `bytes=${got.length}-` } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes ${got.length}-${big.length - 1}/${big.length}`);
    const whole = Buffer.concat([got, Buffer.from(await rest.arrayBuffer())]);
    expect(sha256(whole)).toBe(bigDigest);
  });

  it('cutAfterBytes: 0 delivers headers and no body', { timeout: T }, async () => {
    const proxy = track(await startFaultProxy(reg.url, { cutAfterBytes: 0 }));
    const res = await fetch(`${proxy.url}/v2/proxy/x/blobs/${bigDigest}`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });
});

describe('skopeo', () => {
  let reg: RegistryServer;
  let dir: string;
  let pushed: { manifest: string; digest: string; layerDigests: string[] };
  beforeAll(async () => {
    reg = track(await startRegistry());
    dir = await mkdtemp(join(tmpdir(), 'skopeo-out-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    pushed = await pushArtifact(reg.url, 'test/x', 'tag', [{ data: 'hello model weights\n', title: 'layer.bin', mediaType: 'application/vnd.cncf.model.weight.v1.raw' }]);
  });

  it('inspect --raw returns the pushed manifest', { timeout: T }, async () => {
    const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/test/x:tag`]);
    expect(stdout.trim()).toBe(pushed.manifest);
  });

  it('copy to an oci: layout keeps the manifest digest', { timeout: T }, async () => {
    const layout = join(dir, 'layout');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/test/x:tag`, `oci:${layout}:tag`]);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]).toMatchObject({ mediaType: OCI_MANIFEST, digest: pushed.digest, annotations: { 'org.opencontainers.image.ref.name': 'tag' } });
    expect(await readFile(join(layout, 'blobs/sha256', pushed.layerDigests[0].slice(7)), 'utf8')).toBe('hello model weights\n');
  });

  it('a failing skopeo call rejects with its stderr', { timeout: T }, async () => {
    await expect(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/test/x:missing`])).rejects.toThrow(/manifest unknown|not found/i);
  });
});
