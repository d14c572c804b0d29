/**
 * Kitfile text -> Kitfile object, with upstream `kit`'s decoding rules (yaml.v3, KnownFields) and
 * a `file:line:column` on every complaint. Semantic rules (paths, types, ...) live in validate.ts;
 * parsing only establishes that the text is YAML shaped like a Kitfile.
 *
 * The YAML is read with the failsafe schema (every scalar a string) and converted here, because
 * yaml.v3 differs from YAML 1.2 core in two ways that show: string fields take any scalar's text
 * as written (`version: 1.10` is "1.10", not 1.1), and `parameters` numbers follow Go's parsers
 * (scalars.ts).
 */
import {
  isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments,
  type Document, type Scalar, type YAMLMap,
} from 'yaml';
import type { z } from 'zod';
import { KitError } from '../errors.js';
import { editDistance, YAML_SYNTAX_HINTS } from '../format/yaml-hints.js';
import { displayPath, problemsError, type KitfilePositions, type Problem, type SourcePos } from './problems.js';
import { isPlainNull, resolvePlainTyped, type PlainTag } from './scalars.js';
import { allowedKeys, KitfileConfigSchema, KitfileSchema } from './schema.js';
import type { Kitfile } from './types.js';

export interface ParsedKitfile {
  kitfile: Kitfile;
  /** Position of every node, for validateKitfile's messages. */
  positions: KitfilePositions;
}

/** Parses Kitfile YAML (or JSON, which is YAML); throws KitError KITFILE_SYNTAX / KITFILE_INVALID. */
export function parseKitfile(text: string, file = 'Kitfile'): Kitfile {
  return parseKitfileWithPositions(text, file).kitfile;
}

/** As parseKitfile, also returning where each node is, so validation can point at lines. */
export function parseKitfileWithPositions(text: string, file = 'Kitfile'): ParsedKitfile {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, {
    schema: 'failsafe', lineCounter: lc, prettyErrors: false, uniqueKeys: true, keepSourceTokens: true,
  });
  const at = (offset: number): SourcePos => lc.linePos(offset);
  const first = docs[0];
  if (!first || (first.contents === null && first.errors.length === 0)) {
    throw problemsError('KITFILE_INVALID', file, [
      { pos: { line: 1, col: 1 }, message: 'the Kitfile is empty; it needs at least "manifestVersion: 1.0.0"' },
    ]);
  }
  if (first.errors.length > 0) {
    throw problemsError('KITFILE_SYNTAX', file, first.errors.map((e) => ({ pos: at(e.pos[0]), message: syntaxMessage(e.code, e.message) })));
  }
  // Upstream decodes only the first document and ignores the rest; silently dropping content is
  // worse than asking for one document, so a second non-empty one is an error here.
  const extra = docs.slice(1).find((d) => d.contents !== null);
  if (extra?.contents?.range) {
    throw problemsError('KITFILE_SYNTAX', file, [{
      pos: at(extra.contents.range[0]),
      message: 'a second YAML document starts here, but a Kitfile is one document; remove the "---" separator and merge the content',
    }]);
  }

  const walk = new Walk(first, at, file);
  const data = walk.convert(first.contents, [], false);
  const result = KitfileSchema.safeParse(data);
  const problems = [...walk.problems];
  if (!result.success) problems.push(...result.error.issues.flatMap((i) => issueProblems(i, walk)));
  if (problems.length > 0) throw problemsError('KITFILE_INVALID', file, problems);
  return { kitfile: dropUndefined(result.data!) as Kitfile, positions: walk.positions };
}

/**
 * Parses a config blob (the Kitfile as compact JSON, §2.2). Like Go's encoding/json: unknown keys
 * are ignored, nulls leave fields unset, configs from old kits without digest/diffId are fine.
 */
export function parseKitfileJson(json: string, file = 'config'): Kitfile {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new KitError('KITFILE_SYNTAX', `${file}: the Kitfile config is not valid JSON (${(e as Error).message}); the blob is damaged or is not a ModelKit config`);
  }
  const result = KitfileConfigSchema.safeParse(dropNulls(data));
  if (!result.success) {
    throw problemsError('KITFILE_INVALID', file, result.error.issues.map((i) => ({
      message: `${displayPath(i.path)}: ${i.message}; the config blob does not hold a valid Kitfile`,
    })));
  }
  return dropUndefined(result.data) as Kitfile;
}

// ---------------------------------------------------------------------------------------------

const MAX_NODES = 100_000;
const YAML_TAG = 'tag:yaml.org,2002:';
const LAYER_SECTIONS = new Set(['model', 'datasets']);

/** YAML AST -> plain JS the way yaml.v3 decodes into upstream's structs; records positions. */
class Walk {
  readonly positions = new Map<string, SourcePos>();
  readonly keyPositions = new Map<string, SourcePos>();
  /** What each node was, in words, for "must be a list, got ..." messages. */
  readonly kinds = new Map<string, string>();
  readonly problems: Problem[] = [];
  private budget = MAX_NODES;
  private readonly expanding = new Set<unknown>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly at: (offset: number) => SourcePos,
    private readonly file: string,
  ) {}

  private posOf(node: unknown): SourcePos | undefined {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? this.at(range[0]) : undefined;
  }

  private problem(node: unknown, message: string): void {
    this.problems.push({ pos: this.posOf(node), message });
  }

  /** `params`: inside model/dataset `parameters`, where values keep their YAML types. */
  convert(node: unknown, path: string[], params: boolean): unknown {
    // Aliases can multiply a small file into a huge tree ("billion laughs"); cap the work.
    if (--this.budget < 0) {
      throw new KitError('KITFILE_INVALID', `${this.file}: the Kitfile expands to more than ${MAX_NODES} YAML nodes (through aliases); simplify it`);
    }
    const key = path.join('.');
    const pos = this.posOf(node);
    if (pos && !this.positions.has(key)) this.positions.set(key, pos);
    if (node === null || node === undefined) {
      this.kinds.set(key, 'nothing');
      return null;
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      if (!target) return null; // the yaml package already reported the missing anchor
      if (this.expanding.has(target)) {
        this.problem(node, `alias *${node.source} is used inside its own anchor; a Kitfile cannot hold a cycle, so copy the content instead`);
        return null;
      }
      this.expanding.add(target);
      try {
        return this.convert(target, path, params);
      } finally {
        this.expanding.delete(target);
      }
    }
    if (isScalar(node)) return this.scalar(node, key, params);
    if (isSeq(node)) {
      this.kinds.set(key, 'a list');
      return node.items.map((item, i) => this.convert(item, [...path, String(i)], params));
    }
    if (isMap(node)) return this.mapping(node, path, params);
    this.problem(node, `unsupported YAML node at ${displayPath(path)}`);
    return null;
  }

  private scalar(node: Scalar, key: string, params: boolean): unknown {
    // Plain scalars keep their text as written; quoted and block scalars their decoded value.
    const plain = node.type === 'PLAIN';
    const text = String(plain ? (node.source ?? node.value) : node.value);
    const tag = node.tag;
    if (!params) {
      // Outside parameters every field is a string: yaml.v3 stores any scalar's text, and null
      // leaves the field unset.
      if (tag === `${YAML_TAG}null` || (!tag && plain && isPlainNull(text))) {
        this.kinds.set(key, 'nothing');
        return undefined;
      }
      this.kinds.set(key, `the value ${JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text)}`);
      return text;
    }
    this.kinds.set(key, 'a value');
    if (tag === undefined) return plain ? resolvePlainTyped(text).value : text;
    if (!tag.startsWith(YAML_TAG)) return text; // custom and non-specific tags: yaml.v3 keeps the string
    const want = tag.slice(YAML_TAG.length);
    if (want === 'binary') return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (!['null', 'bool', 'int', 'float'].includes(want)) return text;
    const { tag: got, value } = resolvePlainTyped(text);
    if (got === want) return value;
    if (want === 'float' && got === 'int') return Number(value);
    this.problem(node, `cannot decode !!${got satisfies PlainTag} ${JSON.stringify(text)} as !!${want}; remove the !!${want} tag or fix the value`);
    return text;
  }

  private mapping(node: YAMLMap, path: string[], params: boolean): Record<string, unknown> {
    const key = path.join('.');
    this.kinds.set(key, 'a mapping');
    const out: Record<string, unknown> = {};
    const merges: unknown[] = [];
    for (const pair of node.items) {
      const keyNode = isAlias(pair.key) ? pair.key.resolve(this.doc) : pair.key;
      if (isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.source === '<<' && !keyNode.tag) {
        merges.push(pair.value); // YAML merge key, which yaml.v3 honours
        continue;
      }
      const name = this.keyName(keyNode ?? null, pair.key, path, params);
      if (name === undefined) continue;
      const childPath = [...path, name];
      const keyPos = this.posOf(pair.key);
      if (keyPos) this.keyPositions.set(childPath.join('.'), keyPos);
      const inParams = params || (name === 'parameters' && LAYER_SECTIONS.has(path[0] ?? '') && path.length <= 2);
      setKey(out, name, this.convert(pair.value, childPath, inParams));
    }
    // Explicit keys win over merged ones, earlier merge sources over later ones.
    for (const m of merges) {
      const src = isAlias(m) ? m.resolve(this.doc) : m;
      const sources = isSeq(src) ? src.items.map((i) => (isAlias(i) ? i.resolve(this.doc) : i)) : [src];
      for (const s of sources) {
        if (!isMap(s)) {
          this.problem(m, `"<<" at ${displayPath(path)} must merge a mapping or a list of mappings`);
          continue;
        }
        const merged = this.convert(s, path, params) as Record<string, unknown>;
        for (const [k, v] of Object.entries(merged)) if (!Object.hasOwn(out, k)) setKey(out, k, v);
      }
    }
    return out;
  }

  /** A mapping key as yaml.v3 sees it; parameters need string keys because JSON has no others. */
  private keyName(keyNode: unknown, raw: unknown, path: string[], params: boolean): string | undefined {
    if (!isScalar(keyNode)) {
      this.problem(raw ?? keyNode, `a key at ${displayPath(path)} is not a plain value; use simple "name: value" keys`);
      return undefined;
    }
    const plain = keyNode.type === 'PLAIN';
    const text = plain ? String(keyNode.source ?? keyNode.value) : String(keyNode.value);
    if (!params) return text;
    const tag = keyNode.tag;
    const kind = tag ? tag.replace(YAML_TAG, '') : plain ? resolvePlainTyped(text).tag : 'str';
    if (kind === 'str' || (tag !== undefined && !tag.startsWith(YAML_TAG))) return text;
    this.problem(raw, `the key ${text === '' ? '(empty)' : text} in ${displayPath(path)} is read as ${kind}, but the config JSON only has string keys; quote it: "${text}"`);
    return undefined;
  }
}

function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, so that a "__proto__" key is data rather than a prototype change.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function syntaxMessage(code: string, message: string): string {
  const text = message.replace(/\s+/g, ' ').trim();
  return `${text}; ${YAML_SYNTAX_HINTS[code] ?? 'fix the YAML syntax here'}`;
}

const KIND_WORDS: Record<string, string> = { string: 'a single value', array: 'a list', object: 'a mapping' };
const KIND_HINTS: Record<string, string> = {
  string: 'write a plain value, e.g. "name: my-model"; free-form data belongs under parameters',
  array: 'write one "- item" line per entry under the key',
  object: 'write it as "key: value" lines, nested ones indented under their parent key',
};

function issueProblems(issue: z.core.$ZodIssue, walk: Walk): Problem[] {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(issue.path);
    const where = issue.path.length ? `in ${displayPath(issue.path)}` : 'at the top level';
    return issue.keys.map((k) => {
      const guess = closest(k, allowed);
      const hint = k === 'digest' || k === 'diffId'
        ? `${k} is written into the config by kit pack and never belongs in a Kitfile; remove it`
        : guess ? `did you mean "${guess}"?` : 'remove it; free-form data belongs under model.parameters or datasets[].parameters';
      const pos = walk.keyPositions.get(key ? `${key}.${k}` : k) ?? walk.positions.get(key);
      return { pos, message: `unknown key "${k}" ${where} (allowed: ${allowed.join(', ')}); ${hint}` };
    });
  }
  const pos = walk.positions.get(key);
  if (issue.code === 'invalid_type') {
    const got = walk.kinds.get(key) ?? 'nothing';
    const want = KIND_WORDS[issue.expected] ?? issue.expected;
    const what = issue.path.length ? displayPath(issue.path) : 'the Kitfile';
    return [{ pos, message: `${what} must be ${want}, got ${got}; ${KIND_HINTS[issue.expected] ?? 'fix its type'}` }];
  }
  return [{ pos, message: `${displayPath(issue.path)}: ${issue.message}` }];
}

/** The allowed key within edit distance 2 of a typo, if any. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return best;
}

/** JSON nulls leave Go fields at their zero value; parameters keep theirs. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val !== null) setKey(out, k, k === 'parameters' ? val : dropNulls(val));
  }
  return out;
}

/** Removes keys whose value is undefined (fields that were null in YAML), outside parameters. */
function dropUndefined<T>(v: T): T {
  if (Array.isArray(v)) return v.map(dropUndefined) as T;
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val !== undefined) setKey(out, k, k === 'parameters' ? val : dropUndefined(val));
  }
  return out as T;
}
