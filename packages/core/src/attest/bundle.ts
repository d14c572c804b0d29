import { createHash } from 'node:crypto';

/** Sigstore bundle v0.3 (protobuf-specs sigstore_bundle.proto), the form cosign v3 and sigstore-js write. */
export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/**
 * Bundle JSON is protobuf JSON (camelCase field names, bytes as standard base64). It is written by
 * hand rather than through @sigstore/bundle's bundleToJSON so the layout is fixed: that serializer
 * drops empty lists, and we want the byte-stable shape given in spec/signatures.md.
 */
function verificationMaterial(hint: string) {
  return {
    publicKey: { hint },
    // Offline, key-based: no Rekor entry and no RFC 3161 timestamp; verifiers must be told not to require them.
    tlogEntries: [],
    timestampVerificationData: { rfc3161Timestamps: [] },
  };
}

/** A messageSignature bundle: `signature` is over `message` itself, its SHA-256 recorded beside it. */
export function messageSignatureBundle(message: Buffer, signature: Buffer, hint: string): Buffer {
  return json({
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    verificationMaterial: verificationMaterial(hint),
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(message).digest('base64') },
      signature: signature.toString('base64'),
    },
  });
}

/** A dsseEnvelope bundle: `signature` is over the DSSE PAE of (payloadType, payload). */
export function dsseEnvelopeBundle(payloadType: string, payload: Buffer, signature: Buffer, hint: string): Buffer {
  return json({
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    verificationMaterial: verificationMaterial(hint),
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType,
      // keyid left empty as cosign and sigstore-js do; the key is named once, in verificationMaterial.
      signatures: [{ keyid: '', sig: signature.toString('base64') }],
    },
  });
}

/** Compact JSON; key order is the literal order above, so the layout never varies. */
function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
