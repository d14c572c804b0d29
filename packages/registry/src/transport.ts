import { readFileSync } from 'node:fs';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { KitError, TOOL_VERSION } from '@modelkit/core';
import { describeErrorBody, parseErrorBody, RegistryError } from './errors.js';

/** What the transport needs from auth: a cached header, and a way to answer a 401 challenge. */
export interface Authorizer {
  authorization(registry: string, scopes: string[]): string | undefined;
  onChallenge(registry: string, wwwAuthenticate: string, scopes: string[], failedAuthorization?: string): Promise<string>;
}

export interface TransportOptions {
  /** Talk plain HTTP; default: only for localhost and 127.0.0.1. */
  plainHttp?: boolean;
  /** Verify TLS certificates (default true). */
  tlsVerify?: boolean;
  /** Extra CA certificate files (PEM). */
  caFiles?: string[];
  /** Client certificate and key files (PEM) for mutual TLS. */
  clientCert?: string;
  clientKey?: string;
  /** Attempts for retryable failures (default 5). */
  retries?: number;
  auth?: Authorizer;
  /** Seconds of the longest wait between retries (default 30). */
  maxBackoffSeconds?: number;
}

/** A request body: bytes, or a factory that can produce the stream again for a retry. */
export type RequestBody = Buffer | string | (() => AsyncIterable<Buffer>);

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path under the registry ("/v2/…") or an absolute URL (upload Locations). */
  url: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Token scopes this request needs, e.g. repository:org/model:pull,push. */
  scopes: string[];
  /** Attempts for this request (a body that cannot be replayed gets 1). */
  retries?: number;
  /** Statuses that count as success; anything else is an error. */
  expect: number[];
  /** Read at most this many bytes of a successful body via text()/bytes(). */
  what: string;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: Dispatcher.ResponseData['body'];
  url: URL;
  /** The Authorization header the request went out with, if any. */
  sentAuthorization?: string;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRYABLE_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED']);

/**
 * HTTP to one registry: auth challenges answered and retried once, retries with backoff and jitter
 * on network errors, 5xx, 408 and 429 (honouring Retry-After) when the body can be sent again,
 * redirects followed by hand so credentials never reach another host.
 */
export class Transport {
  readonly registry: string;
  readonly origin: string;
  private readonly dispatcher: Dispatcher;
  private readonly options: TransportOptions;

  constructor(registry: string, options: TransportOptions = {}) {
    this.registry = registry;
    this.options = options;
    // Loopback registries speak plain HTTP unless TLS settings say otherwise (a CA, a client cert, or --tls-verify=false).
    const tlsAsked = !!options.caFiles?.length || !!options.clientCert || options.tlsVerify === false;
    const plain = options.plainHttp ?? (isLoopback(registry) && !tlsAsked);
    this.origin = `${plain ? 'http' : 'https'}://${registry}`;
    const connect = {
      rejectUnauthorized: options.tlsVerify ?? true,
      ca: options.caFiles?.length ? options.caFiles.map((f) => readFileSync(f)) : undefined,
      cert: options.clientCert ? readFileSync(options.clientCert) : undefined,
      key: options.clientKey ? readFileSync(options.clientKey) : undefined,
    };
    const proxied = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((v) => process.env[v]);
    const agentOptions = { connect, connections: 16, keepAliveTimeout: 30_000, bodyTimeout: 300_000, headersTimeout: 120_000 };
    this.dispatcher = proxied ? new EnvHttpProxyAgent(agentOptions) : new Agent(agentOptions);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const attempts = req.retries ?? this.options.retries ?? 5;
    let challenged = false;
    for (let attempt = 1; ; attempt++) {
      let response: RegistryResponse;
      try {
        response = await this.send(req);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (attempt < attempts && RETRYABLE_ERRORS.has(code)) {
          await sleep(backoff(attempt, this.options.maxBackoffSeconds));
          continue;
        }
        const certificate = /CERT|TLS|SSL/i.test(code);
        const hint = certificate ? "the registry's TLS certificate is not trusted: pass its CA with --tls-cert, or --tls-verify=false if you accept the risk" : 'check the address, your network and proxy settings';
        throw new KitError('NETWORK', `${req.what}: cannot reach ${this.registry} (${code || (e as Error).message}); ${hint}`, { cause: e });
      }
      if (response.status === 401 && !challenged && this.options.auth) {
        const challenge = response.headers['www-authenticate'];
        await response.body.dump();
        if (challenge) {
          challenged = true;
          // Pass the header this request carried: a concurrent request may have cached a good one since.
          await this.options.auth.onChallenge(this.registry, challenge, req.scopes, response.sentAuthorization);
          attempt--; // the challenge round does not count as a failure
          continue;
        }
      }
      if (req.expect.includes(response.status)) return response;
      if (RETRYABLE_STATUS.has(response.status) && attempt < attempts) {
        const wait = retryAfterMs(response.headers['retry-after']) ?? backoff(attempt, this.options.maxBackoffSeconds);
        await response.body.dump();
        await sleep(wait);
        continue;
      }
      throw await this.errorFrom(req, response);
    }
  }

  /** One exchange, following redirects for reads; never sends Authorization to another origin. */
  private async send(req: RegistryRequest): Promise<RegistryResponse> {
    let url = new URL(req.url, this.origin);
    for (let hop = 0; hop < 10; hop++) {
      const headers: Record<string, string> = { 'user-agent': `modelkit-ts/${TOOL_VERSION}`, ...req.headers };
      const sameOrigin = url.origin === this.origin;
      const auth = sameOrigin ? this.options.auth?.authorization(this.registry, req.scopes) : undefined;
      if (auth) headers.authorization = auth;
      const body = typeof req.body === 'function' ? req.body() : req.body;
      const response = await this.dispatcher.request({ origin: url.origin, path: url.pathname + url.search, method: req.method, headers, body: body as Dispatcher.DispatchOptions['body'] });
      const flat = flattenHeaders(response.headers);
      const location = flat.location;
      if ([301, 302, 303, 307, 308].includes(response.statusCode) && location && (req.method === 'GET' || req.method === 'HEAD')) {
        await response.body.dump();
        url = new URL(location, url);
        continue;
      }
      return { status: response.statusCode, headers: flat, body: response.body, url, sentAuthorization: auth };
    }
    throw new KitError('REGISTRY', `${req.what}: too many redirects from ${this.registry}`);
  }

  private async errorFrom(req: RegistryRequest, response: RegistryResponse): Promise<RegistryError> {
    const text = req.method === 'HEAD' ? '' : await readCapped(response.body, 64 << 10);
    const entries = parseErrorBody(text);
    const detail = describeErrorBody(entries, text) || `HTTP ${response.status}`;
    const status = response.status;
    if (status === 401 || status === 403) {
      return new RegistryError('UNAUTHORIZED', `${req.what}: ${this.registry} refused access (${status}: ${detail}); run \`kit login ${this.registry}\` with an account that may do this`, status, entries);
    }
    if (status === 404) return new RegistryError('NOT_FOUND', `${req.what}: not found on ${this.registry} (${detail})`, status, entries);
    if (status === 429) return new RegistryError('REGISTRY', `${req.what}: ${this.registry} is rate-limiting requests (${detail}); try again later`, status, entries);
    return new RegistryError('REGISTRY', `${req.what}: ${this.registry} answered ${status} (${detail})`, status, entries);
  }
}

/** Read a body up to `limit` bytes; more is an error (manifests and tokens are small). */
export async function readCapped(body: AsyncIterable<Buffer | Uint8Array>, limit: number, what = 'response'): Promise<string> {
  return (await readCappedBytes(body, limit, what)).toString('utf8');
}

export async function readCappedBytes(body: AsyncIterable<Buffer | Uint8Array>, limit: number, what = 'response'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new KitError('REGISTRY', `${what} is larger than ${limit} bytes: refused`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped. */
function backoff(attempt: number, maxSeconds = 30): number {
  const ceiling = Math.min(maxSeconds * 1000, 500 * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function retryAfterMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(seconds, 120) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.min(date - Date.now(), 120_000));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
