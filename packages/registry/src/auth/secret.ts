/**
 * Credential values and sources. A credential is a plain object (easy to build, compare, spread),
 * but the ones this package creates carry a non-enumerable `toJSON` and inspector that redact the
 * secrets, so logging or serialising one by accident prints no password.
 */
import { inspect } from 'node:util';

export interface Credential {
  username?: string;
  password?: string;
  /** A refresh token from `docker login` (config.json `identitytoken`, helper Username `<token>`). */
  identityToken?: string;
  /** A ready bearer token (config.json `registrytoken`), sent as is. */
  registryToken?: string;
}

export interface CredentialSource {
  /** Credentials for a registry host (`ghcr.io`, `localhost:5000`, `docker.io`), or undefined. */
  get(registry: string): Promise<Credential | undefined>;
}

const REDACTED = '[redacted]';

/** What may be shown of a credential: the username and which secrets are present. */
export function redactCredential(c: Credential): Record<string, string> {
  const out: Record<string, string> = {};
  if (c.username !== undefined) out.username = c.username;
  if (c.password !== undefined) out.password = REDACTED;
  if (c.identityToken !== undefined) out.identityToken = REDACTED;
  if (c.registryToken !== undefined) out.registryToken = REDACTED;
  return out;
}

/** Returns `c` (without undefined fields) with redacting `toJSON` and `util.inspect`. */
export function makeCredential(c: Credential): Credential {
  const out: Credential = {};
  if (c.username !== undefined) out.username = c.username;
  if (c.password !== undefined) out.password = c.password;
  if (c.identityToken !== undefined) out.identityToken = c.identityToken;
  if (c.registryToken !== undefined) out.registryToken = c.registryToken;
  // Non-enumerable: invisible to spreads, Object.keys and deep equality.
  Object.defineProperty(out, 'toJSON', { value: () => redactCredential(out), enumerable: false });
  Object.defineProperty(out, inspect.custom, {
    value: () => `Credential ${inspect(redactCredential(out))}`,
    enumerable: false,
  });
  return out;
}

/** Decodes config.json's `auth` field, base64("user:password"); undefined if malformed. */
export function decodeBasicAuth(auth: string): { username: string; password: string } | undefined {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function encodeBasicAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}
