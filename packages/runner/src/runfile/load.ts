/** Finding and reading the run file beside a Kitfile. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KitError } from '@modelkit/core';
import { parseRunFile } from './parse.js';
import { RUNFILE_NAMES, type RunFile } from './schema.js';

/** Files larger than this are not run files; refusing them early keeps a mistake cheap. */
const MAX_BYTES = 1024 * 1024;

/**
 * Finds `kitrun.yaml` (or `kitrun.yml`) in `dir` and parses it. Both present is an error, since
 * silently preferring one would run a configuration the author may not be looking at.
 */
export async function loadRunFile(dir: string): Promise<{ path: string; runFile: RunFile }> {
  const dirInfo = await stat(dir).catch(() => undefined);
  if (!dirInfo?.isDirectory()) {
    throw new KitError('NOT_FOUND', `${dir} is not a directory; point at the directory that holds the Kitfile and ${RUNFILE_NAMES.join(' or ')}`);
  }
  const found: string[] = [];
  for (const name of RUNFILE_NAMES) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) found.push(name);
    else if (info) throw new KitError('INVALID_ARGUMENT', `${join(dir, name)} is not a regular file; the run file must be a YAML file`);
  }
  if (found.length === 0) {
    throw new KitError('NOT_FOUND', `no run file in ${dir}: expected ${RUNFILE_NAMES.join(' or ')} beside the Kitfile, saying how to train (see spec/runfile.md)`);
  }
  if (found.length > 1) {
    throw new KitError('INVALID_ARGUMENT', `${dir} holds both ${found.join(' and ')}; keep one run file`);
  }
  const path = join(dir, found[0]);
  const bytes = await readFile(path).catch((e: unknown) => {
    throw new KitError('IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  });
  if (bytes.length > MAX_BYTES) {
    throw new KitError('INVALID_ARGUMENT', `${path} is ${bytes.length} bytes; a run file is a few lines of YAML (at most ${MAX_BYTES} bytes)`);
  }
  return { path, runFile: parseRunFile(bytes.toString('utf8'), path) };
}
