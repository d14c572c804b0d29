/**
 * `.kitignore` matching with the semantics of moby/patternmatcher `MatchesOrParentMatches`
 * (`.dockerignore` syntax), which is what `kit pack` uses: patterns anchored at the context root,
 * `#` comments, `*`, `?`, `**`, character classes, `!` re-includes, last matching pattern wins,
 * and a pattern that matches a parent directory matches everything below it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KitError } from '../errors.js';
import { cleanPath, cleanRelPath, goTrimSpace } from './clean-path.js';
import {
  BadPatternError,
  type CompiledPattern,
  compileGo,
  goRegexpToJs,
  patternMatches,
  validateGlob,
} from './ignore-pattern.js';

export const IGNORE_FILE_NAME = '.kitignore';

/**
 * Appended after the user's patterns, as upstream does, so they match at the root only and a
 * `!Kitfile` in .kitignore cannot re-include them.
 */
export const ALWAYS_IGNORED: readonly string[] = ['Kitfile', 'kitfile', '.kitfile', IGNORE_FILE_NAME];

/**
 * moby/patternmatcher/ignorefile `ReadAll`: one pattern a line; a UTF-8 BOM on the first line is
 * dropped; lines starting with `#` (before trimming) are comments; blank lines are skipped; the
 * path after an optional `!` is cleaned and a leading `/` removed (patterns are root-relative).
 */
export function parseIgnoreFile(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const patterns: string[] = [];
  lines.forEach((raw, index) => {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw; // bufio.ScanLines drops one CR
    if (index === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.startsWith('#')) return;
    let pattern = goTrimSpace(line);
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? '!' + pattern : pattern);
  });
  return patterns;
}

export class IgnoreMatcher {
  /** True when some user pattern starts with `!`: ignored directories must then still be walked. */
  readonly hasExclusions: boolean;
  private readonly patterns: readonly CompiledPattern[];

  private constructor(patterns: CompiledPattern[], hasExclusions: boolean) {
    this.patterns = patterns;
    this.hasExclusions = hasExclusions;
  }

  /**
   * patternmatcher `New` over the given patterns plus the always-ignored Kitfile names. Patterns
   * are compiled eagerly, so a malformed one fails here (upstream fails on first use).
   */
  static fromPatterns(patterns: string[]): IgnoreMatcher {
    const compiled: CompiledPattern[] = [];
    let hasExclusions = false;
    for (const original of [...patterns, ...ALWAYS_IGNORED]) {
      let p = goTrimSpace(original);
      if (p === '') continue;
      p = cleanPath(p); // upstream cleans before looking at '!', so "!a/../b" becomes "b"
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw badPattern(original, 'illegal exclusion pattern: "!"');
        exclusion = true;
        hasExclusions = true;
        p = p.slice(1);
      }
      try {
        validateGlob(p);
        const { type, goRegexp } = compileGo(p);
        const regexp = goRegexp === undefined ? undefined : goRegexpToJs(goRegexp);
        compiled.push({ cleaned: p, exclusion, type, regexp });
      } catch (e) {
        if (e instanceof BadPatternError) throw badPattern(original, e.message);
        throw e;
      }
    }
    return new IgnoreMatcher(compiled, hasExclusions);
  }

  /** Reads `<contextDir>/.kitignore` if present; without one only the Kitfile names are ignored. */
  static async fromContext(contextDir: string): Promise<IgnoreMatcher> {
    const path = join(contextDir, IGNORE_FILE_NAME);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return IgnoreMatcher.fromPatterns([]);
      throw new KitError('IO', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
    return IgnoreMatcher.fromPatterns(parseIgnoreFile(text));
  }

  /**
   * `MatchesOrParentMatches` on the cleaned context-relative path: each pattern is tried against
   * the path and then each of its parent directories; inclusions are only tried while the path is
   * not ignored and exclusions only while it is, so the last relevant pattern decides.
   */
  matches(relPath: string): boolean {
    const path = cleanRelPath(relPath);
    // Parent directories, shallowest first: "a/b/c" → ["a", "a/b"].
    const parents: string[] = [];
    for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) parents.push(path.slice(0, i));
    let matched = false;
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      const match = patternMatches(pattern, path) || parents.some((dir) => patternMatches(pattern, dir));
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }
}

function badPattern(pattern: string, why: string): KitError {
  return new KitError(
    'INVALID_ARGUMENT',
    `invalid ${IGNORE_FILE_NAME} pattern ${JSON.stringify(pattern)}: ${why}; fix or remove that line`,
  );
}
