import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { KitError } from '../errors.js';

/** The two key types Sigstore tooling (cosign, sigstore-js, sigstore-go) verifies with a plain public key. */
export type KeyAlgorithm = 'ecdsa-p256' | 'ed25519';

/** PKCS#8 `PRIVATE KEY` PEM and SPKI `PUBLIC KEY` PEM. */
export interface KeyPairPem {
  privateKey: string;
  publicKey: string;
}

export const SUPPORTED_KEYS = 'ECDSA P-256 or Ed25519 PEM';

export function generateKeyPair(algorithm: KeyAlgorithm = 'ecdsa-p256'): KeyPairPem {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  switch (algorithm) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding, privateKeyEncoding });
    case 'ed25519':
      return generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding });
    default:
      throw new KitError('INVALID_ARGUMENT', `unknown key algorithm '${String(algorithm)}': use ecdsa-p256 or ed25519`);
  }
}

/** The algorithm of a key, or undefined when it is one we do not sign or verify with. */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  // Node names P-256 by its OpenSSL name.
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  return undefined;
}

/** A readable name for an unsupported key, for error messages. */
export function describeKeyType(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? key.type;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve ? `${type.toUpperCase()} ${curve}` : type.toUpperCase();
}

function publicOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

/** SHA-256 of the SPKI DER of the (public half of the) key. */
function spkiSha256(key: KeyObject): Buffer {
  return createHash('sha256').update(publicOf(key).export({ type: 'spki', format: 'der' })).digest();
}

/** Key identity used as the bundle's publicKey hint: lowercase hex SHA-256 of the SPKI DER. */
export function keyId(key: KeyObject): string {
  return spkiSha256(key).toString('hex');
}

/**
 * Every spelling of a key's identity a bundle hint may use: ours (hex) and cosign's (standard
 * base64 of the same SHA-256), so bundles cosign made with `--key` find their key too.
 */
export function keyIdForms(key: KeyObject): string[] {
  const hash = spkiSha256(key);
  return [hash.toString('hex'), hash.toString('base64')];
}

/** A hint in our hex form; a cosign base64 hint of a 32-byte hash is shown as hex too. */
export function normalizeKeyHint(hint: string): string {
  if (/^[0-9a-f]{64}$/.test(hint)) return hint;
  const bytes = /^[A-Za-z0-9+/]{43}=$/.test(hint) ? Buffer.from(hint, 'base64') : undefined;
  return bytes?.length === 32 ? bytes.toString('hex') : hint;
}

function requireAlgorithm(key: KeyObject, role: string): KeyAlgorithm {
  const algorithm = keyAlgorithmOf(key);
  if (!algorithm) {
    throw new KitError('KEY_INVALID', `${role} is of type ${describeKeyType(key)}: supported are ${SUPPORTED_KEYS}`);
  }
  return algorithm;
}

/**
 * Sign bytes the way Sigstore verifiers check them: ECDSA P-256 over SHA-256 with an ASN.1 DER
 * signature, Ed25519 pure (the message itself, no pre-hash).
 */
export function signBytes(data: Buffer, privateKey: KeyObject): Buffer {
  if (privateKey.type !== 'private') throw new KitError('KEY_INVALID', 'signing needs a private key, got a public key');
  const algorithm = requireAlgorithm(privateKey, 'the signing key');
  return algorithm === 'ed25519'
    ? sign(null, data, privateKey)
    : sign('sha256', data, { key: privateKey, dsaEncoding: 'der' });
}

/** The inverse of signBytes; false (never a throw) for a malformed signature. */
export function verifyBytes(data: Buffer, publicKey: KeyObject, signature: Buffer): boolean {
  const algorithm = requireAlgorithm(publicKey, 'the verification key');
  try {
    return algorithm === 'ed25519'
      ? verify(null, data, publicKey, signature)
      : verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
