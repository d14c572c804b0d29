import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import { cleanPath, isWithin } from '../../src/layers/clean-path.js';
import { IgnoreMatcher } from '../../src/layers/ignore.js';
import { collectLayerEntries, compareGo, type LayerEntry } from '../../src/layers/walk.js';
import { loadCases, type PackUnpackCase as PackCase } from '../helpers/conformance.js';

const tempDirs: string[] = [];
afterAll(async () => {
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'walk-'));
  tempDirs.push(d);
  return d;
}

/** Create each file (content = its own path, as listed), with parent directories. */
async function makeFiles(root: string, files: string[]): Promise<void> {
  for (const f of files) {
    const abs = join(root, f);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, f);
  }
}

/** Layer paths straight from the Kitfile YAML (model, parts, code, datasets, docs, prompts). */
function layerPathsOf(kitfileYaml: string): string[] {
  const k = (parse(kitfileYaml) ?? {}) as Record<string, any>;
  const paths: string[] = [];
  if (k.model?.path !== undefined) paths.push(k.model.path);
  for (const part of k.model?.parts ?? []) paths.push(part.path);
  for (const section of ['code', 'datasets', 'docs', 'prompts']) {
    for (const el of k[section] ?? []) paths.push(el.path);
  }
  return paths.map((p) => cleanPath(String(p ?? '').trim()));
}

/** The most specific layer containing a file: the deepest layer path it lies within. */
function owningLayer(file: string, layers: string[]): number {
  let best = -1;
  for (let i = 0; i < layers.length; i++) {
    if (isWithin(file, layers[i]) && (best < 0 || depth(layers[i]) > depth(layers[best]))) best = i;
  }
  return best;
}
const depth = (p: string) => (p === '.' ? 0 : p.split('/').length);

/** Go filepath.Walk order = component-wise byte order of the paths. */
function compareWalk(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = compareGo(pa[i], pb[i]);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

function expectWalkOrder(entries: LayerEntry[], ignore: IgnoreMatcher): void {
  const names = entries.map((e) => e.name);
  expect(names, 'Go Walk order').toEqual([...names].sort(compareWalk));
  expect(new Set(names).size, 'no duplicates').toBe(names.length);
  const dirs = new Set(entries.filter((e) => e.type === 'dir').map((e) => e.name));
  for (const n of names) {
    const slash = n.lastIndexOf('/');
    if (slash < 0) continue;
    const parent = n.slice(0, slash);
    // A parent may only be missing when .kitignore ignores it (and a file inside was re-included).
    if (!ignore.matches(parent)) expect(dirs.has(parent), `parent dir ${parent} of ${n}`).toBe(true);
  }
}

const FIXTURE_DIRS = [
  ['testing', 'testdata', 'pack-unpack'],
  ['newer', 'testing', 'testdata', 'pack-unpack'],
];

for (const folder of FIXTURE_DIRS) {
  describe(`collectLayerEntries: KitOps ${folder.join('/')}`, () => {
    const cases = loadCases<PackCase>(...folder);
    it('has cases', () => expect(cases.length).toBeGreaterThan(0));

    for (const { file, data } of cases) {
      it(`${file}: ${data.description ?? data.name ?? ''}`, async () => {
        const root = await tempDir();
        const files = (data.files ?? []).map((f) => cleanPath(f));
        const ignoredFiles = (data.ignored ?? []).map((f) => cleanPath(f));
        await makeFiles(root, [...(data.files ?? []), ...(data.ignored ?? [])]);
        await writeFile(join(root, 'Kitfile'), data.kitfile);
        if (data.kitignore !== undefined) await writeFile(join(root, '.kitignore'), data.kitignore);

        const layers = layerPathsOf(data.kitfile);
        const ignore = await IgnoreMatcher.fromContext(root);
        const warnings: string[] = [];
        const perLayer: LayerEntry[][] = [];
        for (const layer of layers) {
          const entries = await collectLayerEntries(root, layer, layers, ignore, (w) => warnings.push(w));
          perLayer.push(entries);
          expectWalkOrder(entries, ignore);
          // The layer path and its ancestors are entries (the layer path itself is never ignored here).
          if (layer !== '.') {
            const parts = layer.split('/');
            for (let i = 1; i <= parts.length; i++) {
              expect(entries.some((e) => e.name === parts.slice(0, i).join('/')), `${layer}: ancestor ${parts.slice(0, i).join('/')}`).toBe(true);
            }
          }
          for (const e of entries) {
            expect(e.name.startsWith('./') || e.name.endsWith('/') || e.name === '.').toBe(false);
            expect(e.absPath).toBe(join(root, e.name));
          }
        }
        expect(warnings).toEqual([]);

        // Every listed file is in exactly one layer, the most specific one; nothing else is.
        for (let i = 0; i < layers.length; i++) {
          const got = perLayer[i].filter((e) => e.type === 'file').map((e) => e.name).sort();
          const want = files.filter((f) => owningLayer(f, layers) === i).sort();
          expect(got, `files of layer ${layers[i]}`).toEqual(want);
        }
        for (const f of files) {
          const holders = perLayer.filter((entries) => entries.some((e) => e.name === f && e.type === 'file'));
          expect(holders.length, `${f} in exactly one layer`).toBe(1);
        }
        for (const f of ignoredFiles) {
          for (const entries of perLayer) expect(entries.some((e) => e.name === f)).toBe(false);
        }
        for (const entries of perLayer) {
          for (const e of entries.filter((x) => x.type === 'file')) {
            expect(e.size).toBe(Buffer.byteLength(data.files!.find((f) => cleanPath(f) === e.name)!));
          }
        }
      });
    }
  });
}

describe('collectLayerEntries: walk order and ancestors', () => {
  it('follows Go filepath.Walk order (byte order per directory, depth first)', async () => {
    const root = await tempDir();
    const names = ['a/b', 'a-b', 'a.b', 'B', '_x', 'é', 'z/y/x', 'z/y0', 'Z', '\u{1F600}', '\uFF01'];
    await makeFiles(root, names);
    const entries = await collectLayerEntries(root, '.', ['.'], IgnoreMatcher.fromPatterns([]));
    expect(entries.map((e) => e.name)).toEqual([
      'B', 'Z', '_x', 'a', 'a/b', 'a-b', 'a.b', 'z', 'z/y', 'z/y/x', 'z/y0', 'é', '\uFF01', '\u{1F600}',
    ]);
  });

  it('yields the ancestor directories of a nested layer path, then its contents, and no siblings', async () => {
    const root = await tempDir();
    await makeFiles(root, ['models/llama/w.bin', 'models/llama/cfg/c.json', 'models/other/x.bin', 'models/z.txt', 'top.txt']);
    const entries = await collectLayerEntries(root, 'models/llama/', ['models/llama/'], IgnoreMatcher.fromPatterns([]));
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['models', 'dir'],
      ['models/llama', 'dir'],
      ['models/llama/cfg', 'dir'],
      ['models/llama/cfg/c.json', 'file'],
      ['models/llama/w.bin', 'file'],
    ]);
  });

  it('a single-file layer gives its ancestors and the file', async () => {
    const root = await tempDir();
    await makeFiles(root, ['d/e/f.txt', 'd/e/g.txt']);
    const entries = await collectLayerEntries(root, './d/e/f.txt', ['d/e/f.txt'], IgnoreMatcher.fromPatterns([]));
    expect(entries.map((e) => e.name)).toEqual(['d', 'd/e', 'd/e/f.txt']);
    expect(entries[2]).toMatchObject({ type: 'file', size: 'd/e/f.txt'.length });
    expect(entries[0].size).toBe(0);
  });

  it('layer data does not claim data2 (whole-component comparison)', async () => {
    const root = await tempDir();
    await makeFiles(root, ['data/a', 'data2/b', 'c']);
    const layers = ['data', 'data2', '.'];
    const ignore = IgnoreMatcher.fromPatterns([]);
    const names = async (l: string) => (await collectLayerEntries(root, l, layers, ignore)).map((e) => e.name);
    expect(await names('data')).toEqual(['data', 'data/a']);
    expect(await names('data2')).toEqual(['data2', 'data2/b']);
    expect(await names('.')).toEqual(['c']);
  });
});

describe('collectLayerEntries: .kitignore', () => {
  it('prunes ignored directories when there are no "!" patterns', async () => {
    const root = await tempDir();
    await makeFiles(root, ['dir1/keep.txt', 'dir1/other.txt', 'f.txt']);
    const entries = await collectLayerEntries(root, '.', ['.'], IgnoreMatcher.fromPatterns(['dir1']));
    expect(entries.map((e) => e.name)).toEqual(['f.txt']);
  });

  it('with "!" patterns, finds re-included files but does not emit the ignored directory', async () => {
    const root = await tempDir();
    await makeFiles(root, ['dir1/keep.txt', 'dir1/other.txt', 'dir1/sub/keep2.txt', 'f.txt']);
    const ignore = IgnoreMatcher.fromPatterns(['dir1', '!dir1/keep.txt', '!dir1/sub/keep2.txt']);
    const entries = await collectLayerEntries(root, '.', ['.'], ignore);
    expect(entries.map((e) => e.name)).toEqual(['dir1/keep.txt', 'dir1/sub/keep2.txt', 'f.txt']);
  });

  it('warns when the layer path itself is ignored, and the layer comes out empty', async () => {
    const root = await tempDir();
    await makeFiles(root, ['weights/w.bin']);
    const warnings: string[] = [];
    const entries = await collectLayerEntries(root, 'weights', ['weights'], IgnoreMatcher.fromPatterns(['weights']), (w) => warnings.push(w));
    expect(entries).toEqual([]);
    expect(warnings).toEqual(['Layer path weights is ignored by .kitignore', 'No files detected for layer weights']);
  });
});

describe('collectLayerEntries: file types, modes and symlinks', () => {
  it('reports permission bits plus setgid/sticky as the tar mode, and sizes', async () => {
    const root = await tempDir();
    await makeFiles(root, ['d/x.sh', 'd/y.txt']);
    await chmod(join(root, 'd/x.sh'), 0o750);
    await chmod(join(root, 'd/y.txt'), 0o604);
    await chmod(join(root, 'd'), 0o1755);
    const entries = await collectLayerEntries(root, 'd', ['d'], IgnoreMatcher.fromPatterns([]));
    expect(entries.map((e) => [e.name, e.mode.toString(8), e.size])).toEqual([
      ['d', '1755', 0],
      ['d/x.sh', '750', 6],
      ['d/y.txt', '604', 7],
    ]);
  });

  it('follows a symlink that is the layer path itself', async () => {
    const root = await tempDir();
    await makeFiles(root, ['v2/w.bin', 'v2/sub/c.json']);
    await symlink('v2', join(root, 'latest'));
    const entries = await collectLayerEntries(root, 'latest', ['latest'], IgnoreMatcher.fromPatterns([]));
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['latest', 'dir'],
      ['latest/sub', 'dir'],
      ['latest/sub/c.json', 'file'],
      ['latest/w.bin', 'file'],
    ]);
    const fileLink = await tempDir();
    await makeFiles(fileLink, ['real.bin']);
    await symlink('real.bin', join(fileLink, 'model.bin'));
    const single = await collectLayerEntries(fileLink, 'model.bin', ['model.bin'], IgnoreMatcher.fromPatterns([]));
    expect(single).toMatchObject([{ name: 'model.bin', type: 'file', size: 'real.bin'.length }]);
  });

  it('skips other symlinks with a warning naming them', async () => {
    const root = await tempDir();
    await makeFiles(root, ['m/w.bin', 'elsewhere/x']);
    await symlink('../elsewhere/x', join(root, 'm/link'));
    await symlink('/etc', join(root, 'm/abs-link'));
    const warnings: string[] = [];
    const entries = await collectLayerEntries(root, 'm', ['m'], IgnoreMatcher.fromPatterns([]), (w) => warnings.push(w));
    expect(entries.map((e) => e.name)).toEqual(['m', 'm/w.bin']);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('m/abs-link');
    expect(warnings[1]).toContain('m/link');
  });

  it('does not warn about symlinks that .kitignore ignores', async () => {
    const root = await tempDir();
    await makeFiles(root, ['m/w.bin']);
    await symlink('w.bin', join(root, 'm/link'));
    const warnings: string[] = [];
    await collectLayerEntries(root, 'm', ['m'], IgnoreMatcher.fromPatterns(['m/link']), (w) => warnings.push(w));
    expect(warnings).toEqual([]);
  });

  it('follows a symlinked context directory', async () => {
    const base = await tempDir();
    await makeFiles(base, ['real/a.txt']);
    await symlink('real', join(base, 'ctx'));
    const entries = await collectLayerEntries(join(base, 'ctx'), '.', ['.'], IgnoreMatcher.fromPatterns([]));
    expect(entries.map((e) => e.name)).toEqual(['a.txt']);
  });

  it.skipIf(process.platform === 'win32')('skips FIFOs with a warning', async () => {
    const root = await tempDir();
    await makeFiles(root, ['a.txt']);
    execFileSync('mkfifo', [join(root, 'pipe')]);
    const warnings: string[] = [];
    const entries = await collectLayerEntries(root, '.', ['.'], IgnoreMatcher.fromPatterns([]), (w) => warnings.push(w));
    expect(entries.map((e) => e.name)).toEqual(['a.txt']);
    expect(warnings).toEqual(['Skipping pipe: not a regular file or directory']);
  });

  it('warns "No files detected" for an empty layer and still returns its directories', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'empty/inner'), { recursive: true });
    const warnings: string[] = [];
    const entries = await collectLayerEntries(root, 'empty', ['empty'], IgnoreMatcher.fromPatterns([]), (w) => warnings.push(w));
    expect(entries.map((e) => e.name)).toEqual(['empty', 'empty/inner']);
    expect(warnings).toEqual(['No files detected for layer empty']);
  });
});

describe('collectLayerEntries: errors', () => {
  const none = IgnoreMatcher.fromPatterns([]);

  async function codeOf(p: Promise<unknown>): Promise<KitError> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(KitError);
    return e as KitError;
  }

  it('a missing layer path is NOT_FOUND and says what to do', async () => {
    const root = await tempDir();
    const e = await codeOf(collectLayerEntries(root, 'models/missing', ['models/missing'], none));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain('models/missing');
    expect(e.message).toContain('Kitfile');
    const dangling = await tempDir();
    await symlink('nowhere', join(dangling, 'm'));
    expect((await codeOf(collectLayerEntries(dangling, 'm', ['m'], none))).code).toBe('NOT_FOUND');
  });

  it('a path escaping the context is PATH_OUTSIDE_CONTEXT, also through a symlink', async () => {
    const base = await tempDir();
    await makeFiles(base, ['outside/secret.txt', 'ctx/in.txt']);
    const ctx = join(base, 'ctx');
    expect((await codeOf(collectLayerEntries(ctx, '../outside', ['../outside'], none))).code).toBe('PATH_OUTSIDE_CONTEXT');
    expect((await codeOf(collectLayerEntries(ctx, 'a/../../outside', ['a/../../outside'], none))).code).toBe('PATH_OUTSIDE_CONTEXT');
    expect((await codeOf(collectLayerEntries(ctx, '/etc', ['/etc'], none))).code).toBe('PATH_OUTSIDE_CONTEXT');
    await symlink('../outside', join(ctx, 'link'));
    const e = await codeOf(collectLayerEntries(ctx, 'link', ['link'], none));
    expect(e.code).toBe('PATH_OUTSIDE_CONTEXT');
    expect(e.message).toContain('link');
  });

  it('a missing context dir is NOT_FOUND', async () => {
    const base = await tempDir();
    expect((await codeOf(collectLayerEntries(join(base, 'nope'), '.', ['.'], none))).code).toBe('NOT_FOUND');
  });
});
