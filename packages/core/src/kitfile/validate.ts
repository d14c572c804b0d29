/**
 * Semantic Kitfile rules, as upstream's newest `KitFile.Validate()` (kitops-format.md §1.6).
 * Messages keep upstream's wording (the conformance vectors match on it), then add the position
 * and, after "; ", what to change. All errors are collected and thrown together.
 */
import { formatProblems, positionOf, problemsError, type KitfilePositions, type Problem } from './problems.js';
import type { Kitfile } from './types.js';
import { cleanPath } from '../layers/clean-path.js';

export interface ValidateOptions {
  /** Name used in messages (default "Kitfile"). */
  file?: string;
  /** From parseKitfileWithPositions; without it messages carry no line:column. */
  positions?: KitfilePositions;
}

export interface ValidationResult {
  warnings: string[];
}

const KNOWN_MANIFEST_VERSIONS = new Set(['1.0.0', '1.0']);
const PART_TYPE_RE = /^[\w][\w.-]*$/;
const PART_TYPE_MAX_LEN = 64;

type PathKind = 'local' | 'reference' | 's3';

interface Layer {
  /** Upstream's name for the element in messages: "code layer 0", "modelpart tokenizer". */
  source: string;
  /** Word used in "invalid path for <label>". */
  label: string;
  path: string;
  cleaned: string;
  /** Position key of the element's path. */
  key: string;
  allowRef: boolean;
}

/** Throws KitError KITFILE_INVALID listing every problem; returns the warnings otherwise. */
export function validateKitfile(kf: Kitfile, opts: ValidateOptions = {}): ValidationResult {
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const at = (key: string) => positionOf(opts.positions, key);
  const err = (key: string, message: string, hint: string) => errors.push({ pos: at(key), message: `${message}; ${hint}` });

  if (!KNOWN_MANIFEST_VERSIONS.has(kf.manifestVersion ?? '')) {
    // Upstream made this a warning in PR #1085: newer Kitfiles should still load.
    warnings.push({
      pos: at('manifestVersion'),
      message: `Unrecognized manifestVersion ${JSON.stringify(kf.manifestVersion ?? '')}, treating Kitfile as 1.0.0; set "manifestVersion: 1.0.0" to silence this`,
    });
  }

  const layers = collectLayers(kf);
  for (const l of layers) {
    const kind = pathKind(l.path);
    if (typeof kind === 'object') {
      const where = l.label === 'model' ? 'model' : `${l.label} (${l.path})`;
      err(l.key, `invalid path for ${where}: ${kind.error}`, 'copy the files into the context directory and use a relative path');
    } else if (kind !== 'local' && !(kind === 'reference' && l.allowRef)) {
      if (l.allowRef) {
        err(l.key, 'invalid path for model: only local paths and ModelKit references are permitted',
          'use a path relative to the context directory, or a ModelKit reference such as registry/repository:tag');
      } else {
        err(l.key, `invalid path for ${l.label} (${l.path}): only local paths are permitted`,
          kind === 'reference' ? 'only model.path may name another ModelKit; use a path relative to the context directory'
            : l.label === 'dataset' ? 'put the S3 URL in remotePath (with remoteHash) and keep path local'
              : 'use a path relative to the context directory');
      }
    }
  }

  checkPaths(layers, err);
  checkModelParts(kf, err);
  checkDatasets(kf, layers, err, (key, message) => warnings.push({ pos: at(key), message }));
  checkMcpServers(kf, err);
  checkParameters(kf, err);

  if (errors.length > 0) throw problemsError('KITFILE_INVALID', opts.file, errors);
  return { warnings: formatProblems(opts.file, warnings) };
}

type ErrFn = (key: string, message: string, hint: string) => void;

function collectLayers(kf: Kitfile): Layer[] {
  const layers: Layer[] = [];
  const add = (source: string, label: string, path: string | undefined, key: string, allowRef = false) =>
    layers.push({ source, label, path: path ?? '', cleaned: cleanPath(path ?? ''), key, allowRef });
  if (kf.model) {
    add(`model ${kf.model.name ?? ''}`.trimEnd(), 'model', kf.model.path, 'model.path', true);
    kf.model.parts?.forEach((p, i) => add(partName(p.name, i), 'model part', p.path, `model.parts.${i}.path`));
  }
  kf.code?.forEach((c, i) => add(`code layer ${i}`, 'code', c.path, `code.${i}.path`));
  kf.datasets?.forEach((d, i) => add(`dataset layer ${i}`, 'dataset', d.path, `datasets.${i}.path`));
  kf.docs?.forEach((d, i) => add(`docs layer ${i}`, 'doc', d.path, `docs.${i}.path`));
  kf.prompts?.forEach((p, i) => add(`prompt layer ${i}`, 'prompt', p.path, `prompts.${i}.path`));
  kf.mcpServers?.forEach((m, i) => add(`mcpServer layer ${i}`, 'mcpServer', m.path, `mcpServers.${i}.path`));
  return layers;
}

function partName(name: string | undefined, i: number): string {
  return `modelpart ${name || `#${i}`}`;
}

/** Duplicates, absolute paths and paths leaving the context, compared after Go filepath.Clean. */
function checkPaths(layers: Layer[], err: ErrFn): void {
  const byPath = new Map<string, Layer[]>();
  for (const l of layers) byPath.set(l.cleaned, [...(byPath.get(l.cleaned) ?? []), l]);
  for (const [p, users] of byPath) {
    const first = users[0];
    if (users.length > 1) {
      const last = users[users.length - 1];
      const names = `${users.slice(0, -1).map((u) => u.source).join(', ')} and ${last.source}`;
      err(last.key, `${names} use the same path ${p}`, 'give each layer its own path (layers may nest, but not coincide)');
    }
    if (p.startsWith('/')) {
      err(first.key, `absolute paths are not supported in a Kitfile (path ${p} in ${first.source})`,
        'use a path relative to the directory being packed');
    } else if (p === '..' || p.startsWith('../')) {
      err(first.key, `paths outside the context directory are not supported in a Kitfile (path ${p} in ${first.source})`,
        'move the files into the context directory, or pack from a directory that contains them');
    }
  }
}

function checkModelParts(kf: Kitfile, err: ErrFn): void {
  kf.model?.parts?.forEach((part, i) => {
    if (!part.type) return;
    const key = `model.parts.${i}.type`;
    if (!PART_TYPE_RE.test(part.type)) {
      err(key, `${partName(part.name, i)} has invalid type (must be alphanumeric with dots, dashes, and underscores)`,
        'use only letters, digits, "_", "." and "-", starting with a letter, digit or "_"');
    }
    if (Buffer.byteLength(part.type) > PART_TYPE_MAX_LEN) {
      err(key, `${partName(part.name, i)} type is too long (must be fewer than ${PART_TYPE_MAX_LEN} characters)`,
        `shorten it to at most ${PART_TYPE_MAX_LEN} characters`);
    }
  });
}

/** remotePath / remoteHash (PR #1085): S3 objects need their ETag; nothing may sit inside them. */
function checkDatasets(kf: Kitfile, layers: Layer[], err: ErrFn, warn: (key: string, message: string) => void): void {
  kf.datasets?.forEach((d, i) => {
    const key = `datasets.${i}`;
    if (!d.remotePath) {
      if (d.remoteHash) {
        err(`${key}.remoteHash`, 'remote hash is only applicable when remotePath is set', 'remove remoteHash, or add the remotePath it belongs to');
      }
      return;
    }
    const kind = pathKind(d.remotePath);
    if (typeof kind === 'object') {
      err(`${key}.remotePath`, `invalid remote path for dataset (${d.remotePath}): ${kind.error}`, 'use s3://bucket/key or a ModelKit reference');
    } else if (kind === 's3') {
      if (!/^s3:\/\/[^/]+/i.test(d.remotePath)) {
        err(`${key}.remotePath`, `invalid remote path for dataset (${d.remotePath}): S3 URLs need a bucket`, 'write it as s3://bucket/key');
      }
      if (!d.remoteHash) {
        err(`${key}.remotePath`, `remoteHash is required when remote dataset paths are used (${d.remotePath})`,
          "set remoteHash to the S3 object's ETag");
      }
    } else if (kind === 'reference') {
      if (d.remoteHash) {
        warn(`${key}.remoteHash`, `remoteHash is ignored when remotePath is a ModelKit reference (${d.remotePath}); remove it`);
      }
    } else {
      err(`${key}.remotePath`, `only S3 URLs are supported for remote dataset paths (${d.remotePath})`,
        'use s3://bucket/key, or a ModelKit reference such as registry/repository:tag');
    }
    // The remote content is materialised at the dataset's path, so nothing else may live inside it.
    const root = cleanPath(d.path ?? '');
    for (const l of layers) {
      if (l.cleaned.startsWith(`${root}/`) && root !== '.') {
        err(l.key, `${l.source} uses a path (${l.cleaned}) that is within the path for a remote dataset (${root} in dataset layer ${i})`,
          `move it outside ${root}, or make dataset layer ${i} local`);
      }
    }
  });
}

function checkMcpServers(kf: Kitfile, err: ErrFn): void {
  const seen = new Set<string>();
  kf.mcpServers?.forEach((m, i) => {
    const key = `mcpServers.${i}`;
    if (!m.name) {
      err(key, `mcpServer with path ${m.path ?? ''} must have a name`, 'add a "name:" that identifies the server');
    } else if (seen.has(m.name)) {
      err(`${key}.name`, `duplicate mcpServer name ${m.name}`, 'give each mcpServer a unique name');
    } else {
      seen.add(m.name);
    }
    // Path kinds were checked with the other layers; only local paths get the file-type check.
    if (pathKind(m.path ?? '') === 'local' && !cleanPath(m.path ?? '').endsWith('.mcpb')) {
      err(`${key}.path`, `invalid path for mcpServer (${m.path ?? ''}): path must point to a single .mcpb file`,
        'point path at the MCP bundle file (name.mcpb)');
    }
  });
}

/** NaN and infinities are legal YAML but Go's encoding/json refuses them, so pack would fail. */
function checkParameters(kf: Kitfile, err: ErrFn): void {
  const visit = (v: unknown, key: string): void => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      err(key, `${key} is ${v}, which the config JSON cannot store`, 'quote it to keep it as a string');
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${key}.${i}`));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) visit(x, `${key}.${k}`);
    }
  };
  visit(kf.model?.parameters, 'model.parameters');
  kf.datasets?.forEach((d, i) => visit(d.parameters, `datasets.${i}.parameters`));
}

// ---------------------------------------------------------------------------------------------
// Path kinds (upstream GetPathType): a ModelKit reference, else whatever Go's url.Parse makes of it.


function pathKind(p: string): PathKind | { error: string } {
  if (isModelKitReference(p)) return 'reference';
  const u = goUrlParse(p);
  // Upstream treats anything url.Parse rejects, or that has neither scheme nor host, as local.
  if (!u || (u.scheme === '' && u.host === '')) return 'local';
  if (u.scheme === 's3') return 's3';
  if (u.scheme === 'http' || u.scheme === 'https') return { error: `HTTP urls are not supported in paths (${p})` };
  return { error: `unrecognized URL in path: ${p}` };
}

/** The scheme and host Go's net/url.Parse finds, or undefined where it returns an error. */
function goUrlParse(raw: string): { scheme: string; host: string } | undefined {
  if (/[\x00-\x1f\x7f]/.test(raw)) return undefined;
  let rest = raw.split('#')[0];
  let scheme = '';
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (rest.startsWith(':')) return undefined; // "missing protocol scheme"
  if (m) {
    scheme = m[1].toLowerCase();
    rest = rest.slice(m[0].length);
  }
  rest = rest.split('?')[0];
  if (!rest.startsWith('/')) {
    if (scheme !== '') return { scheme, host: '' }; // opaque URL such as mailto:x
    if (rest.split('/')[0].includes(':')) return undefined; // "first path segment cannot contain colon"
    return { scheme, host: '' };
  }
  let host = '';
  if (rest.startsWith('//') && (scheme !== '' || !rest.startsWith('///'))) {
    const authority = rest.slice(2).split('/')[0];
    host = authority.slice(authority.lastIndexOf('@') + 1);
    // Go's parseHost: "[v6]:port" or "name:port", and a non-numeric port is an error.
    let port = '';
    if (host.startsWith('[')) {
      if (!host.includes(']')) return undefined;
      port = host.slice(host.indexOf(']') + 1);
    } else if (host.includes(':')) {
      port = host.slice(host.lastIndexOf(':'));
    }
    if (port !== '' && !/^:[0-9]*$/.test(port)) return undefined;
  }
  return { scheme, host };
}

// Mirrors upstream's IsModelKitReference (pkg/artifact reference parsing): a string with ':' or
// '@' that parses as [registry/]repository[:tag][@digest]; a first segment is a registry only if it
// contains '.' or ':'. Kept private so this folder does not depend on the reference module.
const DIGEST_RE = /^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG_RE = /^\w[\w.-]{0,127}$/;
const REGISTRY_RE = /^(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?$/;

function isModelKitReference(ref: string): boolean {
  if (!ref.includes(':') && !ref.includes('@')) return false;
  if (ref.includes('://')) return false; // a URL, never a reference
  if (DIGEST_RE.test(ref)) return true;
  let rest = ref.split(',')[0]; // name:tag,extra,tags
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const registry = rest.slice(0, slash);
    if (registry.includes(':') || registry.includes('.')) {
      if (!REGISTRY_RE.test(registry)) return false;
      rest = rest.slice(slash + 1);
    }
  }
  let repo = rest;
  const atSign = rest.indexOf('@');
  if (atSign >= 0) {
    repo = rest.slice(0, atSign).split(':')[0]; // tag and digest: the digest wins
    if (!DIGEST_RE.test(rest.slice(atSign + 1))) return false;
  } else if (rest.includes(':')) {
    repo = rest.slice(0, rest.indexOf(':'));
    if (!TAG_RE.test(rest.slice(rest.indexOf(':') + 1))) return false;
  }
  return REPOSITORY_RE.test(repo);
}
