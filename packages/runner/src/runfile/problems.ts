/**
 * How run-file problems are reported: one line each, `file:line:col: field: what is wrong; what to
 * write instead`, all of a file's problems in one KitError so a user fixes them in one pass (the
 * Kitfile parser in @modelkit/core does the same, and shares its edit distance and YAML hints).
 */
import { KitError, editDistance } from '@modelkit/core';

/** 1-based line and column in the run file's text. */
export interface SourcePos {
  line: number;
  col: number;
}

export interface Problem {
  pos: SourcePos;
  message: string;
}

/** The error a grammar parser (GPU spec, duration, size, range) throws: `where: message`. */
export function invalid(where: string, message: string): KitError {
  return new KitError('INVALID_ARGUMENT', `${where}: ${message}`);
}

/** Problems in source order, duplicates dropped, as one INVALID_ARGUMENT error. */
export function problemsError(file: string, problems: Problem[]): KitError {
  const sorted = [...problems].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
  const lines = sorted.map((p) => `${file}:${p.pos.line}:${p.pos.col}: ${p.message}`);
  return new KitError('INVALID_ARGUMENT', [...new Set(lines)].join('\n'));
}

/** `outputs.files.0` style segments -> `outputs.files[0]`. */
export function fieldPath(parent: string, child: string | number): string {
  if (typeof child === 'number') return `${parent}[${child}]`;
  return parent ? `${parent}.${child}` : child;
}

/** A string for messages: quoted, cut short when long, invisible characters (BOM, NBSP) escaped. */
export function quote(text: string): string {
  const json = JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
  return json.replace(/(?! )[\p{C}\p{Z}]/gu, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

/** A key as a field name: as written when it is a plain word, else quoted. */
export function keyName(key: string): string {
  return /^[A-Za-z0-9_.<-]+$/.test(key) ? key : quote(key);
}

/**
 * The allowed key a typo most likely meant, if any is close: compared lower-case with `-` as `_`,
 * so `maxDuration`, `max-duration` and `maxduration` all find `max_duration`.
 */
export function closestKey(word: string, allowed: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/-/g, '_');
  const w = norm(word);
  let best: string | undefined;
  // Short words allow one edit, longer ones two: "rn" -> "run", but "x" matches nothing.
  let bestDist = w.length <= 4 ? 2 : 3;
  for (const key of allowed) {
    const d = editDistance(w, norm(key));
    if (d < bestDist) [best, bestDist] = [key, d];
  }
  return best;
}

