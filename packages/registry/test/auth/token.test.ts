import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthManager, type AuthHttp, type Credential, type CredentialSource } from '../../src/auth/index.js';
import { caught } from '../helpers/caught.js';

const REGISTRY = 'reg.example.com:5000';
const PASSWORD = 'pw-SECRET-1';
const IDENTITY = 'identity-SECRET-2';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization?: string;
  form: URLSearchParams;
}

/** A tiny token server in the shape of distribution's token and OAuth2 specs. */
let server: Server;
let base: string;
let seen: Seen[];
let issued: number;
let expiresIn: number | undefined;
let refreshOnPost: string | undefined;
let override: ((req: IncomingMessage, res: ServerResponse, seen: Seen) => boolean) | undefined;

function token(res: ServerResponse, body: Record<string, unknown>): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const s: Seen = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        authorization: req.headers.authorization,
        form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
      };
      seen.push(s);
      if (override?.(req, res, s)) return;
      const n = ++issued;
      const extra = expiresIn === undefined ? {} : { expires_in: expiresIn };
      if (s.method === 'GET') {
        if (s.authorization !== undefined && s.authorization !== `Basic ${b64(`alice:${PASSWORD}`)}`) {
          res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
          return;
        }
        token(res, { token: `tok-${n}`, ...extra });
        return;
      }
      if (s.path === '/nopost') {
        res.writeHead(404).end('404 page not found');
        return;
      }
      const grant = s.form.get('grant_type');
      const ok =
        (grant === 'password' && s.form.get('username') === 'alice' && s.form.get('password') === PASSWORD) ||
        (grant === 'refresh_token' && (s.form.get('refresh_token') === IDENTITY || s.form.get('refresh_token') === 'server-refresh'));
      if (!ok) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
        return;
      }
      token(res, { access_token: `tok-${n}`, ...extra, ...(refreshOnPost ? { refresh_token: refreshOnPost } : {}) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  issued = 0;
  expiresIn = undefined;
  refreshOnPost = undefined;
  override = undefined;
});

const http: AuthHttp = async (url, init) => {
  const res = await fetch(url, { method: init.method, headers: init.headers, body: init.body });
  return { status: res.status, headers: Object.fromEntries(res.headers), json: () => res.json(), text: () => res.text() };
};

function creds(c?: Credential): CredentialSource & { calls: number } {
  const source = {
    calls: 0,
    async get(registry: string) {
      source.calls++;
      return registry === REGISTRY ? c : undefined;
    },
  };
  return source;
}

const alice = (): CredentialSource & { calls: number } => creds({ username: 'alice', password: PASSWORD });
const bearer = (path = '/token', scope?: string): string =>
  `Bearer realm="${base}${path}",service="local-registry"${scope === undefined ? '' : `,scope="${scope}"`}`;


function expectNoSecrets(text: string): void {
  for (const secret of [PASSWORD, IDENTITY, b64(`alice:${PASSWORD}`), 'tok-', 'server-refresh']) expect(text).not.toContain(secret);
}

describe('AuthManager: Basic', () => {
  it('answers with the stored username and password and caches it for the registry', async () => {
    const auth = new AuthManager(alice(), http);
    expect(auth.authorization(REGISTRY, [])).toBeUndefined();
    const header = await auth.onChallenge(REGISTRY, 'Basic realm="basic-realm"', ['repository:a:pull']);
    expect(header).toBe(`Basic ${b64(`alice:${PASSWORD}`)}`);
    expect(auth.authorization(REGISTRY, ['repository:b:push'])).toBe(header);
    expect(seen).toEqual([]);
  });

  it('says to log in when nothing is stored, and when the stored login was refused', async () => {
    const none = await caught(new AuthManager(creds(), http).onChallenge(REGISTRY, 'Basic realm="r"', []));
    expect(none.exitCode).toBe(4);
    expect(none.message).toContain(`run \`kit login ${REGISTRY}\``);

    const auth = new AuthManager(alice(), http);
    const header = await auth.onChallenge(REGISTRY, 'Basic realm="r"', []);
    const refused = await caught(auth.onChallenge(REGISTRY, 'Basic realm="r"', [], header));
    expect(refused.exitCode).toBe(4);
    expect(refused.message).toBe(`the credentials for ${REGISTRY} were rejected by the registry; run \`kit login ${REGISTRY}\` to update them`);
    expectNoSecrets(refused.message);
    expect(auth.authorization(REGISTRY, [])).toBeUndefined();
  });
});

describe('AuthManager: Bearer by GET', () => {
  it('fetches anonymously without credentials', async () => {
    const auth = new AuthManager(creds(), http);
    const header = await auth.onChallenge(REGISTRY, bearer('/token', 'repository:org/model:pull'), []);
    expect(header).toBe('Bearer tok-1');
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('GET');
    expect(seen[0].authorization).toBeUndefined();
    expect(seen[0].query.get('service')).toBe('local-registry');
    expect(seen[0].query.getAll('scope')).toEqual(['repository:org/model:pull']);
  });

  it('sends Basic credentials and merges challenge scopes with requested ones (mounts)', async () => {
    const auth = new AuthManager(alice(), http);
    const want = ['repository:org/model:push', 'repository:other/src:pull'];
    const header = await auth.onChallenge(REGISTRY, bearer('/token', 'repository:org/model:pull,push repository:other/src:pull'), want);
    expect(header).toBe('Bearer tok-1');
    expect(seen[0].authorization).toBe(`Basic ${b64(`alice:${PASSWORD}`)}`);
    expect(seen[0].query.getAll('scope')).toEqual(['repository:org/model:pull,push', 'repository:other/src:pull']);
    // Cached under the merged set and under the caller's own hints; other scopes need a new token.
    expect(auth.authorization(REGISTRY, ['repository:other/src:pull', 'repository:org/model:push,pull'])).toBe(header);
    expect(auth.authorization(REGISTRY, want)).toBe(header);
    expect(auth.authorization(REGISTRY, ['repository:org/model:pull'])).toBeUndefined();
    expect(auth.authorization('elsewhere.io', want)).toBeUndefined();
  });

  it('reuses a cached token for the same scopes and fetches again for new ones', async () => {
    const auth = new AuthManager(alice(), http);
    await auth.onChallenge(REGISTRY, bearer('/token', 'repository:a:pull'), []);
    expect(await auth.onChallenge(REGISTRY, bearer('/token', 'repository:a:pull'), [])).toBe('Bearer tok-1');
    expect(seen).toHaveLength(1);
    // insufficient_scope: a new scope set gets a new token
    expect(await auth.onChallenge(REGISTRY, `${bearer('/token', 'repository:a:pull,push')},error="insufficient_scope"`, [])).toBe('Bearer tok-2');
    expect(seen).toHaveLength(2);
  });

  it('replaces a cached token the registry just refused', async () => {
    const auth = new AuthManager(alice(), http);
    const first = await auth.onChallenge(REGISTRY, bearer('/token', 'repository:a:pull'), []);
    expect(await auth.onChallenge(REGISTRY, bearer('/token', 'repository:a:pull'), [], first)).toBe('Bearer tok-2');
  });

  it('honours expires_in, and defaults to 60 s', async () => {
    let now = 1_000_000;
    const auth = new AuthManager(alice(), http, { now: () => now });
    const scopes = ['repository:a:pull'];
    expiresIn = 300;
    await auth.onChallenge(REGISTRY, bearer(), scopes);
    now += 250_000;
    expect(auth.authorization(REGISTRY, scopes)).toBe('Bearer tok-1');
    now += 50_000;
    expect(auth.authorization(REGISTRY, scopes)).toBeUndefined();
    expiresIn = undefined;
    expect(await auth.onChallenge(REGISTRY, bearer(), scopes)).toBe('Bearer tok-2');
    now += 45_000;
    expect(auth.authorization(REGISTRY, scopes)).toBe('Bearer tok-2');
    now += 16_000;
    expect(auth.authorization(REGISTRY, scopes)).toBeUndefined();
  });

  it('shares one in-flight request among concurrent callers', async () => {
    override = (_req, res) => {
      setTimeout(() => token(res, { token: `tok-${++issued}` }), 100);
      return true;
    };
    const source = alice();
    const auth = new AuthManager(source, http);
    const headers = await Promise.all(Array.from({ length: 10 }, () => auth.onChallenge(REGISTRY, bearer('/token', 'repository:a:pull'), ['repository:a:pull'])));
    expect(new Set(headers)).toEqual(new Set(['Bearer tok-1']));
    expect(seen).toHaveLength(1);
    expect(source.calls).toBe(1);
  });

  it('accepts access_token over token', async () => {
    override = (_req, res) => {
      token(res, { token: 'tok-old', access_token: 'tok-new' });
      return true;
    };
    expect(await new AuthManager(alice(), http).onChallenge(REGISTRY, bearer(), [])).toBe('Bearer tok-new');
  });

  it('uses a config.json registrytoken as is', async () => {
    const auth = new AuthManager(creds({ registryToken: 'ready-made' }), http);
    expect(await auth.onChallenge(REGISTRY, bearer(), [])).toBe('Bearer ready-made');
    expect(seen).toEqual([]);
  });
});

describe('AuthManager: Bearer by OAuth2 POST', () => {
  it('trades an identity token with grant_type=refresh_token', async () => {
    const auth = new AuthManager(creds({ identityToken: IDENTITY }), http);
    const header = await auth.onChallenge(REGISTRY, bearer('/token', 'repository:org/model:pull'), ['repository:org/model:push', 'repository:src/x:pull']);
    expect(header).toBe('Bearer tok-1');
    expect(seen).toHaveLength(1);
    const { method, form, authorization } = seen[0];
    expect(method).toBe('POST');
    expect(authorization).toBeUndefined();
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: IDENTITY,
      service: 'local-registry',
      scope: 'repository:org/model:pull,push repository:src/x:pull',
      client_id: 'modelkit-ts',
    });
  });

  it('uses the password grant when forced, keeps the refresh token it gets, and uses it next', async () => {
    refreshOnPost = 'server-refresh';
    const auth = new AuthManager(alice(), http, { forceOAuth2: true });
    await auth.onChallenge(REGISTRY, bearer('/token', 'repository:a:pull'), []);
    expect(Object.fromEntries(seen[0].form)).toMatchObject({ grant_type: 'password', username: 'alice', password: PASSWORD, client_id: 'modelkit-ts' });
    await auth.onChallenge(REGISTRY, bearer('/token', 'repository:b:pull'), []);
    expect(Object.fromEntries(seen[1].form)).toMatchObject({ grant_type: 'refresh_token', refresh_token: 'server-refresh', scope: 'repository:b:pull' });
    expect(JSON.stringify(auth)).not.toContain('server-refresh');
  });

  it('falls back to GET when the realm has no POST endpoint (404)', async () => {
    const auth = new AuthManager(alice(), http, { forceOAuth2: true });
    expect(await auth.onChallenge(REGISTRY, bearer('/nopost', 'repository:a:pull'), [])).toBe('Bearer tok-2');
    expect(seen.map((s) => s.method)).toEqual(['POST', 'GET']);
    expect(seen[1].authorization).toBe(`Basic ${b64(`alice:${PASSWORD}`)}`);
    expect(seen[1].query.getAll('scope')).toEqual(['repository:a:pull']);
  });

  it('falls back to GET on 405 too', async () => {
    override = (_req, res, s) => {
      if (s.method !== 'POST') return false;
      res.writeHead(405).end();
      return true;
    };
    const auth = new AuthManager(creds({ identityToken: IDENTITY }), http);
    expect(await auth.onChallenge(REGISTRY, bearer(), [])).toBe('Bearer tok-1');
    expect(seen.map((s) => s.method)).toEqual(['POST', 'GET']);
  });
});

describe('AuthManager: failures', () => {
  it('says the credentials were rejected (exit 4) without leaking them', async () => {
    const wrong = creds({ username: 'alice', password: 'not-the-password' });
    const err = await caught(new AuthManager(wrong, http).onChallenge(REGISTRY, bearer(), []));
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.exitCode).toBe(4);
    expect(err.message).toBe(
      `the credentials for ${REGISTRY} were rejected by its token service (HTTP 401); run \`kit login ${REGISTRY}\` to update them`,
    );
    expect(err.message).not.toContain('not-the-password');

    const badIdentity = await caught(new AuthManager(creds({ identityToken: 'wrong-identity' }), http).onChallenge(REGISTRY, bearer(), []));
    expect(badIdentity.exitCode).toBe(4);
    expect(badIdentity.message).not.toContain('wrong-identity');
  });

  it('says anonymous access was refused when there were no credentials', async () => {
    override = (_req, res) => {
      res.writeHead(403).end();
      return true;
    };
    const err = await caught(new AuthManager(creds(), http).onChallenge(REGISTRY, bearer(), []));
    expect(err.exitCode).toBe(4);
    expect(err.message).toBe(`anonymous access to ${REGISTRY} was refused by its token service (HTTP 403); run \`kit login ${REGISTRY}\``);
  });

  it('reports server errors, non-JSON, tokenless and oversized answers as IO errors', async () => {
    const cases: Array<[(res: ServerResponse) => void, RegExp]> = [
      [(res) => res.writeHead(500).end(`oops ${PASSWORD}`), /answered HTTP 500$/],
      [(res) => res.writeHead(200).end('<html>'), /other than a JSON object/],
      [(res) => token(res, { expires_in: 10 }), /without a token/],
      [(res) => token(res, { token: 'bad\r\nX-Injected: 1' }), /not allowed in an HTTP header/],
      [(res) => token(res, { token: 'x'.repeat(5 * 1024 * 1024) }), /over 4194304 bytes/],
      [
        (res) => {
          res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no Content-Length
          res.write('{"token":"');
          res.end(`${'y'.repeat(80)}"}`);
        },
        /over 64 bytes/,
      ],
    ];
    for (const [i, [respond, message]] of cases.entries()) {
      override = (_req, res) => {
        respond(res);
        return true;
      };
      const options = i === cases.length - 1 ? { maxTokenResponseBytes: 64 } : {};
      const err = await caught(new AuthManager(alice(), http, options).onChallenge(REGISTRY, bearer(), []));
      expect(err.code).toBe('IO');
      expect(err.message).toContain(`${base}/token for ${REGISTRY}`);
      expect(err.message).toMatch(message);
      expectNoSecrets(err.message);
    }
  });

  it('reports an unreachable token service', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await caught(new AuthManager(alice(), http).onChallenge(REGISTRY, `Bearer realm="http://127.0.0.1:${port}/token"`, []));
    expect(err.code).toBe('IO');
    expect(err.message).toContain(`could not reach the token service http://127.0.0.1:${port}/token for ${REGISTRY}`);
  });

  it('rejects unusable challenges', async () => {
    const auth = new AuthManager(alice(), http);
    expect((await caught(auth.onChallenge(REGISTRY, '', []))).message).toContain('without a WWW-Authenticate challenge');
    expect((await caught(auth.onChallenge(REGISTRY, 'Negotiate abc==', []))).code).toBe('FORMAT_UNSUPPORTED');
    expect((await caught(auth.onChallenge(REGISTRY, 'Bearer service="x"', []))).message).toContain('without a realm');
    expect((await caught(auth.onChallenge(REGISTRY, 'Bearer realm="file:///etc/passwd"', []))).message).toContain('unsupported scheme file:');
    expect((await caught(auth.onChallenge(REGISTRY, 'Bearer realm="not a url"', []))).message).toContain('not a URL');
  });

  it('prefers Bearer when both schemes are offered', async () => {
    const auth = new AuthManager(alice(), http);
    expect(await auth.onChallenge(REGISTRY, `Basic realm="r", ${bearer()}`, [])).toBe('Bearer tok-1');
  });

  it('never shows tokens or passwords when serialised or inspected, and forgets on clear()', async () => {
    const auth = new AuthManager(alice(), http);
    await auth.onChallenge(REGISTRY, bearer('/token', 'repository:a:pull'), []);
    await auth.onChallenge('other.io', 'Basic realm="r"', []).catch(() => undefined);
    expectNoSecrets(JSON.stringify(auth));
    expectNoSecrets(inspect(auth, { showHidden: true, depth: 10 }));
    auth.clear(REGISTRY);
    expect(auth.authorization(REGISTRY, ['repository:a:pull'])).toBeUndefined();
  });
});
