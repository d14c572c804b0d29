import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** Repository root (this file lives in packages/core/test/helpers). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');

/** KitOps' own test data, checked out beside the repository as ../shared. Missing means fail, not skip. */
export const CONFORMANCE_DIR = resolve(REPO_ROOT, '../shared/conformance/kitops');

export function conformancePath(...parts: string[]): string {
  if (!existsSync(CONFORMANCE_DIR)) {
    throw new Error(`KitOps conformance data not found at ${CONFORMANCE_DIR}: check out shared/ beside the repository`);
  }
  return join(CONFORMANCE_DIR, ...parts);
}

/** Every YAML case in a conformance folder, parsed, with its file name. */
export function loadCases<T = Record<string, unknown>>(...folder: string[]): Array<{ file: string; data: T }> {
  const dir = conformancePath(...folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml') || f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, data: parse(readFileSync(join(dir, file), 'utf8')) as T }));
}

/** A pack-unpack case (testing/testdata/pack-unpack): files that must be packed and ones that must not. */
export interface PackUnpackCase {
  description?: string;
  name?: string;
  kitfile: string;
  kitignore?: string;
  files?: string[];
  ignored?: string[];
}
