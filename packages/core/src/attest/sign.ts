import type { KeyObject } from 'node:crypto';
import { dsseEnvelopeBundle, messageSignatureBundle } from './bundle.js';
import { preAuthEncoding } from './dsse.js';
import { keyId, signBytes } from './keys.js';
import { IN_TOTO_PAYLOAD_TYPE, serializeStatement, type InTotoStatement } from './statement.js';

/**
 * `kit sign`: a Sigstore bundle whose messageSignature signs `message` (the ModelKit manifest's
 * exact bytes, so its SHA-256 is the manifest digest). Returns the bundle JSON bytes.
 */
export function signMessage(message: Buffer, privateKey: KeyObject): Buffer {
  return messageSignatureBundle(message, signBytes(message, privateKey), keyId(privateKey));
}

/** `kit attest`: a Sigstore bundle carrying a DSSE envelope around the in-toto statement. */
export function signStatement(statement: InTotoStatement, privateKey: KeyObject): Buffer {
  const payload = serializeStatement(statement);
  const signature = signBytes(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload), privateKey);
  return dsseEnvelopeBundle(IN_TOTO_PAYLOAD_TYPE, payload, signature, keyId(privateKey));
}
