/**
 * Kitfile -> bytes, the two ways upstream writes it:
 *
 * - `kitfileToConfigJson`: the config blob, byte-identical to Go `json.Marshal(kitfile)` (§2.2),
 *   because its digest is the ModelKit's config digest. Go struct order, `omitempty`, sorted
 *   parameter maps, HTML-safe escaping, Go float formatting.
 * - `kitfileToYaml`: the re-marshalled Kitfile `kit unpack` writes (yaml.v3, 2-space indent,
 *   digests dropped, authors as a flow list). Readable, and parses back to an equal Kitfile.
 */
import { Document, isSeq, visit, type ScalarTag } from 'yaml';
import { KitError } from '../errors.js';
import { needsQuotes } from './scalars.js';
import type { Kitfile } from './types.js';

/** `str`: omitempty string; `always`: string always written; `strs`: string list; `any`: free-form. */
type FieldKind = 'str' | 'always' | 'strs' | 'any' | { struct: Struct; list: boolean; always?: boolean };
interface Struct {
  fields: ReadonlyArray<readonly [string, FieldKind]>;
  /** Has the embedded *LayerInfo: digest and diffId, last, JSON only. */
  layer: boolean;
}

const list = (struct: Struct): FieldKind => ({ struct, list: true });
const PACKAGE: Struct = {
  layer: false,
  fields: [['name', 'str'], ['version', 'str'], ['description', 'str'], ['license', 'str'], ['authors', 'strs']],
};
const PART: Struct = { layer: true, fields: [['name', 'str'], ['path', 'str'], ['license', 'str'], ['type', 'str']] };
const MODEL: Struct = {
  layer: true,
  fields: [
    ['name', 'str'], ['path', 'str'], ['license', 'str'], ['framework', 'str'], ['format', 'str'], ['version', 'str'],
    ['description', 'str'], ['parts', list(PART)], ['parameters', 'any'],
  ],
};
const CODE: Struct = { layer: true, fields: [['path', 'str'], ['description', 'str'], ['license', 'str']] };
const DATASET: Struct = {
  layer: true,
  fields: [
    ['name', 'str'], ['path', 'str'], ['remotePath', 'str'], ['remoteHash', 'str'], ['description', 'str'],
    ['license', 'str'], ['parameters', 'any'],
  ],
};
const DOCS: Struct = { layer: true, fields: [['path', 'always'], ['description', 'str']] };
const PROMPT: Struct = { layer: true, fields: [['name', 'str'], ['path', 'str'], ['description', 'str']] };
const MCP_SERVER: Struct = { layer: true, fields: [['name', 'str'], ['path', 'str'], ['description', 'str']] };
const KITFILE: Struct = {
  layer: false,
  fields: [
    ['manifestVersion', 'always'],
    // `package` is a struct value, which Go's omitempty never omits from JSON: `"package":{}`.
    ['package', { struct: PACKAGE, list: false, always: true }],
    ['model', { struct: MODEL, list: false }],
    ['code', list(CODE)], ['datasets', list(DATASET)], ['docs', list(DOCS)], ['prompts', list(PROMPT)],
    ['mcpServers', list(MCP_SERVER)],
  ],
};
const LAYER_FIELDS: ReadonlyArray<readonly [string, FieldKind]> = [['digest', 'str'], ['diffId', 'str']];

/** The config-blob JSON: exactly the bytes Go's encoding/json writes for upstream's KitFile. */
export function kitfileToConfigJson(kf: Kitfile): string {
  return structJson(kf, KITFILE, '');
}

function structJson(obj: unknown, s: Struct, path: string): string {
  const o = (obj ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const [name, kind] of s.layer ? [...s.fields, ...LAYER_FIELDS] : s.fields) {
    const v = o[name];
    const at = path ? `${path}.${name}` : name;
    if (kind === 'str' || kind === 'always') {
      if (v === undefined || v === null || v === '') {
        if (kind === 'always') out.push(`${goString(name)}:""`);
      } else {
        out.push(`${goString(name)}:${goString(expectString(v, at))}`);
      }
    } else if (kind === 'strs') {
      if (Array.isArray(v) && v.length > 0) out.push(`${goString(name)}:[${v.map((x, i) => goString(expectString(x ?? '', `${at}[${i}]`))).join(',')}]`);
    } else if (kind === 'any') {
      if (v !== undefined && v !== null) out.push(`${goString(name)}:${goJson(v, at)}`);
    } else if (kind.list) {
      if (Array.isArray(v) && v.length > 0) out.push(`${goString(name)}:[${v.map((x, i) => structJson(x, kind.struct, `${at}[${i}]`)).join(',')}]`);
    } else if ((v !== undefined && v !== null) || kind.always) {
      out.push(`${goString(name)}:${structJson(v, kind.struct, at)}`);
    }
  }
  return `{${out.join(',')}}`;
}

function expectString(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new KitError('KITFILE_INVALID', `${at} must be a string, got ${typeof v}`);
  return v;
}

// Go's encodeState.string with escapeHTML: <, >, & and U+2028/2029 escaped; invalid UTF-16
// (a lone surrogate, Go's invalid UTF-8) becomes \ufffd; \b and \f short forms (Go >= 1.22).
const GO_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function goString(s: string): string {
  return `"${s.replace(GO_ESCAPE, (c) => {
    const code = c.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdfff) return '\\ufffd';
    return SHORT_ESCAPES[c] ?? `\\u${code.toString(16).padStart(4, '0')}`;
  })}"`;
}

/** Go's json.Marshal of what yaml.v3 decoded into `any`. */
function goJson(v: unknown, at: string): string {
  switch (typeof v) {
    case 'string':
      return goString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (!Number.isFinite(v)) {
        throw new KitError('KITFILE_INVALID', `${at} is ${v}, which JSON cannot store (Go: unsupported value); quote it to keep it as a string`);
      }
      // JS and Go (strconv 'f'/'e' with shortest digits, 'e' below 1e-6 and from 1e21) agree,
      // except that Go keeps the sign of negative zero.
      return Object.is(v, -0) ? '-0' : String(v);
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) return `[${v.map((x, i) => (x === undefined ? 'null' : goJson(x, `${at}[${i}]`))).join(',')}]`;
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      return `{${entries.map(([k, x]) => `${goString(k)}:${goJson(x, `${at}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new KitError('KITFILE_INVALID', `${at} holds a ${typeof v}, which cannot be stored in a Kitfile`);
  }
}

// ---------------------------------------------------------------------------------------------

// YAML 1.2 core prints -0 as 0; yaml.v3 reads "-0" back as negative zero, so keep it.
const negativeZero: ScalarTag = {
  identify: (v) => Object.is(v, -0),
  default: true,
  tag: 'tag:yaml.org,2002:float',
  test: /^-0$/,
  resolve: () => -0,
  stringify: () => '-0',
};

/** The Kitfile YAML `kit unpack` writes: Go struct order, omitempty, no digests. */
export function kitfileToYaml(kf: Kitfile): string {
  const doc = new Document(structYaml(kf, KITFILE), { aliasDuplicateObjects: false, customTags: (tags) => [negativeZero, ...tags] });
  visit(doc, {
    Scalar(_, node) {
      // Quote every string yaml.v3 (and our parser) would read as something else: 0b1, 1_000, ~ ...
      if (typeof node.value === 'string' && needsQuotes(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  const authors = doc.getIn(['package', 'authors'], true);
  if (isSeq(authors)) authors.flow = true;
  return doc.toString({ indent: 2, indentSeq: true, lineWidth: 0, blockQuote: 'literal', flowCollectionPadding: false });
}

/** Plain object in struct order with yaml.v3 omitempty: empty structs (package) are dropped. */
function structYaml(obj: unknown, s: Struct): Record<string, unknown> | undefined {
  const o = (obj ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, kind] of s.fields) {
    const v = o[name];
    if (kind === 'str' || kind === 'always') {
      if (typeof v === 'string' && v !== '') out[name] = v;
      else if (kind === 'always') out[name] = '';
    } else if (kind === 'strs') {
      if (Array.isArray(v) && v.length > 0) out[name] = v.map((x) => x ?? '');
    } else if (kind === 'any') {
      if (v !== undefined && v !== null) out[name] = sortKeys(v);
    } else if (kind.list) {
      if (Array.isArray(v) && v.length > 0) out[name] = v.map((x) => structYaml(x, kind.struct) ?? {});
    } else if (v !== undefined && v !== null) {
      // A present model stays (`model: {}`), an all-empty package goes (yaml.v3 omitempty).
      const inner = structYaml(v, kind.struct);
      if (inner || !kind.always) out[name] = inner ?? {};
    }
  }
  return Object.keys(out).length > 0 || s === KITFILE ? out : undefined;
}

/** yaml.v3 writes map keys sorted; JSON-compatible values only. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries) Object.defineProperty(out, k, { value: sortKeys(x), enumerable: true, writable: true, configurable: true });
  return out;
}
