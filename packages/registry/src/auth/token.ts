/**
 * Answers registry auth challenges (oci-registry.md §3): Basic gets the stored username and
 * password; Bearer gets a token from the challenge's realm, by OAuth2 POST when we hold a refresh
 * token (or are told to) and by the classic GET otherwise. Headers are cached per registry and
 * normalised scope set, and concurrent callers wanting the same token share one request.
 *
 * The HTTP function is injected so this module stays transport-free: the registry client passes
 * its undici-based one (which should also enforce the body cap while streaming; we check
 * Content-Length and the text we get, which is all this interface allows).
 *
 * Nothing here puts a secret (password, identity token, token) into an error message.
 */
import { inspect } from 'node:util';
import { KitError } from '@modelkit/core';
import { parseChallenges, type Challenge } from './challenge.js';
import { credentialError } from './errors.js';
import { mergeScopes } from './scope.js';
import { encodeBasicAuth, type Credential, type CredentialSource } from './secret.js';
import { TokenCache } from './token-cache.js';

export { TokenCache } from './token-cache.js';

export interface AuthHttpRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
}

export interface AuthHttpResponse {
  status: number;
  /** Lowercase names. */
  headers: Record<string, string | undefined>;
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export type AuthHttp = (url: string, init: AuthHttpRequest) => Promise<AuthHttpResponse>;

export interface AuthManagerOptions {
  /** Clock in ms, for tests. */
  now?: () => number;
  /** OAuth2 `client_id`; default `modelkit-ts`. */
  clientId?: string;
  /**
   * Use the OAuth2 password grant (POST) for username/password logins too. No challenge parameter
   * asks for this, so it is the caller's choice (oras-go's ForceAttemptOAuth2); without it,
   * passwords go by GET with Basic, which every token server supports.
   */
  forceOAuth2?: boolean;
  /** Default 4 MiB. */
  maxTokenResponseBytes?: number;
}

export const OAUTH2_CLIENT_ID = 'modelkit-ts';
export const DEFAULT_TOKEN_LIFETIME_S = 60;
export const MAX_TOKEN_RESPONSE_BYTES = 4 * 1024 * 1024;
// A token goes into a header as is: visible ASCII only, so a hostile server cannot inject CR/LF.
const TOKEN_RE = /^[\x21-\x7e]+$/;

interface Fetched {
  header: string;
  expiresAt: number;
}

export class AuthManager {
  readonly #credentials: CredentialSource;
  readonly #http: AuthHttp;
  readonly #now: () => number;
  readonly #clientId: string;
  readonly #forceOAuth2: boolean;
  readonly #maxBytes: number;
  readonly #cache: TokenCache;
  readonly #inflight = new Map<string, Promise<Fetched>>();
  /** Refresh tokens servers gave us, by registry + realm + service; preferred over passwords. */
  readonly #refreshTokens = new Map<string, string>();

  constructor(credentials: CredentialSource, http: AuthHttp, options: AuthManagerOptions = {}) {
    this.#credentials = credentials;
    this.#http = http;
    this.#now = options.now ?? Date.now;
    this.#clientId = options.clientId ?? OAUTH2_CLIENT_ID;
    this.#forceOAuth2 = options.forceOAuth2 ?? false;
    this.#maxBytes = options.maxTokenResponseBytes ?? MAX_TOKEN_RESPONSE_BYTES;
    this.#cache = new TokenCache(this.#now);
  }

  /** The cached `Authorization` value for a request needing `scopes`, if any and unexpired. */
  authorization(registry: string, scopes: string[]): string | undefined {
    return this.#cache.get(basicKey(registry)) ?? this.#cache.get(bearerKey(registry, mergeScopes(scopes)));
  }

  /**
   * The `Authorization` value to retry with after a 401 carrying `wwwAuthenticate`. Pass the
   * header the failed request sent (if any) as `failedAuthorization`: a cached value equal to it
   * was just refused, so it is replaced rather than handed out again.
   */
  async onChallenge(registry: string, wwwAuthenticate: string, scopes: string[], failedAuthorization?: string): Promise<string> {
    const challenges = parseChallenges(wwwAuthenticate);
    // Prefer Bearer when a server offers both: it scopes access, Basic sends the password each time.
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) return this.#bearer(registry, bearer, scopes, failedAuthorization);
    if (challenges.some((c) => c.scheme === 'basic')) return this.#basic(registry, failedAuthorization);
    if (challenges.length === 0) {
      throw new KitError('IO', `${registry} answered 401 Unauthorized without a WWW-Authenticate challenge`);
    }
    const schemes = challenges.map((c) => c.scheme).join(', ');
    throw new KitError('FORMAT_UNSUPPORTED', `${registry} asks for ${schemes} authentication; only Basic and Bearer are supported`);
  }

  /** Forgets cached headers and refresh tokens (all, or one registry's), e.g. after logout. */
  clear(registry?: string): void {
    this.#cache.clear(registry === undefined ? '' : `${registry}\n`);
    for (const key of [...this.#refreshTokens.keys()]) {
      if (registry === undefined || key.startsWith(`${registry}\n`)) this.#refreshTokens.delete(key);
    }
  }

  toJSON(): { cache: { entries: number } } {
    return { cache: this.#cache.toJSON() };
  }

  [inspect.custom](): string {
    return `AuthManager { cached: ${this.#cache.size} }`;
  }

  async #basic(registry: string, failed: string | undefined): Promise<string> {
    const key = basicKey(registry);
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached !== failed) return cached;
    this.#cache.delete(key);
    const { header } = await this.#singleFlight(key, async () => {
      const cred = await this.#credentials.get(registry);
      if (cred?.username === undefined || cred.password === undefined) {
        throw credentialError(`${registry} requires a username and password and none are stored for it; run \`kit login ${registry}\``);
      }
      const value = `Basic ${encodeBasicAuth(cred.username, cred.password)}`;
      if (value === failed) throw rejected(registry, 'the registry');
      return { header: value, expiresAt: Infinity };
    });
    return header;
  }

  async #bearer(registry: string, challenge: Challenge, scopes: string[], failed: string | undefined): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new KitError('IO', `${registry} sent a Bearer challenge without a realm; cannot get a token`);
    const service = challenge.params.service || undefined;
    const merged = mergeScopes(scopes, (challenge.params.scope ?? '').split(' '));
    const key = bearerKey(registry, merged);
    let got = this.#cache.entry(key);
    if (got === undefined || got.header === failed) {
      this.#cache.delete(key);
      got = await this.#singleFlight(key, () => this.#fetchToken(registry, realm, service, merged));
    }
    // Also file it under the caller's own hints, so authorization(registry, scopes) finds it next time.
    const hinted = bearerKey(registry, mergeScopes(scopes));
    if (hinted !== key && this.#cache.get(hinted) === undefined) this.#cache.set(hinted, got.header, got.expiresAt);
    return got.header;
  }

  /** One request per key at a time: the others await the same promise. The result is cached. */
  #singleFlight(key: string, fetch: () => Promise<Fetched>): Promise<Fetched> {
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = fetch()
        .then((got) => {
          this.#cache.set(key, got.header, got.expiresAt);
          return got;
        })
        .finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #fetchToken(registry: string, realm: string, service: string | undefined, scopes: string[]): Promise<Fetched> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new KitError('IO', `${registry} named a token realm that is not a URL: ${JSON.stringify(realm.slice(0, 200))}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new KitError('IO', `${registry} named a token realm with unsupported scheme ${url.protocol}`);
    }
    const where = `${url.origin}${url.pathname}`;
    const cred: Credential | undefined = await this.#credentials.get(registry);
    if (cred?.registryToken !== undefined) {
      // config.json `registrytoken`: a bearer token issued out of band; nothing to fetch.
      const token = checkedToken(`the registrytoken stored for ${registry}`, cred.registryToken);
      return { header: `Bearer ${token}`, expiresAt: this.#now() + lifetimeMs(DEFAULT_TOKEN_LIFETIME_S) };
    }
    const hasPassword = cred?.username !== undefined && cred.password !== undefined;
    const refreshKey = `${registry}\n${where}\n${service ?? ''}`;

    for (;;) {
      const kept = this.#refreshTokens.get(refreshKey);
      const refreshToken = kept ?? cred?.identityToken;
      let res: AuthHttpResponse | undefined;
      let sentCredentials = false;
      if (refreshToken !== undefined || (this.#forceOAuth2 && hasPassword)) {
        const form = new URLSearchParams();
        if (refreshToken !== undefined) {
          form.set('grant_type', 'refresh_token');
          form.set('refresh_token', refreshToken);
        } else {
          form.set('grant_type', 'password');
          form.set('username', cred!.username!);
          form.set('password', cred!.password!);
        }
        if (service !== undefined) form.set('service', service);
        if (scopes.length > 0) form.set('scope', scopes.join(' '));
        form.set('client_id', this.#clientId);
        res = await this.#send(registry, where, url.href, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form.toString(),
        });
        sentCredentials = true;
        if (res.status === 404 || res.status === 405) {
          res = undefined; // no OAuth2 endpoint here (distribution's spec makes it optional): use GET
        } else if ((res.status === 401 || res.status === 403) && kept !== undefined) {
          this.#refreshTokens.delete(refreshKey); // our stored refresh token went stale: start over
          continue;
        }
      }
      if (res === undefined) {
        const get = new URL(url.href);
        if (service !== undefined) get.searchParams.append('service', service);
        for (const scope of scopes) get.searchParams.append('scope', scope);
        const headers: Record<string, string> = { accept: 'application/json' };
        sentCredentials = hasPassword;
        if (hasPassword) headers.authorization = `Basic ${encodeBasicAuth(cred!.username!, cred!.password!)}`;
        res = await this.#send(registry, where, get.href, { method: 'GET', headers });
      }
      return this.#readToken(registry, where, refreshKey, res, sentCredentials);
    }
  }

  async #send(registry: string, where: string, url: string, init: AuthHttpRequest): Promise<AuthHttpResponse> {
    try {
      return await this.#http(url, init);
    } catch (e) {
      if (e instanceof KitError) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new KitError('IO', `could not reach the token service ${where} for ${registry}: ${why}`, { cause: e });
    }
  }

  async #readToken(
    registry: string,
    where: string,
    refreshKey: string,
    res: AuthHttpResponse,
    sentCredentials: boolean,
  ): Promise<Fetched> {
    if (res.status === 401 || res.status === 403) {
      throw sentCredentials
        ? rejected(registry, `its token service (HTTP ${res.status})`)
        : credentialError(`anonymous access to ${registry} was refused by its token service (HTTP ${res.status}); run \`kit login ${registry}\``);
    }
    if (res.status < 200 || res.status > 299) {
      throw new KitError('IO', `the token service ${where} for ${registry} answered HTTP ${res.status}`);
    }
    const tooBig = (): KitError =>
      new KitError('IO', `the token service ${where} for ${registry} sent a response over ${this.#maxBytes} bytes`);
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.#maxBytes) throw tooBig();
    const text = await res.text();
    if (Buffer.byteLength(text, 'utf8') > this.#maxBytes) throw tooBig();
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      throw new KitError('IO', `the token service ${where} for ${registry} answered with something other than a JSON object`);
    }
    // Both names are in use (distribution: `token`, OAuth2: `access_token`); prefer the OAuth2 one, as oras-go.
    const raw = nonEmptyString(body.access_token) ?? nonEmptyString(body.token);
    if (raw === undefined) throw new KitError('IO', `the token service ${where} for ${registry} answered without a token`);
    const token = checkedToken(`what the token service ${where} for ${registry} sent`, raw);
    const refresh = nonEmptyString(body.refresh_token);
    if (refresh !== undefined) this.#refreshTokens.set(refreshKey, refresh);
    // Measured from receipt, not `issued_at`: our clock and the server's may disagree.
    const seconds = Number(body.expires_in);
    const lifetime = Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_TOKEN_LIFETIME_S;
    return { header: `Bearer ${token}`, expiresAt: this.#now() + lifetimeMs(lifetime) };
  }
}

/** Lifetime minus a margin (10 %, at most 10 s) so a token is not sent just as it expires. */
function lifetimeMs(seconds: number): number {
  return seconds * 1000 - Math.min(10_000, seconds * 100);
}

function basicKey(registry: string): string {
  return `${registry}\nbasic`;
}

function bearerKey(registry: string, scopes: string[]): string {
  return `${registry}\nbearer\n${scopes.join(' ')}`;
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `from` says who supplied the token, for the message (never the token itself). */
function checkedToken(from: string, token: string): string {
  if (!TOKEN_RE.test(token)) throw new KitError('IO', `${from} is a token with characters not allowed in an HTTP header`);
  return token;
}

function rejected(registry: string, by: string): KitError {
  return credentialError(`the credentials for ${registry} were rejected by ${by}; run \`kit login ${registry}\` to update them`);
}
