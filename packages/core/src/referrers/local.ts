import type { Descriptor } from '../oci/types.js';
import type { LocalStore } from '../store/local-store.js';
import { buildArtifactManifest, parseArtifactManifest, type ArtifactManifest, type ArtifactPayload } from './artifact.js';

/** Store a built referrer manifest and its blobs, and record it under its subject. */
export async function storeReferrer(store: LocalStore, artifact: Pick<ArtifactManifest, 'descriptor' | 'bytes' | 'blobs'>, subject: string): Promise<Descriptor> {
  const lease = await store.lease();
  try {
    for (const blob of artifact.blobs) await store.ingest([blob.bytes], lease, { digest: blob.descriptor.digest, size: blob.descriptor.size });
    await store.ingest([artifact.bytes], lease, { digest: artifact.descriptor.digest, size: artifact.descriptor.size });
    await store.addReferrer(subject, artifact.descriptor);
  } finally {
    await lease.release();
  }
  return artifact.descriptor;
}

/** Attach a payload (SBOM, signature bundle, attestation) to a ModelKit in the local store. */
export async function attachLocal(store: LocalStore, subject: Descriptor, payload: ArtifactPayload): Promise<Descriptor> {
  return storeReferrer(store, buildArtifactManifest(subject, payload), subject.digest);
}

/** A stored referrer's payload: the first layer's bytes, verified, with the manifest it came in. */
export async function readLocalReferrer(store: LocalStore, referrer: Descriptor, subject: string): Promise<{ manifest: ReturnType<typeof parseArtifactManifest>; payload: Buffer }> {
  const where = `referrer ${referrer.digest} of ${subject}`;
  const manifest = parseArtifactManifest(await store.readBlob(referrer, 'referrer manifest'), where, subject);
  return { manifest, payload: await store.readBlob(manifest.layers[0]!, `payload of ${where}`) };
}
