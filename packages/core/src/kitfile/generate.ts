/**
 * `kit init`: guess a Kitfile from a directory's contents, following upstream
 * pkg/lib/kitfile/generate (newer behaviour): classify root files by name and suffix, classify
 * each subdirectory as a whole, pick the largest model file as the model and the rest as parts,
 * and put what is left in code layers. Directories get a trailing `/` as upstream now writes them.
 * Upstream's newest SKILL.md-directory handling is not implemented: SKILL.md is a prompt file.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KitError } from '../errors.js';
import type { Code, Dataset, Docs, Kitfile, McpServer, Model, ModelPart, Package, Prompt } from './types.js';

export interface GenerateOptions {
  name?: string;
  description?: string;
  author?: string;
  /** Levels of subdirectories classified file by file before whole-directory analysis (`--depth`, default 0). */
  depth?: number;
}

interface FileListing {
  name: string;
  /** Context-relative, '/'-separated. */
  path: string;
  size: number;
}

interface DirListing {
  name: string;
  path: string;
  files: FileListing[];
  subdirs: DirListing[];
}

// Declaration order matters: a directory's type is decided by scanning types in this order.
enum FileType {
  Model,
  Dataset,
  Code,
  Docs,
  Metadata,
  Prompt,
  McpServer,
  Unknown,
}

const MODEL_SUFFIXES = [
  '.safetensors', '.pkl', '.joblib',
  '.pth', '.pt', '.mar', '.pt2', '.ptl', // PyTorch
  '.pb', '.ckpt', '.tflite', '.tfrecords', // TensorFlow
  '.npy', '.npz', // NumPy
  '.keras', '.h5', '.caffemodel', '.pmml', '.coreml',
  '.gguf', '.ggml', '.ggmf', '.llamafile', '.onnx',
];
// Go filepath.Match "*pytorch_model*.bin": newer upstream no longer treats every .bin as weights.
const MODEL_PATTERNS = [/^[^/]*pytorch_model[^/]*\.bin$/u];
const DOCS_SUFFIXES = ['.md', '.adoc', '.html', '.pdf'];
const METADATA_SUFFIXES = ['.json', '.yaml', '.xml', '.txt'];
const DATASET_SUFFIXES = ['.tar', '.zip', '.parquet', '.csv'];
const MCP_SUFFIXES = ['.mcpb'];
const PROMPT_NAMES = ['agents.md', 'skill.md', 'claude.md'];
const KITFILE_NAMES = ['Kitfile', 'kitfile', '.kitfile'];
// pkg/lib/filesystem/ignore/osfiles.go, compared case-insensitively.
const OS_FILES = ['.ds_store', '.appledouble', '.lsoverride', '.spotlight-v100', '.trashes', 'thumbs.db', 'desktop.ini', '$recycle.bin', 'ehthumbs.db'];
// More unrecognised root files than this become one catch-all `code: .` layer.
const MAX_SEPARATE_UNKNOWN = 5;

/** Layers gathered while classifying, in the order upstream appends them. */
interface Sections {
  model?: Model;
  code: Code[];
  datasets: Dataset[];
  docs: Docs[];
  prompts: Prompt[];
  mcpServers: McpServer[];
}

export async function generateKitfile(dir: string, opts: GenerateOptions = {}): Promise<Kitfile> {
  const root = resolve(dir);
  await assertDirectory(dir, root);
  const listing = await listDirectory(root, '.');
  const s: Sections = { code: [], datasets: [], docs: [], prompts: [], mcpServers: [] };

  const found = classifyRecursive(s, listing, opts.depth ?? 0);
  const license = found.licensePath === undefined ? '' : await detectLicenseFile(join(root, found.licensePath));

  if (found.unknown.length > MAX_SEPARATE_UNKNOWN) s.code.push({ path: '.' });
  else for (const f of found.unknown) s.code.push({ path: f.path });

  if (found.models.length > 0) {
    s.model = chooseModel(found.models);
    for (const m of found.metadata) (s.model.parts ??= []).push({ path: m.path });
  } else {
    for (const m of found.metadata) s.datasets.push({ path: m.path });
  }

  const pkg: Package = {};
  // Attach the license where it clearly applies, else to the package (upstream order).
  if (license !== '') {
    if (s.model !== undefined) s.model.license = license;
    else if (s.datasets.length === 1) s.datasets[0].license = license;
    else if (s.code.length === 1) s.code[0].license = license;
    else pkg.license = license;
  }
  return assemble(s, packageFrom(opts, pkg.license));
}

async function assertDirectory(dir: string, root: string): Promise<void> {
  try {
    if (!(await stat(root)).isDirectory()) throw new KitError('INVALID_ARGUMENT', `${dir} is not a directory`);
  } catch (e) {
    if (e instanceof KitError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new KitError('NOT_FOUND', `directory ${dir} does not exist`, { cause: e });
    throw new KitError('IO', `cannot read ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

/** DirectoryListingFromFS: names in byte order, OS junk skipped, only files and real dirs (no symlinks). */
async function listDirectory(root: string, rel: string): Promise<DirListing> {
  const abs = rel === '.' ? root : join(root, rel);
  let dirents: Dirent[];
  try {
    dirents = await readdir(abs, { withFileTypes: true });
  } catch (e) {
    throw new KitError('IO', `failed to read directory ${abs}: ${(e as Error).message}`, { cause: e });
  }
  dirents.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const listing: DirListing = { name: rel === '.' ? '.' : rel.slice(rel.lastIndexOf('/') + 1), path: rel, files: [], subdirs: [] };
  for (const d of dirents) {
    if (OS_FILES.includes(d.name.toLowerCase())) continue;
    const childRel = rel === '.' ? d.name : `${rel}/${d.name}`;
    if (d.isDirectory()) listing.subdirs.push(await listDirectory(root, childRel));
    else if (d.isFile()) listing.files.push({ name: d.name, path: childRel, size: (await stat(join(root, childRel))).size });
  }
  return listing;
}

interface Found {
  models: FileListing[];
  metadata: FileListing[];
  unknown: FileListing[];
  licensePath?: string;
}

/** classifyDirectoryRecursive: file-by-file for this dir, then subdirs (as wholes at depth 0). */
function classifyRecursive(s: Sections, dir: DirListing, depth: number): Found {
  const found: Found = { models: [], metadata: [], unknown: [] };
  for (const file of dir.files) {
    if (KITFILE_NAMES.includes(file.name)) continue; // never packed anyway
    const lower = file.name.toLowerCase();
    if (lower.startsWith('readme')) {
      s.docs.push({ path: file.path, description: 'Readme file' });
      continue;
    }
    if (lower.startsWith('license')) {
      s.docs.push({ path: file.path, description: 'License file' });
      found.licensePath = file.path;
      continue;
    }
    switch (fileType(file.path)) {
      case FileType.Model: found.models.push(file); break;
      case FileType.Metadata: found.metadata.push(file); break; // model parts or datasets, decided later
      case FileType.Docs: s.docs.push({ path: file.path }); break;
      case FileType.Dataset: s.datasets.push({ path: file.path }); break;
      case FileType.Prompt: s.prompts.push({ path: file.path }); break;
      case FileType.McpServer: s.mcpServers.push(mcpServer(file.path)); break;
      default: found.unknown.push(file);
    }
  }
  for (const sub of dir.subdirs) {
    if (depth === 0) {
      found.models.push(...addDirectory(s, sub));
      continue;
    }
    // Licenses in subdirectories are listed as docs but not attributed: unclear what they cover.
    const inner = classifyRecursive(s, sub, depth - 1);
    found.models.push(...inner.models);
    found.metadata.push(...inner.metadata);
    for (const f of inner.unknown) s.code.push({ path: f.path });
  }
  return found;
}

/** addDirToKitfile: one layer for a whole subdirectory, typed by what it holds. Returns model files. */
function addDirectory(s: Sections, dir: DirListing): FileListing[] {
  const path = withTrailingSlash(dir.path);
  if (dir.name === 'docs') {
    s.docs.push({ path });
    return [];
  }
  if (['src', 'pkg', 'lib', 'build'].includes(dir.name)) {
    s.code.push({ path });
    return [];
  }
  const byType: string[][] = Array.from({ length: FileType.Unknown + 1 }, () => []);
  for (const sub of dir.subdirs) byType[FileType.Unknown].push(sub.path); // nested dirs are not inspected
  const models: FileListing[] = [];
  const metadata: FileListing[] = [];
  for (const file of dir.files) {
    const t = fileType(file.name);
    if (t === FileType.Model) models.push(file);
    if (t === FileType.Metadata) metadata.push(file);
    byType[t].push(file.path);
  }
  // Metadata goes with whatever else is there; any second kind makes the directory "mixed".
  let overall: FileType = FileType.Unknown;
  let mixed = false;
  for (let t: FileType = FileType.Model; t <= FileType.Unknown; t++) {
    if (byType[t].length === 0 || t === FileType.Metadata) continue;
    if (overall !== FileType.Unknown) mixed = true;
    overall = t;
  }
  if (mixed) {
    s.code.push({ path });
    return models;
  }
  switch (overall) {
    case FileType.Model: return [...models, ...metadata]; // metadata become model parts
    case FileType.Dataset: s.datasets.push({ path }); break;
    case FileType.Docs: s.docs.push({ path }); break;
    case FileType.Prompt: s.prompts.push({ path }); break;
    // Each mcpServers entry must be one .mcpb file, so the bundles are listed one by one.
    case FileType.McpServer: for (const p of byType[FileType.McpServer]) s.mcpServers.push(mcpServer(p)); break;
    default: s.code.push({ path });
  }
  return models;
}

function fileType(filename: string): FileType {
  const base = filename.slice(filename.lastIndexOf('/') + 1).toLowerCase();
  // Prompts first: their names can end in any other suffix (my.prompt.md).
  if (PROMPT_NAMES.includes(base) || base.includes('.prompt')) return FileType.Prompt;
  const hasSuffix = (list: string[]) => list.some((x) => filename.endsWith(x));
  if (hasSuffix(MODEL_SUFFIXES) || MODEL_PATTERNS.some((re) => re.test(filename))) return FileType.Model;
  if (hasSuffix(METADATA_SUFFIXES)) return FileType.Metadata;
  if (hasSuffix(DOCS_SUFFIXES)) return FileType.Docs;
  if (hasSuffix(DATASET_SUFFIXES)) return FileType.Dataset;
  if (hasSuffix(MCP_SUFFIXES)) return FileType.McpServer;
  return FileType.Unknown;
}

function mcpServer(path: string): McpServer {
  return { name: path.endsWith('.mcpb') ? path.slice(0, -'.mcpb'.length) : path, path };
}

/**
 * addModelToKitfile: a file clearly bigger than the rest (over 1.5× the integer average) is the
 * model and the others adaptors; otherwise it is a multi-part model led by the first file.
 */
function chooseModel(files: FileListing[]): Model {
  if (files.length === 1) return { name: stripExt(files[0]), path: files[0].path };
  let largest = files[0];
  let largestSize = 0;
  let total = 0;
  for (const f of files) {
    if (f.size > largestSize) {
      largestSize = f.size;
      largest = f;
    }
    total += f.size;
  }
  const average = Math.floor(total / files.length);
  if (largestSize > average + Math.floor(average / 2)) {
    const parts: ModelPart[] = files.filter((f) => f !== largest).map((f) => ({ path: f.path }));
    return { name: stripExt(largest), path: largest.path, ...(parts.length > 0 ? { parts } : {}) };
  }
  return { path: files[0].path, parts: files.slice(1).map((f) => ({ path: f.path })) };
}

/** `strings.TrimSuffix(path, filepath.Ext(name))`: Go's Ext is everything from the last dot. */
function stripExt(f: FileListing): string {
  const dot = f.name.lastIndexOf('.');
  return dot < 0 ? f.path : f.path.slice(0, f.path.length - (f.name.length - dot));
}

function withTrailingSlash(p: string): string {
  return p === '.' || p.endsWith('/') ? p : p + '/';
}

function packageFrom(opts: GenerateOptions, license: string | undefined): Package {
  const pkg: Package = {};
  if (opts.name) pkg.name = opts.name;
  if (opts.description) pkg.description = opts.description;
  if (license) pkg.license = license;
  if (opts.author) pkg.authors = [opts.author];
  return pkg;
}

/** Build the Kitfile with keys in Go struct order and without empty sections. */
function assemble(s: Sections, pkg: Package): Kitfile {
  const k: Kitfile = { manifestVersion: '1.0.0', package: pkg };
  if (s.model) k.model = s.model;
  if (s.code.length) k.code = s.code;
  if (s.datasets.length) k.datasets = s.datasets;
  if (s.docs.length) k.docs = s.docs;
  if (s.prompts.length) k.prompts = s.prompts;
  if (s.mcpServers.length) k.mcpServers = s.mcpServers;
  return k;
}

async function detectLicenseFile(path: string): Promise<string> {
  try {
    return detectLicense(await readFile(path, 'utf8'));
  } catch {
    return ''; // upstream warns "Unable to determine license type" and carries on
  }
}

/**
 * SPDX id of the single license a LICENSE text contains, or '' when none or several are found
 * (upstream uses google/licensecheck and also gives up on multiple matches). Recognises the
 * common licenses by their titles or characteristic sentences.
 */
export function detectLicense(text: string): string {
  const t = text.toLowerCase().replace(/\s+/g, ' ');
  const ids = new Set<string>();
  // GNU licenses name each other in their bodies, so only the first title counts.
  const gnu = /gnu (lesser |library |affero )?general public license,? version (\d(?:\.\d)?)/.exec(t);
  if (gnu) {
    const kind = gnu[1]?.trim();
    const version = gnu[2] === '2' || gnu[2] === '3' ? `${gnu[2]}.0` : gnu[2];
    const prefix = kind === 'affero' ? 'AGPL' : kind === 'lesser' || kind === 'library' ? 'LGPL' : 'GPL';
    ids.add(`${prefix}-${version}`);
  }
  if (/apache license,? version 2\.0/.test(t)) ids.add('Apache-2.0');
  if (/mozilla public license,? (?:version|v\.?) ?2\.0/.test(t)) ids.add('MPL-2.0');
  if (t.includes('permission is hereby granted, free of charge, to any person obtaining a copy')) ids.add('MIT');
  if (t.includes('redistribution and use in source and binary forms')) {
    if (t.includes('advertising materials')) ids.add('BSD-4-Clause');
    else if (/neither the name|names of its contributors may be used/.test(t)) ids.add('BSD-3-Clause');
    else ids.add('BSD-2-Clause');
  }
  if (t.includes('this is free and unencumbered software released into the public domain')) ids.add('Unlicense');
  return ids.size === 1 ? [...ids][0] : '';
}
