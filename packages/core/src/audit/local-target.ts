import { resolveLocal } from '../modelkit/repository.js';
import type { ReadTarget } from '../oci/target.js';
import type { LocalStore } from '../store/local-store.js';

/** The local store seen as a read target (blobs verified as they are read). */
export function localTarget(store: LocalStore): ReadTarget {
  return {
    where: 'the local store',
    resolve: async (reference) => (await resolveLocal(store, reference)).descriptor,
    fetchManifest: (desc) => store.readBlob(desc, 'manifest'),
    fetchBlob: (desc) => store.blobChunks(desc),
    fetchBlobBytes: (desc) => store.readBlob(desc),
    referrers: (digest, artifactType) => store.referrers(digest, artifactType),
  };
}
