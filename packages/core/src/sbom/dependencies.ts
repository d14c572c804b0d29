/**
 * Third-party dependencies declared in a code layer's manifests: requirements.txt, pyproject.toml
 * (PEP 621 and Poetry) and package.json with its package-lock.json. A version is recorded only
 * when it is exact (`==1.2`, a lock file's resolved version); anything else is kept as the range
 * it was written as, so an SBOM never claims a version nobody pinned.
 */
import { posix } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { npmPurl, pypiPurl } from './purl.js';

export type Ecosystem = 'pypi' | 'npm';

export interface DeclaredDependency {
  ecosystem: Ecosystem;
  name: string;
  /** Exact version, when pinned or resolved by a lock file. */
  version?: string;
  /** The constraint as written, when it is not one exact version (`>=1.2,<2`, `^4.17.0`). */
  range?: string;
  /** From optional-dependencies, or marked `optional = true` in Poetry. */
  optional: boolean;
  /** The manifest it was declared in, relative to the context. */
  source: string;
  purl: string;
}

/** A manifest that could not be used, with the reason (recorded in the SBOM instead of failing it). */
export interface SkippedManifest {
  path: string;
  reason: string;
}

export const MANIFEST_NAMES: ReadonlySet<string> = new Set(['requirements.txt', 'pyproject.toml', 'package.json', 'package-lock.json']);

/** Manifests inside installed trees describe vendored packages, not the project: they are not read. */
export function isDependencyManifest(path: string): boolean {
  const parts = path.split('/');
  return MANIFEST_NAMES.has(parts[parts.length - 1]!) && !parts.some((p) => p === 'node_modules' || p === 'site-packages');
}

/** Every dependency the captured manifests declare (package-lock.json only lends versions to its sibling package.json). */
export function parseManifests(manifests: ReadonlyMap<string, Buffer>): { dependencies: DeclaredDependency[]; skipped: SkippedManifest[] } {
  const dependencies: DeclaredDependency[] = [];
  const skipped: SkippedManifest[] = [];
  for (const [path, bytes] of manifests) {
    const name = posix.basename(path);
    if (name === 'package-lock.json') continue;
    try {
      const text = bytes.toString('utf8');
      if (name === 'requirements.txt') dependencies.push(...parseRequirements(text, path));
      else if (name === 'pyproject.toml') dependencies.push(...parsePyproject(text, path));
      else if (name === 'package.json') {
        const lockPath = posix.join(posix.dirname(path), 'package-lock.json');
        dependencies.push(...parsePackageJson(text, path, manifests.get(lockPath)?.toString('utf8')));
      }
    } catch (e) {
      skipped.push({ path, reason: (e as Error).message });
    }
  }
  return { dependencies, skipped };
}

interface Requirement {
  name: string;
  version?: string;
  range?: string;
}

const PEP508_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/;
const VERSION_SPEC = /^(?:~=|===|==|!=|<=|>=|<|>)/;

/** A PEP 508 requirement's name and version constraint; undefined when the text is not one. */
export function parsePep508(text: string): Requirement | undefined {
  const s = text.trim();
  const name = PEP508_NAME.exec(s)?.[0];
  if (!name) return undefined;
  let rest = s.slice(name.length).trim();
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) return undefined;
    rest = rest.slice(close + 1).trim();
  }
  const marker = rest.indexOf(';');
  if (marker !== -1) rest = rest.slice(0, marker).trim();
  if (rest.startsWith('@')) return { name }; // a direct URL reference: no version to record
  if (rest.startsWith('(') && rest.endsWith(')')) rest = rest.slice(1, -1).trim();
  const spec = rest.replace(/\s+/g, '');
  if (spec === '') return { name };
  if (!VERSION_SPEC.test(spec)) return undefined;
  const exact = /^===?([^,*]+)$/.exec(spec);
  return exact ? { name, version: exact[1] } : { name, range: spec };
}

/** requirements.txt: one requirement a line; comments, options (-r, -e, --hash …), URLs and paths are not package names. */
export function parseRequirements(text: string, source: string): DeclaredDependency[] {
  const out: DeclaredDependency[] = [];
  for (const raw of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    let line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '' || line.startsWith('-')) continue;
    const option = /\s--?[A-Za-z]/.exec(line);
    if (option) line = line.slice(0, option.index).trim();
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(line) || (line.includes('/') && !line.includes('@'))) continue;
    const req = parsePep508(line);
    if (req) out.push(pypi(req, false, source));
  }
  return out;
}

/** pyproject.toml: PEP 621 `project.dependencies` and `optional-dependencies`, Poetry's `tool.poetry.dependencies`. */
export function parsePyproject(text: string, source: string): DeclaredDependency[] {
  const doc = parseToml(text) as Record<string, unknown>;
  const out: DeclaredDependency[] = [];
  const project = table(doc.project);
  for (const spec of strings(project?.dependencies)) {
    const req = parsePep508(spec);
    if (req) out.push(pypi(req, false, source));
  }
  for (const group of Object.values(table(project?.['optional-dependencies']) ?? {})) {
    for (const spec of strings(group)) {
      const req = parsePep508(spec);
      if (req) out.push(pypi(req, true, source));
    }
  }
  const poetry = table(table(table(doc.tool)?.poetry)?.dependencies);
  for (const [name, value] of Object.entries(poetry ?? {})) {
    if (name.toLowerCase() === 'python') continue; // the interpreter, not a package
    out.push(pypi({ name, ...poetryConstraint(value) }, table(value)?.optional === true, source));
  }
  return out;
}

/** Poetry: a bare version or `==v` is exact; `*` means any; a table may carry `version`; a list holds alternatives. */
function poetryConstraint(value: unknown): { version?: string; range?: string } {
  const one = (v: unknown): string | undefined => (typeof v === 'string' ? v.trim() : typeof table(v)?.version === 'string' ? (table(v)!.version as string).trim() : undefined);
  const specs = (Array.isArray(value) ? value.map(one) : [one(value)]).filter((s): s is string => !!s && s !== '*');
  if (specs.length === 0) return {};
  if (specs.length === 1) {
    const exact = /^(?:==)?\s*(\d[^\s,*^~<>=!|]*)$/.exec(specs[0]!);
    if (exact) return { version: exact[1] };
  }
  return { range: specs.join(' || ') };
}

/** package.json `dependencies`, with the version package-lock.json (v1, v2 or v3) resolved for each. */
export function parsePackageJson(text: string, source: string, lockText?: string): DeclaredDependency[] {
  const pkg = table(JSON.parse(text));
  if (!pkg) throw new Error('not a JSON object');
  const locked = lockText === undefined ? undefined : lockVersions(lockText, posix.join(posix.dirname(source), 'package-lock.json'));
  const out: DeclaredDependency[] = [];
  for (const [name, spec] of Object.entries(table(pkg.dependencies) ?? {})) {
    if (typeof spec !== 'string') continue;
    const version = locked?.(name) ?? exactSemver(spec.trim());
    const range = version === undefined && spec.trim() !== '' && spec.trim() !== '*' ? spec.trim() : undefined;
    out.push({ ecosystem: 'npm', name, version, range, optional: false, source, purl: npmPurl(name, version) });
  }
  return out;
}

function lockVersions(text: string, path: string): (name: string) => string | undefined {
  let lock: Record<string, unknown> | undefined;
  try {
    lock = table(JSON.parse(text));
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const packages = table(lock?.packages);
  const v1 = table(lock?.dependencies);
  return (name) => {
    const entry = table(packages?.[`node_modules/${name}`]) ?? table(v1?.[name]);
    return typeof entry?.version === 'string' && exactSemver(entry.version) ? entry.version : undefined;
  };
}

function exactSemver(spec: string): string | undefined {
  return /^=?v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/.exec(spec)?.[1];
}

function pypi(req: Requirement, optional: boolean, source: string): DeclaredDependency {
  return { ecosystem: 'pypi', name: req.name, version: req.version, range: req.range, optional, source, purl: pypiPurl(req.name, req.version) };
}

function table(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}
