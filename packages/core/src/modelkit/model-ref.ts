import { KitError } from '../errors.js';
import type { Kitfile } from '../kitfile/types.js';
import { formatReference, parseReference } from '../reference/reference.js';
import type { LocalStore } from '../store/local-store.js';
import { openLocal } from './inspect.js';
import { isModelReferencePath } from './layer-plan.js';

/** Upstream's MaxModelRefChain: how many parent ModelKits a model reference may pass through. */
export const MAX_MODEL_REFERENCE_CHAIN = 10;

export type ResolvedParent = Awaited<ReturnType<typeof openLocal>>;

/**
 * Follow `model.path` while it names another ModelKit (`model.path: base/llm:v1`), nearest parent
 * first, as upstream's resolve does: at most MAX_MODEL_REFERENCE_CHAIN parents, no cycles. `self`
 * are the references the Kitfile is being packed as, so a chain back to them is a cycle.
 */
export async function resolveModelReferences(store: LocalStore, kitfile: Kitfile, self: string[] = []): Promise<ResolvedParent[]> {
  const seen = self.map((r) => formatReference(parseReference(r)));
  const chain: ResolvedParent[] = [];
  let path = kitfile.model?.path;
  while (isModelReferencePath(path)) {
    const key = formatReference(parseReference(path!));
    if (seen.includes(key)) {
      throw new KitError('KITFILE_INVALID', `Found cycle in modelkit references: ${[...seen, key].join(' -> ')}; point model.path at files or at a ModelKit outside this chain`);
    }
    if (chain.length >= MAX_MODEL_REFERENCE_CHAIN) {
      throw new KitError('KITFILE_INVALID', `reached maximum number of model references (${MAX_MODEL_REFERENCE_CHAIN}) following ${seen.join(' -> ')}: pack a ModelKit with the model's files closer to this one`);
    }
    seen.push(key);
    let parent: ResolvedParent;
    try {
      parent = await openLocal(store, path!);
    } catch (e) {
      if (e instanceof KitError && e.code === 'NOT_FOUND') {
        throw new KitError('NOT_FOUND', `model.path refers to ModelKit ${path}, which is not in the local store: pack or pull it first`, { cause: e });
      }
      throw e;
    }
    chain.push(parent);
    path = parent.contents.kitfile.model?.path;
  }
  return chain;
}
