// Test harness: REAL servers on 127.0.0.1 for the OCI registry client tests.
//
//  - startRegistry(): CNCF distribution 2.8.2 (`docker-registry serve`) with filesystem storage in a
//    temp dir, no auth / htpasswd (Basic) / token (Bearer) auth.
//  - startTokenIssuer(): a Docker token server (GET + OAuth2 POST) signing RS256/ES256 JWTs that
//    distribution verifies against `rootcertbundle` (certificate chain in the JWT header `x5c`, or
//    the libtrust key ID in `kid`).
//  - startFaultProxy(): an HTTP proxy that streams both ways, keeps the Host header (so distribution's
//    absolute Location URLs point back through the proxy), and can answer 500/429 or cut a response
//    body after N bytes.
//  - skopeo(): the real skopeo, with --insecure-policy and an isolated HOME.
//
// Servers are never skipped: a missing binary is an error that says to run .ci/install-servers.sh.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../free-port.js';

export const INSTALL_HINT = 'run .ci/install-servers.sh';

// ---------------------------------------------------------------------------------------------
// small utilities

export { freePort } from '../free-port.js';


/** Absolute path of `name` on PATH (or among the usual sbin/bin dirs), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/bin', '/usr/bin', '/usr/sbin', '/bin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function requireBinary(name: string): string {
  const p = findBinary(name);
  if (!p) throw new Error(`${name} is not installed: ${INSTALL_HINT}`);
  return p;
}

interface ExecResult {
  stdout: string;
  stderr: string;
}

function execFileP(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env: opts.env ?? process.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string; code?: number | string };
          const why = e.code === 'ENOENT' ? `${file} is not installed: ${INSTALL_HINT}` : `${file} ${args.join(' ')} failed (exit ${e.code ?? e.signal}${e.killed ? ', killed on timeout' : ''})`;
          reject(Object.assign(new Error(`${why}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`), { stdout, stderr, exitCode: e.code }));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

/** sha256 digest string `sha256:<hex>` of some bytes. */
export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function listen(server: http.Server | net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const a = server.address();
      if (a === null || typeof a === 'string') reject(new Error('no address'));
      else resolve(a.port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

// Children we spawned, killed if the test process exits without stopping them.
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of liveChildren) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

// ---------------------------------------------------------------------------------------------
// token issuer

export interface AccessEntry {
  type: string;
  /** resource class, e.g. `repository(plugin):…` → `plugin`; absent normally */
  class?: string;
  name: string;
  actions: string[];
}

export interface ParsedScope extends AccessEntry {
  /** the scope string as received */
  raw: string;
}

export interface TokenRequestRecord {
  method: 'GET' | 'POST';
  path: string;
  service?: string;
  /** scopes as received (GET: each `scope=` value, split on spaces; POST: `scope` split on spaces) */
  scopes: string[];
  /** authenticated user, if any (Basic on GET, password/refresh grant on POST) */
  user?: string;
  /** user name that was offered but rejected */
  rejectedUser?: string;
  grantType?: string;
  clientId?: string;
  account?: string;
  offline: boolean;
  /** whether an Authorization header came with the request */
  hadAuthorization: boolean;
  status: number;
  granted: AccessEntry[];
}

export interface TokenIssuerOptions {
  /** user → password; default `{ testuser: 'testpass' }` */
  users?: Record<string, string>;
  /** anonymous callers get `pull` (and nothing else); default false = anonymous gets an empty grant */
  anonymousPull?: boolean;
  /** `aud` claim / registry `auth.token.service`; default `local-registry` */
  service?: string;
  /** `iss` claim / registry `auth.token.issuer`; default `local-token-issuer` */
  issuer?: string;
  /** signature algorithm; default RS256 */
  alg?: 'RS256' | 'ES256';
  /**
   * How the registry finds the verification key: `x5c` (default) puts the certificate (base64 DER)
   * in the JWT header; `kid` puts the libtrust key ID of the cert's public key.
   */
  keyHint?: 'x5c' | 'kid';
  /** token lifetime in seconds; default 300 */
  ttlSeconds?: number;
  /** which fields a GET response carries; default both `token` and `access_token` */
  getResponseFields?: 'both' | 'token' | 'access_token';
  /** answer OAuth2 POST (default true); false → POST gets 404 (clients should fall back to GET) */
  oauthPost?: boolean;
  /** restrict what an authenticated user gets; default: everything requested */
  grant?: (user: string, scope: ParsedScope) => string[];
  /** directory for the key and certificate; default a new temp dir (removed on stop) */
  dir?: string;
}

export interface TokenIssuer {
  /** realm: `http://127.0.0.1:PORT/token` */
  url: string;
  host: string;
  service: string;
  issuer: string;
  alg: 'RS256' | 'ES256';
  keyHint: 'x5c' | 'kid';
  /** PEM certificate of the signing key (the registry's `rootcertbundle`) */
  certPath: string;
  /** libtrust key ID of the signing key (what `kid` carries) */
  keyId: string;
  /** every token request seen, oldest first */
  requests: TokenRequestRecord[];
  clearRequests(): void;
  /** mint a token directly (e.g. to test expiry or a wrong audience); claims override the defaults */
  issueToken(sub: string, access: AccessEntry[], claims?: Record<string, unknown>): string;
  /** refresh tokens handed out (token → user) */
  refreshTokens: Map<string, string>;
  stop(): Promise<void>;
}

/** Parse `type[(class)]:name:actions` — name may contain `host:port`, so actions split at the last `:`. */
export function parseScope(raw: string): ParsedScope | undefined {
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  let type = raw.slice(0, first);
  let cls: string | undefined;
  const m = /^([^()]+)\(([^()]+)\)$/.exec(type);
  if (m) {
    type = m[1];
    cls = m[2];
  }
  const name = raw.slice(first + 1, last);
  const actions = raw
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (!name) return undefined;
  return { raw, type, ...(cls ? { class: cls } : {}), name, actions };
}

/** libtrust key ID (what distribution 2.8.2 indexes `rootcertbundle` keys by): base32(sha256(SPKI DER)[:30]) in groups of 4. */
export function libtrustKeyId(pub: KeyObject): string {
  const der = pub.export({ type: 'spki', format: 'der' });
  const sum = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of sum) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out.match(/.{1,4}/g)!.join(':');
}

async function readBody(req: http.IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseBasic(h: string | undefined): { user: string; pass: string } | undefined {
  if (!h) return undefined;
  const m = /^Basic\s+(.+)$/i.exec(h.trim());
  if (!m) return undefined;
  const dec = Buffer.from(m[1], 'base64').toString('utf8');
  const i = dec.indexOf(':');
  if (i < 0) return undefined;
  return { user: dec.slice(0, i), pass: dec.slice(i + 1) };
}

export async function startTokenIssuer(opts: TokenIssuerOptions = {}): Promise<TokenIssuer> {
  const openssl = requireBinary('openssl');
  const users = opts.users ?? { testuser: 'testpass' };
  const service = opts.service ?? 'local-registry';
  const issuerName = opts.issuer ?? 'local-token-issuer';
  const alg = opts.alg ?? 'RS256';
  const keyHint = opts.keyHint ?? 'x5c';
  const ttl = opts.ttlSeconds ?? 300;
  const getFields = opts.getResponseFields ?? 'both';
  const oauthPost = opts.oauthPost ?? true;
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'token-issuer-')));
  await mkdir(dir, { recursive: true });

  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  const newkey = alg === 'RS256' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  await execFileP(openssl, ['req', '-x509', ...newkey, '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '30', '-subj', `/CN=${issuerName}`]);
  const privateKey = createPrivateKey(await readFile(keyPath));
  const cert = new X509Certificate(await readFile(certPath));
  const certDerB64 = cert.raw.toString('base64'); // x5c: standard base64 (not url) of DER
  const keyId = libtrustKeyId(cert.publicKey);

  const requests: TokenRequestRecord[] = [];
  const refreshTokens = new Map<string, string>();

  function issueToken(sub: string, access: AccessEntry[], claims: Record<string, unknown> = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const header: Record<string, unknown> = { typ: 'JWT', alg };
    if (keyHint === 'x5c') header.x5c = [certDerB64];
    else header.kid = keyId;
    const payload = { iss: issuerName, sub, aud: service, exp: now + ttl, nbf: now - 10, iat: now, jti: randomUUID(), access, ...claims };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const sig =
      alg === 'RS256'
        ? sign('sha256', Buffer.from(signingInput), privateKey)
        : sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' }); // JWS ES256 = raw r||s
    return `${signingInput}.${b64url(sig)}`;
  }

  function grantFor(user: string | undefined, scopes: string[]): AccessEntry[] {
    const out: AccessEntry[] = [];
    for (const raw of scopes) {
      const s = parseScope(raw);
      if (!s) continue;
      let actions: string[];
      if (user !== undefined) actions = opts.grant ? opts.grant(user, s) : s.actions;
      else actions = opts.anonymousPull ? s.actions.filter((a) => a === 'pull') : [];
      if (actions.length === 0) continue;
      const { raw: _raw, ...entry } = s;
      out.push({ ...entry, actions: [...new Set(actions)] });
    }
    return out;
  }

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const data = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), ...headers });
    res.end(data);
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: String(err) });
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rec: TokenRequestRecord = {
      method: req.method === 'POST' ? 'POST' : 'GET',
      path: u.pathname,
      scopes: [],
      offline: false,
      hadAuthorization: req.headers.authorization !== undefined,
      status: 0,
      granted: [],
    };
    const finish = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      rec.status = status;
      requests.push(rec);
      json(res, status, body, headers);
    };

    if (u.pathname !== '/token') {
      req.resume();
      finish(404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
      return;
    }

    if (req.method === 'GET') {
      rec.service = u.searchParams.get('service') ?? undefined;
      rec.scopes = u.searchParams.getAll('scope').flatMap((s) => s.split(' ').filter(Boolean));
      rec.account = u.searchParams.get('account') ?? undefined;
      rec.clientId = u.searchParams.get('client_id') ?? undefined;
      rec.offline = u.searchParams.get('offline_token') === 'true';
      let user: string | undefined;
      if (req.headers.authorization !== undefined) {
        const basic = parseBasic(req.headers.authorization);
        if (!basic || users[basic.user] === undefined || users[basic.user] !== basic.pass) {
          rec.rejectedUser = basic?.user;
          finish(401, { errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] }, { 'WWW-Authenticate': 'Basic realm="token-issuer"' });
          return;
        }
        user = basic.user;
        rec.user = user;
      }
      if (rec.service !== undefined && rec.service !== service) {
        finish(400, { errors: [{ code: 'INVALID_SERVICE', message: `unknown service ${rec.service}` }] });
        return;
      }
      const granted = grantFor(user, rec.scopes);
      rec.granted = granted;
      const token = issueToken(user ?? '', granted);
      const body: Record<string, unknown> = {};
      if (getFields !== 'access_token') body.token = token;
      if (getFields !== 'token') body.access_token = token;
      body.expires_in = ttl;
      body.issued_at = new Date().toISOString();
      if (user !== undefined && rec.offline) {
        const rt = randomBytes(24).toString('base64url');
        refreshTokens.set(rt, user);
        body.refresh_token = rt;
      }
      finish(200, body);
      return;
    }

    if (req.method === 'POST') {
      if (!oauthPost) {
        req.resume();
        finish(404, { errors: [{ code: 'NOT_FOUND', message: 'POST not supported' }] });
        return;
      }
      const form = new URLSearchParams((await readBody(req)).toString('utf8'));
      rec.grantType = form.get('grant_type') ?? undefined;
      rec.service = form.get('service') ?? undefined;
      rec.clientId = form.get('client_id') ?? undefined;
      rec.scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      rec.offline = form.get('access_type') === 'offline';
      const ctype = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (ctype !== 'application/x-www-form-urlencoded') {
        finish(400, { error: 'invalid_request', error_description: 'expected application/x-www-form-urlencoded' });
        return;
      }
      if (!rec.clientId) {
        finish(400, { error: 'invalid_request', error_description: 'client_id is required' });
        return;
      }
      if (rec.service !== undefined && rec.service !== service) {
        finish(400, { error: 'invalid_request', error_description: `unknown service ${rec.service}` });
        return;
      }
      let user: string;
      if (rec.grantType === 'password') {
        const name = form.get('username');
        const pass = form.get('password');
        if (name === null || pass === null) {
          finish(400, { error: 'invalid_request', error_description: 'username and password are required' });
          return;
        }
        if (users[name] === undefined || users[name] !== pass) {
          rec.rejectedUser = name;
          finish(401, { error: 'invalid_grant', error_description: 'incorrect username or password' });
          return;
        }
        user = name;
      } else if (rec.grantType === 'refresh_token') {
        const rt = form.get('refresh_token') ?? '';
        const owner = refreshTokens.get(rt);
        if (owner === undefined) {
          finish(401, { error: 'invalid_grant', error_description: 'invalid refresh token' });
          return;
        }
        user = owner;
      } else {
        finish(400, { error: 'unsupported_grant_type', error_description: `grant_type ${rec.grantType ?? '(none)'}` });
        return;
      }
      rec.user = user;
      const granted = grantFor(user, rec.scopes);
      rec.granted = granted;
      const body: Record<string, unknown> = {
        access_token: issueToken(user, granted),
        scope: granted.map((g) => `${g.type}${g.class ? `(${g.class})` : ''}:${g.name}:${g.actions.join(',')}`).join(' '),
        expires_in: ttl,
        issued_at: new Date().toISOString(),
      };
      if (rec.offline) {
        const rt = randomBytes(24).toString('base64url');
        refreshTokens.set(rt, user);
        body.refresh_token = rt;
      }
      finish(200, body);
      return;
    }

    req.resume();
    finish(405, { errors: [{ code: 'UNSUPPORTED', message: `method ${req.method}` }] }, { Allow: 'GET, POST' });
  }

  const port = await listen(server);
  const host = `127.0.0.1:${port}`;
  let stopped = false;
  return {
    url: `http://${host}/token`,
    host,
    service,
    issuer: issuerName,
    alg,
    keyHint,
    certPath,
    keyId,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    issueToken,
    refreshTokens,
    async stop() {
      if (stopped) return;
      stopped = true;
      await closeServer(server);
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// registry

export interface RegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  /** user → password for htpasswd / token auth; default `{ testuser: 'testpass' }` */
  users?: Record<string, string>;
  /** token auth: options for the issuer (users/dir are filled in) */
  token?: Omit<TokenIssuerOptions, 'users' | 'dir'>;
  /** distribution log level; default warn */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** readiness timeout in ms; default 15000 */
  startTimeoutMs?: number;
  /** keep the temp dir after stop (for debugging); default false */
  keepDir?: boolean;
}

export interface RegistryServer {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  stop(): Promise<void>;
  tokenIssuer?: TokenIssuer;
  /** filesystem storage root */
  dataDir: string;
  /** temp dir holding config.yml, registry.log, htpasswd */
  dir: string;
  configPath: string;
  /** the registry's stdout+stderr so far */
  logs(): Promise<string>;
  /** the users configured for htpasswd / token auth */
  users: Record<string, string>;
  /** `Authorization: Basic …` value for a configured user (first user by default) */
  basicAuth(user?: string): string;
}

const q = (s: string) => JSON.stringify(s); // JSON strings are valid YAML double-quoted scalars

async function waitForV2(url: string, child: ChildProcess, timeoutMs: number, logPath: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      throw Object.assign(new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}) before answering ${url}/v2/\n${log}`), { registryLog: log });
    }
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
      lastErr = new Error(`GET /v2/ answered ${res.status}`);
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const log = await readFile(logPath, 'utf8').catch(() => '');
  throw new Error(`docker-registry did not answer ${url}/v2/ within ${timeoutMs} ms (${String(lastErr)})\n${log}`);
}

function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      liveChildren.delete(child);
      resolve();
      return;
    }
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      liveChildren.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryServer> {
  const bin = findBinary('docker-registry');
  if (!bin) throw new Error(`docker-registry is not installed: ${INSTALL_HINT}`);
  const auth = opts.auth ?? 'none';
  const users = opts.users ?? { testuser: 'testpass' };
  const dir = await mkdtemp(join(tmpdir(), 'registry-'));
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  const configPath = join(dir, 'config.yml');
  const logPath = join(dir, 'registry.log');

  let tokenIssuer: TokenIssuer | undefined;
  let authYaml = '';
  try {
    if (auth === 'htpasswd') {
      const htpasswd = requireBinary('htpasswd');
      let lines = '';
      for (const [u, p] of Object.entries(users)) lines += (await execFileP(htpasswd, ['-Bbn', u, p])).stdout.trim() + '\n';
      const htpath = join(dir, 'htpasswd');
      await writeFile(htpath, lines);
      authYaml = `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${q(htpath)}\n`;
    } else if (auth === 'token') {
      tokenIssuer = await startTokenIssuer({ ...opts.token, users, dir: join(dir, 'token') });
      authYaml =
        `auth:\n  token:\n    realm: ${q(tokenIssuer.url)}\n    service: ${q(tokenIssuer.service)}\n` +
        `    issuer: ${q(tokenIssuer.issuer)}\n    rootcertbundle: ${q(tokenIssuer.certPath)}\n`;
    }

    // The port is free "a moment ago": retry with a new one if the registry loses the race.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      const url = `http://${host}`;
      const config =
        `version: 0.1\n` +
        `log:\n  level: ${opts.logLevel ?? 'warn'}\n  accesslog:\n    disabled: true\n` +
        `storage:\n  filesystem:\n    rootdirectory: ${q(dataDir)}\n  delete:\n    enabled: true\n` +
        `  maintenance:\n    uploadpurging:\n      enabled: false\n` +
        `http:\n  addr: ${q(host)}\n  secret: ${q(randomBytes(16).toString('hex'))}\n` +
        `health:\n  storagedriver:\n    enabled: false\n` +
        authYaml;
      await writeFile(configPath, config);
      const logFd = await open(logPath, 'a');
      let child: ChildProcess;
      try {
        // setpriv (util-linux) makes the kernel SIGKILL the registry if this process dies without
        // stop() (vitest kills its fork workers, so 'exit' hooks do not run).
        const setpriv = findBinary('setpriv');
        const [file, args] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', bin, 'serve', configPath]] : [bin, ['serve', configPath]];
        child = spawn(file, args, { stdio: ['ignore', logFd.fd, logFd.fd] });
      } finally {
        await logFd.close();
      }
      liveChildren.add(child);
      const spawnError = new Promise<never>((_, reject) =>
        child.once('error', (e: NodeJS.ErrnoException) =>
          reject(e.code === 'ENOENT' ? new Error(`docker-registry is not installed: ${INSTALL_HINT}`) : e),
        ),
      );
      spawnError.catch(() => undefined);
      try {
        await Promise.race([waitForV2(url, child, opts.startTimeoutMs ?? 15_000, logPath), spawnError]);
      } catch (e) {
        await stopChild(child);
        const log = (e as { registryLog?: string }).registryLog ?? '';
        if (attempt < 3 && /address already in use/i.test(log)) continue;
        throw e;
      }
      let stopped = false;
      const issuer = tokenIssuer;
      return {
        host,
        url,
        dataDir,
        dir,
        configPath,
        tokenIssuer: issuer,
        users,
        logs: () => readFile(logPath, 'utf8'),
        basicAuth(user?: string) {
          const name = user ?? Object.keys(users)[0];
          if (name === undefined || users[name] === undefined) throw new Error(`no such user ${String(user)}`);
          return `Basic ${Buffer.from(`${name}:${users[name]}`).toString('base64')}`;
        },
        async stop() {
          if (stopped) return;
          stopped = true;
          await stopChild(child);
          await issuer?.stop();
          if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (e) {
    await tokenIssuer?.stop();
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// fault proxy

export interface FaultProxyOptions {
  /** cut the connection after this many bytes of a (matching) response body; shorter bodies pass whole */
  cutAfterBytes?: number;
  /** cut at most this many responses (then pass everything through); default unlimited */
  cutTimes?: number;
  /** with `status`: fault the 1st matching request, then every failEvery-th (1, 1+N, 1+2N, …); default 1 = all */
  failEvery?: number;
  /** fault at most this many requests; default unlimited */
  failTimes?: number;
  /** answer faulted requests with this status instead of forwarding */
  status?: 500 | 429;
  /** `Retry-After` seconds on faulted answers */
  retryAfter?: number;
  /** which requests the faults apply to; default all. The path includes the query string. */
  match?: (method: string, path: string) => boolean;
}

export interface ProxyLogEntry {
  method: string;
  path: string;
  action: 'forwarded' | 'faulted' | 'cut' | 'error';
  status?: number;
  /** response body bytes sent to the client */
  bytes: number;
}

export interface FaultProxyStats {
  requests: number;
  forwarded: number;
  faulted: number;
  cut: number;
  /** matching requests seen (the failEvery counter) */
  matched: number;
  log: ProxyLogEntry[];
}

export interface FaultProxy {
  host: string;
  url: string;
  stats: FaultProxyStats;
  /** change options at run time (merged into the current ones) */
  configure(opts: Partial<FaultProxyOptions>): void;
  /** zero the counters and the log */
  reset(): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function stripHopByHop(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const extra = new Set(
    String(h.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || extra.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * HTTP-level proxy on 127.0.0.1 in front of `target` (`http://127.0.0.1:PORT` or `127.0.0.1:PORT`).
 * Bodies stream both ways; the client's Host header is forwarded unchanged, so distribution's
 * absolute upload Locations point back at the proxy.
 */
export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const t = new URL(/^https?:\/\//.test(target) ? target : `http://${target}`);
  const opts: FaultProxyOptions = { ...options };
  const agent = new http.Agent({ keepAlive: true });
  const stats: FaultProxyStats = { requests: 0, forwarded: 0, faulted: 0, cut: 0, matched: 0, log: [] };

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    stats.requests++;
    const matches = opts.match ? opts.match(method, path) : true;
    const entry: ProxyLogEntry = { method, path, action: 'forwarded', bytes: 0 };
    stats.log.push(entry);

    if (matches) {
      stats.matched++;
      const every = Math.max(1, opts.failEvery ?? 1);
      const fault = opts.status !== undefined && (stats.matched - 1) % every === 0 && (opts.failTimes === undefined || stats.faulted < opts.failTimes);
      if (fault) {
        stats.faulted++;
        const status = opts.status!;
        entry.action = 'faulted';
        entry.status = status;
        const body = JSON.stringify({
          errors: [status === 429 ? { code: 'TOOMANYREQUESTS', message: 'injected: too many requests' } : { code: 'UNKNOWN', message: 'injected: internal server error' }],
        });
        const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
        if (opts.retryAfter !== undefined) headers['Retry-After'] = String(opts.retryAfter);
        // Consume the request body first so an uploading client sees the answer, not EPIPE.
        req.resume();
        const answer = () => {
          if (res.writableEnded || res.destroyed) return;
          res.writeHead(status, headers);
          res.end(body);
          entry.bytes = Buffer.byteLength(body);
        };
        req.once('end', answer);
        req.once('error', () => res.destroy());
        return;
      }
    }

    const cutEligible = matches && opts.cutAfterBytes !== undefined && (opts.cutTimes === undefined || stats.cut < opts.cutTimes);
    const cutAt = opts.cutAfterBytes ?? 0;
    const up = http.request({
      agent,
      host: t.hostname,
      port: t.port || 80,
      method,
      path,
      headers: stripHopByHop(req.headers), // includes the client's Host
    });
    req.pipe(up);
    req.once('aborted', () => up.destroy());
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    up.once('error', (err) => {
      entry.action = 'error';
      if (!res.headersSent) {
        const body = `proxy: upstream error: ${err.message}`;
        res.writeHead(502, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      } else res.destroy();
    });
    up.once('response', (ur) => {
      stats.forwarded++;
      entry.status = ur.statusCode;
      res.writeHead(ur.statusCode ?? 502, ur.statusMessage, stripHopByHop(ur.headers));
      const hasBody = method !== 'HEAD' && ur.statusCode !== 204 && ur.statusCode !== 304;
      if (!cutEligible || !hasBody) {
        ur.on('data', (c: Buffer) => (entry.bytes += c.length));
        ur.pipe(res);
        return;
      }
      let sent = 0;
      let cutDone = false;
      const cut = () => {
        if (cutDone) return;
        cutDone = true;
        stats.cut++;
        entry.action = 'cut';
        ur.destroy();
        // Drop the client connection without finishing the response.
        res.socket?.destroy();
        res.destroy();
      };
      res.flushHeaders();
      if (cutAt === 0) {
        // give the headers a moment to leave, then cut
        setImmediate(cut);
        return;
      }
      ur.on('data', (c: Buffer) => {
        if (cutDone) return;
        const room = cutAt - sent;
        if (c.length < room) {
          sent += c.length;
          entry.bytes = sent;
          if (!res.write(c)) {
            ur.pause();
            res.once('drain', () => ur.resume());
          }
          return;
        }
        const part = c.subarray(0, room);
        sent += part.length;
        entry.bytes = sent;
        ur.pause();
        res.write(part, () => setImmediate(cut));
      });
      ur.on('end', () => {
        if (!cutDone) res.end(); // body was not longer than cutAfterBytes
      });
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  const port = await listen(server);
  const host = `127.0.0.1:${port}`;
  let stopped = false;
  return {
    host,
    url: `http://${host}`,
    stats,
    configure(o) {
      Object.assign(opts, o);
    },
    reset() {
      Object.assign(stats, { requests: 0, forwarded: 0, faulted: 0, cut: 0, matched: 0 });
      stats.log.length = 0;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await closeServer(server);
      agent.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// skopeo

/**
 * Run the real skopeo with `--insecure-policy`. Each call gets a fresh private HOME (no developer
 * credentials from ~/.docker or auth.json, no blob-info cache shared between calls, so no reuse or
 * mount shortcuts) unless `env.HOME` is given.
 */
export async function skopeo(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ExecResult> {
  const bin = findBinary('skopeo');
  if (!bin) throw new Error(`skopeo is not installed: ${INSTALL_HINT}`);
  const home = opts.env?.HOME === undefined ? await mkdtemp(join(tmpdir(), 'skopeo-home-')) : undefined;
  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.DOCKER_CONFIG;
    delete env.REGISTRY_AUTH_FILE;
    if (home !== undefined) Object.assign(env, { HOME: home, XDG_RUNTIME_DIR: home, XDG_CONFIG_HOME: join(home, '.config') });
    Object.assign(env, opts.env);
    return await execFileP(bin, ['--insecure-policy', ...args], { env, timeoutMs: opts.timeoutMs ?? 60_000 });
  } finally {
    if (home !== undefined) await rm(home, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// seeding helpers (independent of the client under test): plain fetch, POST + PUT

export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
} as const;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');

/** Push a blob with POST + PUT; returns its digest. `authorization` is a full header value. */
export async function putBlob(baseUrl: string, repo: string, data: Uint8Array | string, authorization?: string): Promise<string> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
  const digest = sha256(bytes);
  const auth: Record<string, string> = authorization ? { Authorization: authorization } : {};
  const post = await fetch(`${baseUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth, redirect: 'manual' });
  await post.arrayBuffer();
  if (post.status !== 202) throw new Error(`POST upload ${repo}: ${post.status} ${post.headers.get('www-authenticate') ?? ''}`);
  const loc = new URL(post.headers.get('location') ?? '', `${baseUrl}/v2/${repo}/blobs/uploads/`);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, {
    method: 'PUT',
    headers: { ...auth, 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
    body: bytes,
    redirect: 'manual',
  });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`PUT blob ${repo}@${digest}: ${put.status} ${text}`);
  return digest;
}

/** PUT a manifest (exact bytes); returns the digest the registry reported. */
export async function putManifest(baseUrl: string, repo: string, ref: string, manifest: string, mediaType: string = OCI_MANIFEST, authorization?: string): Promise<string> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { 'Content-Type': mediaType, ...(authorization ? { Authorization: authorization } : {}) },
    body: manifest,
    redirect: 'manual',
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`PUT manifest ${repo}:${ref}: ${res.status} ${text}`);
  return res.headers.get('docker-content-digest') ?? sha256(manifest);
}

/** Push an OCI artifact (empty config + one layer per file) and tag it; returns digests and the manifest bytes. */
export async function pushArtifact(
  baseUrl: string,
  repo: string,
  tag: string,
  layers: Array<{ data: Uint8Array | string; mediaType?: string; title?: string }>,
  authorization?: string,
): Promise<{ manifest: string; digest: string; layerDigests: string[] }> {
  await putBlob(baseUrl, repo, '{}', authorization);
  const descs = [];
  const layerDigests: string[] = [];
  for (const l of layers) {
    const d = await putBlob(baseUrl, repo, l.data, authorization);
    layerDigests.push(d);
    descs.push({
      mediaType: l.mediaType ?? 'application/vnd.example.layer.v1',
      digest: d,
      size: typeof l.data === 'string' ? Buffer.byteLength(l.data) : l.data.byteLength,
      ...(l.title ? { annotations: { 'org.opencontainers.image.title': l.title } } : {}),
    });
  }
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.test.v1', config: EMPTY_CONFIG, layers: descs });
  const digest = await putManifest(baseUrl, repo, tag, manifest, OCI_MANIFEST, authorization);
  return { manifest, digest, layerDigests };
}

/** Parse a `WWW-Authenticate` challenge: scheme + params (quoted values unquoted). */
export function parseChallenge(h: string | null): { scheme: string; params: Record<string, string> } | undefined {
  if (!h) return undefined;
  const m = /^\s*(\S+)\s*(.*)$/.exec(h);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2])) !== null) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1], params };
}
