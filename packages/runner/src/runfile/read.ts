/**
 * Reading typed values out of the located YAML tree. Every reader records a problem (at the node
 * that is wrong, naming its field) and returns undefined instead of throwing, so that one parse
 * reports everything that is wrong with a file.
 */
import { isKitError } from '@modelkit/core';
import { closestKey, fieldPath, keyName, quote, type Problem, type SourcePos } from './problems.js';
import { KEY_HINTS } from './schema.js';
import type { TreeEntry, TreeNode } from './yaml-tree.js';

export class Reader {
  readonly problems: Problem[] = [];

  report(pos: SourcePos, field: string, message: string): undefined {
    this.problems.push({ pos, message: `${field}: ${message}` });
    return undefined;
  }

  /** Runs a grammar parser whose KitError already names the field; records it at `pos`. */
  grammar<T>(pos: SourcePos, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (e) {
      if (!isKitError(e)) throw e;
      this.problems.push({ pos, message: e.message });
      return undefined;
    }
  }

  /** A single value's text; null (nothing written) counts as absent and is the caller's concern. */
  text(node: TreeNode, field: string, hint: string): string | undefined {
    if (node.kind === 'scalar') return node.text;
    return this.report(node.pos, field, `must be a single value, got ${describe(node)}; ${hint}`);
  }

  /** A non-empty single value, as with commands and paths. */
  nonEmptyText(node: TreeNode, field: string, hint: string): string | undefined {
    const text = this.text(node, field, hint);
    if (text !== undefined && text.trim() === '') return this.report(node.pos, field, `is empty; ${hint}`);
    return text;
  }

  /** A single value or a list of them, each read by `item`; null items are reported. */
  list<T>(node: TreeNode, field: string, hint: string, item: (n: TreeNode, f: string) => T | undefined): T[] | undefined {
    const nodes = node.kind === 'seq' ? node.items : node.kind === 'scalar' ? [node] : undefined;
    if (!nodes) return this.report(node.pos, field, `must be a value or a list of values, got ${describe(node)}; ${hint}`);
    const out: T[] = [];
    let ok = true;
    nodes.forEach((n, i) => {
      const f = node.kind === 'seq' ? fieldPath(field, i) : field;
      const v = n.kind === 'null' ? this.report(n.pos, f, `is empty; ${hint}`) : item(n, f);
      if (v === undefined) ok = false;
      else out.push(v);
    });
    return ok ? out : undefined;
  }

  /**
   * A mapping whose keys must be among `allowed`; unknown keys are reported at the key with the
   * closest allowed one. Returns the entries by key.
   */
  mapping(node: TreeNode, field: string, allowed: readonly string[], hint: string): Map<string, TreeEntry> | undefined {
    if (node.kind !== 'map') return this.report(node.pos, field || 'the run file', `must be a mapping, got ${describe(node)}; ${hint}`);
    const out = new Map<string, TreeEntry>();
    for (const entry of node.entries) {
      if (allowed.includes(entry.key)) out.set(entry.key, entry);
      else this.unknownKey(entry, field, allowed);
    }
    return out;
  }

  private unknownKey(entry: TreeEntry, field: string, allowed: readonly string[]): void {
    const guess = closestKey(entry.key, allowed);
    const fix = KEY_HINTS[entry.key] ?? (guess ? `did you mean ${guess}?` : 'remove it');
    const where = field ? `in ${field}` : 'at the top level';
    this.report(entry.keyPos, fieldPath(field, keyName(entry.key)), `unknown key ${where}; ${fix} (allowed: ${allowed.join(', ')})`);
  }
}

/** What a node is, in words, for "must be X, got Y" messages. */
export function describe(node: TreeNode): string {
  switch (node.kind) {
    case 'scalar': return `the value ${quote(node.text)}`;
    case 'seq': return 'a list';
    case 'map': return 'a mapping';
    case 'null': return 'nothing';
  }
}

/** The entry's value, or undefined when the key is absent or holds nothing (YAML null). */
export function present(entries: Map<string, TreeEntry>, key: string): TreeNode | undefined {
  const value = entries.get(key)?.value;
  return value && value.kind !== 'null' ? value : undefined;
}
