import { createPublicKey, type KeyObject } from 'node:crypto';
import { inTotoStatement, keyId, signMessage, signStatement, SIGSTORE_BUNDLE_MEDIA_TYPE } from '../attest/index.js';
import { sha256Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/types.js';
import type { ArtifactPayload } from '../referrers/artifact.js';

/** Bundle manifest annotations from sigstore/cosign specs/BUNDLE_SPEC.md, so cosign-aware tools can tell bundles apart. */
export const ANNOTATION_BUNDLE_CONTENT = 'dev.sigstore.bundle.content';
export const ANNOTATION_BUNDLE_PREDICATE_TYPE = 'dev.sigstore.bundle.predicateType';

/** A signed payload ready to attach (locally or in a registry), and who signed it. */
export interface SignedPayload {
  payload: ArtifactPayload;
  keyId: string;
}

function bundlePayload(bundle: Buffer, annotations: Record<string, string>): ArtifactPayload {
  return {
    artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    bytes: bundle,
    title: `${sha256Digest(bundle).replace(':', '-')}.sigstore.json`,
    annotations,
  };
}

/** `kit sign`: a signature over the manifest's exact bytes (so over its digest) in a Sigstore bundle. */
export function signaturePayload(manifestBytes: Buffer, privateKey: KeyObject): SignedPayload {
  const bundle = signMessage(manifestBytes, privateKey);
  return { payload: bundlePayload(bundle, { [ANNOTATION_BUNDLE_CONTENT]: 'message-signature' }), keyId: keyId(createPublicKey(privateKey)) };
}

/**
 * `kit attest`: a signed in-toto statement about the ModelKit (an SBOM, SLSA provenance from the
 * runner, anything with a predicate type) in a Sigstore bundle.
 */
export function attestationPayload(subject: Descriptor, subjectName: string, predicateType: string, predicate: unknown, privateKey: KeyObject): SignedPayload {
  const statement = inTotoStatement([{ name: subjectName, digest: { sha256: subject.digest.slice('sha256:'.length) } }], predicateType, predicate);
  const bundle = signStatement(statement, privateKey);
  const annotations = { [ANNOTATION_BUNDLE_CONTENT]: 'dsse-envelope', [ANNOTATION_BUNDLE_PREDICATE_TYPE]: predicateType };
  return { payload: bundlePayload(bundle, annotations), keyId: keyId(createPublicKey(privateKey)) };
}
