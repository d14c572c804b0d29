import { createHash } from 'node:crypto';
import { KitError, type KitErrorCode } from '../errors.js';

/**
 * OCI content digests (`alg:encoded`). We accept only the algorithms go-digest registers for kit
 * (sha256, sha384, sha512) with their exact lowercase-hex length: digests end up in blob paths and
 * registry URLs, so anything looser (uppercase hex, short hex, unknown algorithms) is refused
 * rather than normalised. The general OCI grammar would admit more; kit itself does not.
 */
const HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

const DIGEST = /^([a-z0-9]+):([a-f0-9]+)$/;

export function isDigest(s: unknown): boolean {
  // Not a type guard on purpose: a false result must not narrow a `string` argument to never.
  if (typeof s !== 'string') return false;
  const m = DIGEST.exec(s);
  if (!m) return false;
  const want = HEX_LENGTH[m[1]];
  return want !== undefined && m[2].length === want;
}

/**
 * Throws unless `s` is a valid digest. `what` names the value for the message ("layer digest",
 * "manifest in index.json", ...); `code` lets callers say whether a bad digest is a user mistake
 * (the default) or a sign of a damaged store.
 */
export function assertDigest(s: unknown, what: string, code: KitErrorCode = 'INVALID_ARGUMENT'): asserts s is string {
  if (!isDigest(s)) {
    throw new KitError(
      code,
      `${what}: ${JSON.stringify(s)} is not a valid digest; expected sha256:<64 lowercase hex> (or sha384/sha512)`,
    );
  }
}

/** The encoded (hex) part of a digest, e.g. for `blobs/sha256/<hex>` paths. */
export function digestHex(d: string): string {
  assertDigest(d, 'digest');
  return d.slice(d.indexOf(':') + 1);
}

/** The algorithm part of a digest (`sha256`). */
export function digestAlgorithm(d: string): string {
  assertDigest(d, 'digest');
  return d.slice(0, d.indexOf(':'));
}

/** `sha256:<hex>` of some bytes (strings are hashed as UTF-8). */
export function sha256Digest(buf: Buffer | Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}
