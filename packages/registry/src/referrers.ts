import {
  buildArtifactManifest,
  parseArtifactManifest,
  verifiedChunks,
  type ArtifactPayload,
  type Descriptor,
  type LocalStore,
  type ReadTarget,
} from '@modelkit/core';
import { pushReferrer, referrerEntry, type RemoteRepository } from './repository.js';

/** A remote repository seen as a read target: everything fetched is verified against its digest. */
export function remoteTarget(repository: RemoteRepository): ReadTarget {
  const where = `${repository.registry}/${repository.name}`;
  return {
    where,
    resolve: (reference) => repository.resolve(reference),
    fetchManifest: async (desc) => (await repository.fetchManifest(desc.digest)).bytes,
    fetchBlob: (desc) => verifiedChunks(repository.fetchBlob(desc), desc, `blob in ${where}`),
    fetchBlobBytes: (desc) => repository.fetchBlobBytes(desc),
    referrers: (digest, artifactType) => repository.referrers(digest, artifactType),
  };
}

/** Attach a payload to a manifest in a registry: its blobs, then the referrer manifest. */
export async function attachRemote(repository: RemoteRepository, subject: Descriptor, payload: ArtifactPayload): Promise<Descriptor> {
  const artifact = buildArtifactManifest(subject, payload);
  for (const blob of artifact.blobs) await repository.pushBlob(blob.descriptor, (offset) => bytesFrom(blob.bytes, offset));
  return pushReferrer(repository, artifact.bytes);
}

/**
 * Push everything attached to `subject` in the local store (SBOMs, signatures, attestations, and
 * what is attached to those) to the registry, after the subject itself. Returns how many.
 */
export async function pushReferrers(store: LocalStore, repository: RemoteRepository, subject: string): Promise<number> {
  let pushed = 0;
  for (const referrer of await store.referrers(subject)) {
    const bytes = await store.readBlob(referrer, 'referrer manifest');
    const manifest = parseArtifactManifest(bytes, `referrer ${referrer.digest} of ${subject}`, subject);
    for (const blob of [manifest.config, ...manifest.layers]) {
      await repository.pushBlob(blob, (offset) => store.blobFrom(blob, offset));
    }
    await pushReferrer(repository, bytes, referrer.mediaType);
    pushed += 1 + (await pushReferrers(store, repository, referrer.digest));
  }
  return pushed;
}

/** `kit pull --referrers`: bring what the registry has attached to `subject` into the local store. */
export async function pullReferrers(store: LocalStore, repository: RemoteRepository, subject: string): Promise<number> {
  let pulled = 0;
  for (const listed of await repository.referrers(subject)) {
    const { descriptor, bytes } = await repository.fetchManifest(listed.digest);
    const manifest = parseArtifactManifest(bytes, `referrer ${listed.digest} in ${repository.registry}/${repository.name}`, subject);
    const lease = await store.lease();
    try {
      for (const blob of [manifest.config, ...manifest.layers]) {
        if (await store.hasBlob(blob.digest)) continue;
        await store.ingest(repository.fetchBlob(blob), lease, { digest: blob.digest, size: blob.size });
      }
      await store.ingest([bytes], lease, { digest: descriptor.digest, size: descriptor.size });
      await store.addReferrer(subject, referrerEntry(descriptor, manifest));
    } finally {
      await lease.release();
    }
    pulled += 1 + (await pullReferrers(store, repository, listed.digest));
  }
  return pulled;
}

async function* bytesFrom(bytes: Buffer, offset: number): AsyncGenerator<Buffer> {
  yield bytes.subarray(offset);
}
