import { createHash, type KeyObject } from 'node:crypto';
import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  type Bundle,
  type Envelope,
  type MessageSignature,
} from '@sigstore/bundle';
import { toSignedEntity, Verifier, VerificationError, type TrustMaterial } from '@sigstore/verify';
import { KitError } from '../errors.js';
import { keyAlgorithmOf, keyId, keyIdForms, normalizeKeyHint, verifyBytes } from './keys.js';
import { IN_TOTO_PAYLOAD_TYPE, parseStatement, type InTotoStatement } from './statement.js';

export interface VerifiedBundle {
  /** Which of the given keys verified it. */
  keyId: string;
  content: 'message-signature' | 'dsse-envelope';
  /** message-signature: the sha256 hex the signature covers; dsse: undefined. */
  messageDigest?: string;
  /** dsse: the parsed statement. */
  statement?: InTotoStatement;
}

/** Every bundle version whose key-based content we can check; cosign v2.4 writes the legacy v0.3 spelling. */
const SUPPORTED_MEDIA_TYPES = [BUNDLE_V03_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V01_MEDIA_TYPE];
const SIGSTORE_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.bundle(\.v\d+\.\d+)?\+json/;
/** HashAlgorithm.SHA2_256 in sigstore_common.proto, as @sigstore/bundle parses it. */
const SHA2_256 = 1;

/**
 * Parse and verify a Sigstore bundle against trusted public keys. Message signatures need
 * `message` (the manifest bytes) so the signature is checked against the actual content; for a
 * DSSE attestation, a given `message` must be one of the statement's sha256 subjects.
 * Offline, key-based: tlog entries and RFC 3161 timestamps in the bundle are not required and not
 * checked (as `cosign verify-blob --insecure-ignore-tlog`); trust comes from the key alone.
 */
export function verifyBundle(bundle: Buffer, publicKeys: KeyObject[], message?: Buffer): VerifiedBundle {
  const parsed = parseBundle(bundle);
  if (parsed.verificationMaterial.content.$case !== 'publicKey') {
    throw invalid('the bundle is signed with an X.509 certificate (keyless); only key-based bundles are supported');
  }
  const hint = parsed.verificationMaterial.content.publicKey.hint;
  const candidates = signingKeyCandidates(hint, publicKeys);
  return parsed.content.$case === 'messageSignature'
    ? verifyMessageSignature(parsed, parsed.content.messageSignature, hint, candidates, message)
    : verifyDsseEnvelope(parsed, parsed.content.dsseEnvelope, hint, candidates, message);
}

function verifyMessageSignature(
  bundle: Bundle,
  content: MessageSignature,
  hint: string,
  candidates: KeyObject[],
  message: Buffer | undefined,
): VerifiedBundle {
  if (!message) throw invalid('a message-signature bundle cannot be verified without the signed content (the manifest bytes)');
  const { algorithm, digest } = content.messageDigest;
  if (algorithm !== SHA2_256) throw invalid('unsupported message digest algorithm (only SHA2_256 is)');
  const actual = createHash('sha256').update(message).digest();
  if (!actual.equals(Buffer.from(digest))) {
    throw invalid(
      `the signature covers sha256:${Buffer.from(digest).toString('hex')} but the content is sha256:${actual.toString('hex')}: tampered or different content`,
    );
  }
  const signer = candidates.find((key) => messageSignatureVerifies(bundle, content, key, message));
  if (!signer) throw mismatch(hint);
  return { keyId: keyId(signer), content: 'message-signature', messageDigest: actual.toString('hex') };
}

function verifyDsseEnvelope(
  bundle: Bundle,
  envelope: Envelope,
  hint: string,
  candidates: KeyObject[],
  message: Buffer | undefined,
): VerifiedBundle {
  const signer = candidates.find((key) => sigstoreVerifies(bundle, key));
  if (!signer) throw mismatch(hint);
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw invalid(`the DSSE payload type is '${envelope.payloadType}', not in-toto ('${IN_TOTO_PAYLOAD_TYPE}')`);
  }
  const statement = parseStatement(Buffer.from(envelope.payload));
  if (message) assertSubject(statement, message);
  return { keyId: keyId(signer), content: 'dsse-envelope', statement };
}

/** Given the content too, a statement must be about it (as sigstore-go checks an artifact). */
function assertSubject(statement: InTotoStatement, message: Buffer): void {
  const digest = createHash('sha256').update(message).digest('hex');
  if (!statement.subject.some((subject) => subject.digest.sha256?.toLowerCase() === digest)) {
    const named = statement.subject.map((subject) => `${subject.name}@sha256:${subject.digest.sha256 ?? '?'}`).join(', ');
    throw invalid(`the attestation is about ${named}, not the given content sha256:${digest}`);
  }
}

function parseBundle(bytes: Buffer): Bundle {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('not a Sigstore bundle: not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('not a Sigstore bundle: not a JSON object');
  const mediaType = (json as { mediaType?: unknown }).mediaType;
  if (typeof mediaType !== 'string') throw invalid('not a Sigstore bundle: no mediaType');
  if (!SUPPORTED_MEDIA_TYPES.includes(mediaType)) {
    throw invalid(
      SIGSTORE_MEDIA_TYPE.test(mediaType)
        ? `unsupported Sigstore bundle version '${mediaType}' (supported: v0.1 to v0.3, '${BUNDLE_V03_MEDIA_TYPE}')`
        : `not a Sigstore bundle: mediaType is '${mediaType}', expected '${BUNDLE_V03_MEDIA_TYPE}'`,
    );
  }
  try {
    // Checks the fields each bundle version requires; ValidationError names the missing ones.
    return bundleFromJSON(json);
  } catch (e) {
    const fields = (e as { fields?: string[] }).fields;
    const why = fields?.length ? `missing or invalid ${fields.join(', ')}` : (e as Error).message;
    throw invalid(`not a valid Sigstore bundle: ${why}`, e);
  }
}

/** The trusted keys that may have signed: the one the hint names, or all of them when there is no hint. */
function signingKeyCandidates(hint: string, publicKeys: KeyObject[]): KeyObject[] {
  if (publicKeys.length === 0) throw invalid('no trusted public keys were given to verify with');
  if (hint === '') return publicKeys;
  const named = publicKeys.find((key) => keyIdForms(key).includes(hint));
  if (!named) {
    const trusted = publicKeys.map((key) => keyId(key)).join(', ');
    throw invalid(`signed by key ${normalizeKeyHint(hint)}, which is not a trusted key (trusted: ${trusted})`);
  }
  return [named];
}

function messageSignatureVerifies(bundle: Bundle, content: MessageSignature, key: KeyObject, message: Buffer): boolean {
  // @sigstore/verify checks message signatures with crypto.verify('sha256', …), which Node rejects
  // for Ed25519 keys (pure Ed25519 takes no digest), so Ed25519 is checked here with node:crypto.
  if (keyAlgorithmOf(key) === 'ed25519') return verifyBytes(message, key, Buffer.from(content.signature));
  return sigstoreVerifies(bundle, key, message);
}

/** Verify with @sigstore/verify, trusting exactly `key`, requiring no tlog, SCT or timestamp. */
function sigstoreVerifies(bundle: Bundle, key: KeyObject, artifact?: Buffer): boolean {
  const trust: TrustMaterial = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    // The hint was matched to `key` already (or was empty and every trusted key is tried).
    publicKey: () => ({ publicKey: key, validFor: () => true }),
  };
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    verifier.verify(toSignedEntity(withoutTransparency(bundle), artifact));
    return true;
  } catch (e) {
    if (e instanceof VerificationError && e.code === 'SIGNATURE_ERROR') return false;
    throw invalid(`the bundle cannot be verified: ${(e as Error).message}`, e);
  }
}

/**
 * Drop tlog entries and timestamps: offline there is no Rekor or TSA root to check them against,
 * and with empty trust roots @sigstore/verify would reject any it found.
 */
function withoutTransparency(bundle: Bundle): Bundle {
  return {
    ...bundle,
    verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [], timestampVerificationData: undefined },
  };
}

function mismatch(hint: string): KitError {
  return invalid(
    hint === ''
      ? 'the signature does not verify with any trusted key (the bundle names no key): tampered content or an untrusted signer'
      : `the signature does not match the signed content for key ${normalizeKeyHint(hint)}: tampered content or signature`,
  );
}

function invalid(message: string, cause?: unknown): KitError {
  return new KitError('SIGNATURE_INVALID', message, cause === undefined ? undefined : { cause });
}
