import type { Descriptor } from './types.js';

/**
 * Something that stores content by digest and knows what refers to what: the local store, a
 * remote repository. Audit (SBOM, verify) reads ModelKits through this, wherever they are.
 */
export interface ReadTarget {
  /** How messages name it: "the local store", "registry.example.com/org/model". */
  readonly where: string;
  /** A tag or digest → the manifest descriptor it points at now. */
  resolve(reference: string): Promise<Descriptor>;
  /** A manifest's exact bytes, verified against its descriptor. */
  fetchManifest(desc: Descriptor): Promise<Buffer>;
  /** A blob's bytes as a stream; the stream fails with DIGEST_MISMATCH if they do not hash to the descriptor. */
  fetchBlob(desc: Descriptor): AsyncIterable<Buffer>;
  /** A small blob read whole and verified. */
  fetchBlobBytes(desc: Descriptor): Promise<Buffer>;
  /** Manifests whose subject is `digest`. */
  referrers(digest: string, artifactType?: string): Promise<Descriptor[]>;
}
