/**
 * Run-file text -> a small tree of located nodes. Scalars keep their text as written (the YAML is
 * read with the failsafe schema), so `EPOCHS: 3` is "3" and `LR: 1.0` is "1.0", not 1; each field
 * then parses its own grammar from that text. Syntax errors, a second document, tags and alias
 * bombs are reported here, with their line and column.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { KitError, YAML_SYNTAX_HINTS } from '@modelkit/core';
import { fieldPath, keyName, problemsError, quote, type Problem, type SourcePos } from './problems.js';

export type TreeNode =
  | { kind: 'scalar'; text: string; pos: SourcePos }
  | { kind: 'null'; pos: SourcePos }
  | { kind: 'seq'; items: TreeNode[]; pos: SourcePos }
  | { kind: 'map'; entries: TreeEntry[]; pos: SourcePos };

export interface TreeEntry {
  key: string;
  keyPos: SourcePos;
  value: TreeNode;
}

export interface YamlTree {
  /** The document's content; a null node for an empty file. */
  root: TreeNode;
  /** Node-level problems (tags, odd keys) to report along with the fields' own. */
  problems: Problem[];
}

const MAX_NODES = 100_000;
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const STR_TAG = 'tag:yaml.org,2002:str';
const START: SourcePos = { line: 1, col: 1 };

/** Parses YAML into located nodes; throws KitError INVALID_ARGUMENT for syntax errors. */
export function readYamlTree(text: string, file: string): YamlTree {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, {
    schema: 'failsafe', lineCounter: lc, prettyErrors: false, uniqueKeys: true, keepSourceTokens: true,
  });
  const at = (offset: number): SourcePos => lc.linePos(offset);
  const first = docs[0];
  if (first && first.errors.length > 0) {
    throw problemsError(file, first.errors.map((e) => ({ pos: at(e.pos[0]), message: `YAML syntax: ${syntaxMessage(e.code, e.message)}` })));
  }
  // A run file is one document; silently ignoring a second one would drop what it says.
  const extra = docs.slice(1).find((d) => d.contents !== null || d.errors.length > 0);
  if (extra) {
    const offset = extra.contents?.range?.[0] ?? extra.errors[0]?.pos[0] ?? 0;
    throw problemsError(file, [{ pos: at(offset), message: 'YAML syntax: a second YAML document starts here, but a run file is one document; remove the "---" separator and merge the content' }]);
  }
  if (!first) return { root: { kind: 'null', pos: START }, problems: [] };
  const builder = new Builder(first, at, file);
  return { root: builder.node(first.contents, START, ''), problems: builder.problems };
}

class Builder {
  readonly problems: Problem[] = [];
  private budget = MAX_NODES;
  private readonly expanding = new Set<unknown>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly at: (offset: number) => SourcePos,
    private readonly file: string,
  ) {}

  private posOf(node: unknown, fallback: SourcePos): SourcePos {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.at(range[0]) : fallback;
  }

  /** `field` is the node's path (`resources.gpu`), for messages. */
  node(node: unknown, fallback: SourcePos, field: string): TreeNode {
    // Aliases can turn a small file into a huge tree ("billion laughs"); cap the work.
    if (--this.budget < 0) {
      throw new KitError('INVALID_ARGUMENT', `${this.file}: the run file expands to more than ${MAX_NODES} YAML nodes (through aliases); write it out plainly`);
    }
    const pos = this.posOf(node, fallback);
    if (node === null || node === undefined) return { kind: 'null', pos };
    if (isAlias(node)) return this.alias(node, pos, field);
    if (isScalar(node)) {
      const plain = node.type === 'PLAIN';
      // Plain scalars as written; quoted and block scalars as decoded (escapes applied).
      const text = plain ? String(node.source ?? node.value) : String(node.value);
      if (node.tag !== undefined && node.tag !== STR_TAG) {
        const tag = node.tag.replace('tag:yaml.org,2002:', '!!');
        this.problems.push({ pos, message: `${field || 'the run file'}: YAML tag ${tag} is not supported in a run file; remove it (quote the value if it must stay text)` });
      }
      if (plain && node.tag === undefined && NULLS.has(text)) return { kind: 'null', pos };
      return { kind: 'scalar', text, pos };
    }
    if (isSeq(node)) return { kind: 'seq', items: node.items.map((item, i) => this.node(item, pos, fieldPath(field, i))), pos };
    if (isMap(node)) {
      const entries: TreeEntry[] = [];
      for (const pair of node.items) {
        const keyNode = isAlias(pair.key) ? pair.key.resolve(this.doc) : pair.key;
        const keyPos = this.posOf(pair.key, pos);
        if (!isScalar(keyNode)) {
          this.problems.push({ pos: keyPos, message: `${field || 'the run file'}: a key here is not a plain name; write simple "name: value" keys` });
          continue;
        }
        const key = String(keyNode.value);
        entries.push({ key, keyPos, value: this.node(pair.value, keyPos, fieldPath(field, keyName(key))) });
      }
      return { kind: 'map', entries, pos };
    }
    this.problems.push({ pos, message: `${field || 'the run file'}: unsupported YAML node; write plain values, lists and mappings` });
    return { kind: 'null', pos };
  }

  private alias(node: { resolve(doc: Document): unknown; source: string }, pos: SourcePos, field: string): TreeNode {
    const target = node.resolve(this.doc);
    if (!target) return { kind: 'null', pos }; // the yaml package already reported the missing anchor
    if (this.expanding.has(target)) {
      this.problems.push({ pos, message: `${field || 'the run file'}: alias *${node.source} is used inside its own anchor; a run file cannot hold a cycle, so copy the content instead` });
      return { kind: 'null', pos };
    }
    this.expanding.add(target);
    try {
      return this.node(target, pos, field);
    } finally {
      this.expanding.delete(target);
    }
  }
}

function syntaxMessage(code: string, message: string): string {
  // A run file's repeated key is often a section written twice, so merging is the likelier fix.
  const hints: Record<string, string> = { ...YAML_SYNTAX_HINTS, DUPLICATE_KEY: 'each key may appear once per mapping: remove or merge the repeated key' };
  const text = message.replace(/\s+/g, ' ').trim();
  return `${text}; ${hints[code] ?? `fix the YAML here (${quote(code)})`}`;
}
