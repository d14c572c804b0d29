/**
 * How Kitfile problems are located and reported: every parse and validation message is one line,
 * `file:line:column: what is wrong; what to do`, and several problems travel together in a single
 * KitError (one per line) so that a user fixes them all in one pass.
 */
import { KitError, type KitErrorCode } from '../errors.js';

/** 1-based line and column of a YAML node in the Kitfile text. */
export interface SourcePos {
  line: number;
  col: number;
}

/**
 * Where each node of a parsed Kitfile sits in its text, keyed by the dotted path of the node:
 * `''` (the document), `model`, `model.path`, `datasets.0`, `model.parameters.lr`, ...
 */
export type KitfilePositions = ReadonlyMap<string, SourcePos>;

export interface Problem {
  pos?: SourcePos;
  message: string;
}

/** Looks a node up, falling back to its nearest located ancestor (a missing key has no node). */
export function positionOf(positions: KitfilePositions | undefined, key: string): SourcePos | undefined {
  if (!positions) return undefined;
  for (let k = key; ; k = k.includes('.') ? k.slice(0, k.lastIndexOf('.')) : '') {
    const pos = positions.get(k);
    if (pos || k === '') return pos;
  }
}

export function formatProblem(file: string | undefined, p: Problem): string {
  if (p.pos) return `${file ?? 'Kitfile'}:${p.pos.line}:${p.pos.col}: ${p.message}`;
  return file ? `${file}: ${p.message}` : p.message;
}

/** Source order, so the report reads top to bottom; unlocated problems last, by text. */
export function formatProblems(file: string | undefined, problems: Problem[]): string[] {
  const rank = (p: Problem) => (p.pos ? p.pos.line * 1e6 + p.pos.col : Number.MAX_SAFE_INTEGER);
  return [...problems]
    .sort((a, b) => rank(a) - rank(b) || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0))
    .map((p) => formatProblem(file, p));
}

export function problemsError(code: KitErrorCode, file: string | undefined, problems: Problem[]): KitError {
  return new KitError(code, [...new Set(formatProblems(file, problems))].join('\n'));
}

/** `model.parts.0.type` -> `model.parts[0].type`, for messages. */
export function displayPath(key: string | readonly PropertyKey[]): string {
  const parts = typeof key === 'string' ? (key === '' ? [] : key.split('.')) : key.map(String);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out || 'the top level';
}
