/**
 * Finding and reading a Kitfile the way `kit pack` does: `Kitfile`, `kitfile`, `.kitfile` in the
 * context directory (pkg/lib/constants DefaultKitfileNames), or `-f PATH`, or `-f -` for stdin.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KitError } from '../errors.js';
import { parseKitfileWithPositions } from './parse.js';
import type { Kitfile } from './types.js';
import { validateKitfile } from './validate.js';

export const DEFAULT_KITFILE_NAMES = ['Kitfile', 'kitfile', '.kitfile'] as const;

/** Display name of a Kitfile read from standard input. */
export const STDIN_KITFILE = '<stdin>';

export interface LoadedKitfile {
  kitfile: Kitfile;
  /** The text as read. */
  text: string;
  /** Name used in messages: the path given, or `<stdin>`. */
  file: string;
  /** Validation warnings, already formatted as `file:line:col: ...`. */
  warnings: string[];
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The Kitfile to use for a context directory: `explicit` if given (`-` = stdin, returned as is),
 * else the first of Kitfile, kitfile, .kitfile that exists there.
 */
export function findKitfile(contextDir: string, explicit?: string): string {
  if (explicit !== undefined) {
    if (explicit === '-' || isFile(explicit)) return explicit;
    throw new KitError('KITFILE_NOT_FOUND', `Kitfile ${explicit} not found (or not a regular file); check the path given with -f`);
  }
  for (const name of DEFAULT_KITFILE_NAMES) {
    const candidate = join(contextDir, name);
    if (isFile(candidate)) return candidate;
  }
  throw new KitError(
    'KITFILE_NOT_FOUND',
    `no Kitfile found in ${contextDir} (tried ${DEFAULT_KITFILE_NAMES.join(', ')}); create one (kit init) or pass its path with -f`,
  );
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads (`-` = stdin), parses and validates a Kitfile; every problem is a KitError with positions. */
export async function loadKitfile(path: string, opts: { stdin?: NodeJS.ReadableStream } = {}): Promise<LoadedKitfile> {
  const file = path === '-' ? STDIN_KITFILE : path;
  let text: string;
  try {
    text = path === '-' ? await readStream(opts.stdin ?? process.stdin) : readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new KitError('KITFILE_NOT_FOUND', `Kitfile ${path} not found; check the path`, { cause: e });
    }
    throw new KitError('IO', `cannot read Kitfile ${file}: ${(e as Error).message}`, { cause: e });
  }
  const { kitfile, positions } = parseKitfileWithPositions(text, file);
  const { warnings } = validateKitfile(kitfile, { file, positions });
  return { kitfile, text, file, warnings };
}
