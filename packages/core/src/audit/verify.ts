import type { KeyObject } from 'node:crypto';
import { keyId, loadPublicKey, SIGSTORE_BUNDLE_MEDIA_TYPE, verifyBundle, type VerifiedBundle } from '../attest/index.js';
import { KitError } from '../errors.js';
import { describeModelKit } from '../modelkit/contents.js';
import type { ReadTarget } from '../oci/target.js';
import { parseManifest, type Descriptor } from '../oci/types.js';
import { parseArtifactManifest } from '../referrers/artifact.js';
import { declaredLicenses, type DeclaredLicense } from '../sbom/index.js';
import type { Policy } from './policy.js';

/** A public key the verifier trusts, with the name messages use for it. */
export interface TrustedKey {
  name: string;
  key: KeyObject;
  id: string;
}

export async function trustedKey(path: string, name = path): Promise<TrustedKey> {
  const key = await loadPublicKey(path);
  return { name, key, id: keyId(key) };
}

export interface VerifyRequest {
  target: ReadTarget;
  /** Tag or digest in the target. */
  reference: string;
  /** How messages name the ModelKit. */
  name: string;
  /** The approved digest the tag must still point at (`repo:tag@sha256:…`). */
  expectedDigest?: string;
  /** Keys from `--key`: a valid signature by at least one of them is required. */
  keys: TrustedKey[];
  policy?: Policy;
  /** Re-hash every blob (default true). */
  checkBlobs?: boolean;
}

export interface VerifiedSignature {
  referrer: string;
  signer: string;
  keyId: string;
}

export interface VerifyReport {
  name: string;
  digest: string;
  signatures: VerifiedSignature[];
  attestations: Array<VerifiedSignature & { predicateType: string }>;
  blobs: { checked: number; bytes: number };
  licenses: DeclaredLicense[];
}

/**
 * `kit verify`: the tag still points at the approved digest, signatures by trusted keys cover that
 * manifest, every blob matches its digest, and the policy (signers, licenses, attestations)
 * holds. The first failure is thrown with its precise reason; nothing is trusted by default.
 */
export async function verifyModelKit(request: VerifyRequest): Promise<VerifyReport> {
  const { target, name } = request;
  const policy = request.policy;
  const policyKeys = await Promise.all((policy?.signers ?? []).map((s) => trustedKey(s.key, s.name)));
  const keys = dedupeKeys([...request.keys, ...policyKeys]);
  if (keys.length === 0 && !policy) throw new KitError('INVALID_ARGUMENT', `nothing to verify ${name} against: pass --key PUBLIC_KEY or --policy FILE`);

  const descriptor = await target.resolve(request.reference);
  if (request.expectedDigest && descriptor.digest !== request.expectedDigest) {
    throw new KitError('SIGNATURE_INVALID', `${name} now points at ${descriptor.digest}, not the approved ${request.expectedDigest}: the tag has moved`);
  }
  const manifestBytes = await target.fetchManifest(descriptor);
  const manifest = parseManifest(manifestBytes, `manifest of ${name}`);

  const { signatures, attestations, failures } = await checkBundles(target, descriptor, manifestBytes, keys);
  const trustedByFlag = new Set(request.keys.map((k) => k.id));
  if (request.keys.length > 0 && !signatures.some((s) => trustedByFlag.has(s.keyId))) {
    throw new KitError('SIGNATURE_INVALID', `${name} (${descriptor.digest}) ${unsignedReason(failures, target)}`);
  }

  const config = await target.fetchBlobBytes(manifest.config);
  const { kitfile } = describeModelKit(manifest, config, name);
  const licenses = declaredLicenses(kitfile);
  if (policy) {
    const violations = policyViolations(policy, policyKeys, signatures, attestations, licenses, failures);
    if (violations.length > 0) throw new KitError('POLICY_VIOLATION', `${name} (${descriptor.digest}) violates ${policy.file}: ${violations.join('; ')}`);
  }

  const blobs = { checked: 0, bytes: 0 };
  if (request.checkBlobs !== false) {
    for (const blob of [manifest.config, ...manifest.layers]) {
      for await (const chunk of target.fetchBlob(blob)) blobs.bytes += chunk.length;
      blobs.checked++;
    }
  }
  return { name, digest: descriptor.digest, signatures, attestations, blobs, licenses };
}

interface BundleCheck {
  signatures: VerifiedSignature[];
  attestations: Array<VerifiedSignature & { predicateType: string }>;
  /** Why each bundle that did not verify was refused. */
  failures: string[];
}

async function checkBundles(target: ReadTarget, subject: Descriptor, manifestBytes: Buffer, keys: TrustedKey[]): Promise<BundleCheck> {
  const result: BundleCheck = { signatures: [], attestations: [], failures: [] };
  const hex = subject.digest.slice('sha256:'.length);
  for (const referrer of await target.referrers(subject.digest, SIGSTORE_BUNDLE_MEDIA_TYPE)) {
    let verified: VerifiedBundle;
    try {
      const where = `signature ${referrer.digest} in ${target.where}`;
      const artifact = parseArtifactManifest(await target.fetchManifest(referrer), where, subject.digest);
      const bundle = await target.fetchBlobBytes(artifact.layers[0]!);
      verified = verifyBundle(bundle, keys.map((k) => k.key), manifestBytes);
    } catch (e) {
      if (!(e instanceof KitError)) throw e;
      result.failures.push(e.message);
      continue;
    }
    const signer = keys.find((k) => k.id === verified.keyId)!;
    const entry = { referrer: referrer.digest, signer: signer.name, keyId: verified.keyId };
    if (verified.content === 'message-signature') {
      if (verified.messageDigest === hex) result.signatures.push(entry);
      else result.failures.push(`signature ${referrer.digest} covers sha256:${verified.messageDigest}, not this manifest`);
    } else if (verified.statement?.subject.some((s) => s.digest.sha256 === hex)) {
      result.attestations.push({ ...entry, predicateType: verified.statement.predicateType });
    } else {
      result.failures.push(`attestation ${referrer.digest} names other subjects, not this manifest`);
    }
  }
  return result;
}

function unsignedReason(failures: string[], target: ReadTarget): string {
  if (failures.length > 0) return `has no valid signature by a trusted key: ${failures.join('; ')}`;
  return `has no signature in ${target.where}: sign it with \`kit sign\` (if it was signed before, the tag has moved to a new digest, or pull with --referrers)`;
}

function policyViolations(
  policy: Policy,
  policyKeys: TrustedKey[],
  signatures: VerifiedSignature[],
  attestations: Array<VerifiedSignature & { predicateType: string }>,
  licenses: DeclaredLicense[],
  failures: string[],
): string[] {
  const violations: string[] = [];
  for (const signer of policyKeys) {
    if (!signatures.some((s) => s.keyId === signer.id)) {
      violations.push(`required signer ${signer.name} (key ${signer.id.slice(0, 16)}…) has not signed it${failures.length > 0 ? ` (${failures.join('; ')})` : ''}`);
    }
  }
  if (policy.allowedLicenses) {
    const allowed = new Set(policy.allowedLicenses);
    for (const license of licenses) {
      if (!license.valid) violations.push(`${license.field} "${license.expression}" is not a valid SPDX expression`);
      else for (const id of license.ids) if (!allowed.has(id)) violations.push(`${license.field} uses ${id}, which is not an allowed license`);
    }
  }
  for (const predicateType of policy.attestations) {
    if (!attestations.some((a) => a.predicateType === predicateType)) violations.push(`no attestation of type ${predicateType} signed by a trusted key`);
  }
  return violations;
}

function dedupeKeys(keys: TrustedKey[]): TrustedKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => !seen.has(k.id) && seen.add(k.id));
}
