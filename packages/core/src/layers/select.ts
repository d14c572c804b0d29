/**
 * Which layer a path belongs to. Layers may nest (model `main-dir`, dataset `main-dir/subdir`,
 * code `.`); each file goes to the most specific layer, so while packing one layer, paths inside
 * another layer's path are skipped unless that other layer is an ancestor of (or equal to) the
 * one being packed. Mirrors upstream `ignorePaths.Matches` (pkg/lib/filesystem/ignore).
 */
import { cleanRelPath, isWithin } from './clean-path.js';
import type { IgnoreMatcher } from './ignore.js';

/**
 * True when `relPath` lies inside some other layer's path that is not an ancestor-or-equal of the
 * current layer's path, i.e. a more specific (or unrelated) layer claims it. Whole path components
 * are compared: layer `data` does not claim `data2/x`.
 */
export function claimedByOtherLayer(relPath: string, currentLayerPath: string, allLayerPaths: readonly string[]): boolean {
  const path = cleanRelPath(relPath);
  const current = cleanRelPath(currentLayerPath);
  for (const raw of allLayerPaths) {
    const layer = cleanRelPath(raw);
    // Layers enclosing the current one (and the current one itself) never take its files.
    if (isWithin(current, layer)) continue;
    if (isWithin(path, layer)) return true;
  }
  return false;
}

/** Whether `relPath` must be left out of the layer at `currentLayerPath`. */
export function shouldSkip(
  relPath: string,
  currentLayerPath: string,
  allLayerPaths: readonly string[],
  ignore: IgnoreMatcher,
): boolean {
  return ignore.matches(relPath) || claimedByOtherLayer(relPath, currentLayerPath, allLayerPaths);
}
