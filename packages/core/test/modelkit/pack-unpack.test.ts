import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeTarHeader, padding, TAR_TRAILER } from '../../src/layers/tar-header.js';
import { pack } from '../../src/modelkit/pack.js';
import { unpack } from '../../src/modelkit/unpack.js';
import { inspectLocal, listModelKits } from '../../src/modelkit/inspect.js';
import { addManifestToRepository, removeLocal, tagLocal } from '../../src/modelkit/repository.js';
import { manifestToJson } from '../../src/modelkit/manifest-json.js';
import { parseFilter } from '../../src/modelkit/filter.js';
import { freshStore, tempDir, writeTree } from './fixtures.js';

const KITFILE = `manifestVersion: 1.0.0
package:
  name: demo
  authors: [Ada]
model:
  name: m
  path: model
  parts:
    - name: tok
      path: model/tokenizer.json
      type: tokenizer
datasets:
  - name: train
    path: data/train.csv
  - name: eval
    path: data/eval.csv
code:
  - path: src
docs:
  - path: README.md
`;

async function project(): Promise<string> {
  const dir = await tempDir('kit-proj');
  await writeTree(dir, ['model/weights.bin', 'model/tokenizer.json', 'data/train.csv', 'data/eval.csv', 'src/train.py', 'README.md']);
  await writeFile(join(dir, 'Kitfile'), KITFILE);
  await chmod(join(dir, 'src/train.py'), 0o755);
  return dir;
}

describe('pack', () => {
  it('is reproducible: same input, same manifest digest with SOURCE_DATE_EPOCH', async () => {
    const dir = await project();
    const { store } = await freshStore();
    const a = await pack({ store, contextDir: dir, sourceDateEpoch: '1700000000' });
    const { store: other } = await freshStore();
    const b = await pack({ store: other, contextDir: dir, sourceDateEpoch: '1700000000' });
    expect(a.descriptor.digest).toBe(b.descriptor.digest);
    expect(a.manifest.annotations?.['org.opencontainers.image.created']).toBe('2023-11-14T22:13:20Z');
  });

  it('writes KitOps media types, filepath annotations and digests into the config', async () => {
    const dir = await project();
    const { store } = await freshStore();
    const result = await pack({ store, contextDir: dir, tags: ['demo/kit:v1,latest'] });
    expect(result.manifest.layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.kitops.modelkit.model.v1.tar',
      'application/vnd.kitops.modelkit.modelpart.v1.tar',
      'application/vnd.kitops.modelkit.code.v1.tar',
      'application/vnd.kitops.modelkit.dataset.v1.tar',
      'application/vnd.kitops.modelkit.dataset.v1.tar',
      'application/vnd.kitops.modelkit.docs.v1.tar',
    ]);
    expect(result.manifest.layers.map((l) => l.annotations?.['org.cncf.model.filepath'])).toEqual(['model', 'model/tokenizer.json', 'src', 'data/train.csv', 'data/eval.csv', 'README.md']);
    const inspected = await inspectLocal(store, 'demo/kit:latest');
    expect(inspected.digest).toBe(result.descriptor.digest);
    expect(inspected.kitfile.model?.digest).toBe(result.manifest.layers[0]!.digest);
    expect(inspected.kitfile.model?.parts?.[0]?.diffId).toBe(result.manifest.layers[1]!.digest);
    const config = readFileSync(join(store.root, 'blobs/sha256', result.manifest.config.digest.slice(7)), 'utf8');
    expect(config.startsWith('{"manifestVersion":"1.0.0","package":{"name":"demo","authors":["Ada"]},"model":{"name":"m","path":"model","parts":[{"name":"tok"')).toBe(true);
    // The model layer does not swallow the part nested inside it.
    const listing = await listModelKits(store);
    expect(listing).toHaveLength(1);
    expect(listing[0]).toMatchObject({ repo: 'localhost/demo/kit', tags: ['latest', 'v1'], modelName: 'demo', author: 'Ada' });
  });

  it('compresses with gzip and zstd and unpacks both back to the same files', async () => {
    const dir = await project();
    for (const compression of ['gzip', 'gzip-fastest', 'zstd'] as const) {
      const { store } = await freshStore();
      const result = await pack({ store, contextDir: dir, compression, tags: ['c/k:1'] });
      const suffix = compression === 'zstd' ? '+zstd' : '+gzip';
      expect(result.manifest.layers[0]!.mediaType).toBe(`application/vnd.kitops.modelkit.model.v1.tar${suffix}`);
      const cfg = await inspectLocal(store, 'c/k:1');
      expect(cfg.kitfile.model?.diffId).not.toBe(cfg.kitfile.model?.digest);
      const out = await tempDir('kit-out');
      await unpack({ store, reference: 'c/k:1', dir: out });
      expect(readFileSync(join(out, 'model/weights.bin'), 'utf8')).toBe('model/weights.bin');
      expect((await stat(join(out, 'src/train.py'))).mode & 0o777).toBe(0o755);
    }
  });

  it('writes ModelPack with raw single-file weights and reads it back', async () => {
    const dir = await tempDir('kit-mp');
    await writeTree(dir, ['weights.safetensors', 'config.json', 'README.md']);
    await writeFile(join(dir, 'Kitfile'), 'manifestVersion: 1.0.0\npackage:\n  name: mp\nmodel:\n  path: weights.safetensors\n  format: safetensors\n  parts:\n    - path: config.json\ndocs:\n  - path: README.md\n');
    const { store } = await freshStore();
    const result = await pack({ store, contextDir: dir, modelPack: true, tags: ['mp/k:1'], sourceDateEpoch: '0' });
    expect(result.manifest.artifactType).toBe('application/vnd.cncf.model.manifest.v1+json');
    expect(result.manifest.config.mediaType).toBe('application/vnd.cncf.model.config.v1+json');
    expect(result.manifest.layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.cncf.model.weight.v1.raw',
      'application/vnd.cncf.model.weight.config.v1.raw',
      'application/vnd.cncf.model.doc.v1.tar',
    ]);
    expect(result.manifest.annotations?.['ml.kitops.modelkit.kitfile']).toContain('"weights.safetensors"');
    const out = await tempDir('kit-out');
    await unpack({ store, reference: 'mp/k:1', dir: out });
    expect(readFileSync(join(out, 'weights.safetensors'), 'utf8')).toBe('weights.safetensors');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe('README.md');
  });

  it('refuses a layer path that escapes the context through a symlink', async () => {
    const dir = await tempDir('kit-esc');
    const outside = await tempDir('kit-outside');
    await writeTree(outside, ['secret.txt']);
    await symlink(outside, join(dir, 'model'));
    await writeFile(join(dir, 'Kitfile'), 'manifestVersion: 1.0.0\nmodel:\n  path: model\n');
    const { store } = await freshStore();
    await expect(pack({ store, contextDir: dir })).rejects.toMatchObject({ code: 'PATH_OUTSIDE_CONTEXT' });
  });
});

describe('unpack', () => {
  it('selects layers with filters, including by name', async () => {
    const dir = await project();
    const { store } = await freshStore();
    await pack({ store, contextDir: dir, tags: ['f/k:1'] });
    const out = await tempDir('kit-out');
    await unpack({ store, reference: 'f/k:1', dir: out, filters: [parseFilter('datasets:eval'), parseFilter('model')] });
    expect(existsSync(join(out, 'data/eval.csv'))).toBe(true);
    expect(existsSync(join(out, 'data/train.csv'))).toBe(false);
    expect(existsSync(join(out, 'model/weights.bin'))).toBe(true);
    expect(existsSync(join(out, 'model/tokenizer.json'))).toBe(true);
    expect(existsSync(join(out, 'src'))).toBe(false);
    expect(existsSync(join(out, 'Kitfile'))).toBe(false);
  });

  it('refuses to overwrite existing files unless asked, and writes nothing when it refuses', async () => {
    const dir = await project();
    const { store } = await freshStore();
    await pack({ store, contextDir: dir, tags: ['o/k:1'] });
    const out = await tempDir('kit-out');
    await writeTree(out, ['README.md'], () => 'mine');
    await expect(unpack({ store, reference: 'o/k:1', dir: out })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(readdirSync(out).sort()).toEqual(['README.md']);
    await unpack({ store, reference: 'o/k:1', dir: out, existing: 'skip' });
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe('mine');
    expect(existsSync(join(out, 'model/weights.bin'))).toBe(true);
    await unpack({ store, reference: 'o/k:1', dir: out, existing: 'overwrite' });
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe('README.md');
  });

  for (const [where, offset] of [['file data', 1030], ['a tar header', 600]] as const) {
    it(`refuses a blob corrupted in ${where} before anything is written`, async () => {
      const dir = await project();
      const { store } = await freshStore();
      const result = await pack({ store, contextDir: dir, tags: ['x/k:1'] });
      const blob = join(store.root, 'blobs/sha256', result.manifest.layers[0]!.digest.slice(7));
      const bytes = await readFile(blob);
      bytes[offset] = bytes[offset]! ^ 0xff;
      await writeFile(blob, bytes);
      const out = await tempDir('kit-out');
      await expect(unpack({ store, reference: 'x/k:1', dir: out })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
      expect(readdirSync(out)).toEqual([]);
    });
  }

  for (const [label, name, type] of [
    ['a parent-directory entry', '../escaped.txt', 'file'],
    ['an absolute entry', '/tmp/kit-absolute-escape.txt', 'file'],
    ['a symlink entry', 'link', 'symlink'],
  ] as const) {
    it(`refuses ${label} with nothing written outside the target`, async () => {
      const { store } = await freshStore();
      const layerBytes = hostileTar(name, type);
      const lease = await store.lease();
      const layer = await store.putBytes(layerBytes, lease);
      const config = await store.putBytes(Buffer.from('{"manifestVersion":"1.0.0","package":{},"code":[{"path":"."}]}'), lease);
      const manifest = manifestToJson({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.kitops.modelkit.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.kitops.modelkit.code.v1.tar', ...layer }],
      });
      const stored = await store.putBytes(Buffer.from(manifest), lease);
      await addManifestToRepository(store, 'localhost/evil/kit', { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...stored }, ['v1']);
      await lease.release();
      const parent = await tempDir('kit-parent');
      const out = join(parent, 'out');
      await expect(unpack({ store, reference: 'evil/kit:v1', dir: out })).rejects.toMatchObject({ code: 'UNSAFE_ARCHIVE' });
      expect(readdirSync(parent)).toEqual(['out']);
      expect(readdirSync(out)).toEqual([]);
      expect(existsSync('/tmp/kit-absolute-escape.txt')).toBe(false);
    });
  }
});

describe('local store', () => {
  it('tags across repositories and removes with garbage collection of unshared blobs only', async () => {
    const dir = await project();
    const { store } = await freshStore();
    const a = await pack({ store, contextDir: dir, tags: ['g/a:1'] });
    await tagLocal(store, 'g/a:1', 'g/b:1');
    await writeFile(join(dir, 'README.md'), 'changed');
    const c = await pack({ store, contextDir: dir, tags: ['g/c:1'] });
    const blobs = () => readdirSync(join(store.root, 'blobs/sha256')).length;
    const before = blobs();
    // g/a and g/b share the manifest: removing one keeps every blob.
    await removeLocal(store, 'g/a:1');
    expect(blobs()).toBe(before);
    const result = await removeLocal(store, 'g/b:1');
    // Only the old docs layer, the old config and the old manifest were unique to that kit.
    expect(result.removedBlobs).toBe(3);
    expect(existsSync(join(store.root, 'blobs/sha256', a.descriptor.digest.slice(7)))).toBe(false);
    expect(existsSync(join(store.root, 'blobs/sha256', c.manifest.layers[0]!.digest.slice(7)))).toBe(true);
    await expect(inspectLocal(store, 'g/a:1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The layout's index.json lists what is left, tagged for generic OCI tools.
    const index = JSON.parse(readFileSync(join(store.root, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'])).toEqual(['localhost/g/c:1']);
  });

  it('keeps per-repository index and tag files named as upstream kit names them', async () => {
    const dir = await project();
    const { store } = await freshStore();
    await pack({ store, contextDir: dir });
    expect(existsSync(join(store.root, 'bG9jYWxob3N0L18=-index.json'))).toBe(true);
    await pack({ store, contextDir: dir, tags: ['ghcr.io/org/model:v1'] });
    const tags = JSON.parse(readFileSync(join(store.root, 'Z2hjci5pby9vcmcvbW9kZWw=-tags.json'), 'utf8'));
    expect(Object.keys(tags)).toEqual(['v1']);
  });
});

function hostileTar(name: string, type: 'file' | 'symlink'): Buffer {
  if (type === 'file') return rewriteName(name, Buffer.from('pwned'));
  const header = encodeTarHeader({ name, type: 'file', mode: 0o777, size: 0 });
  header[156] = 0x32; // symlink
  header.write('/etc/passwd', 157, 'latin1');
  fixChecksum(header);
  return Buffer.concat([header, TAR_TRAILER]);
}

function rewriteName(name: string, body: Buffer): Buffer {
  const header = encodeTarHeader({ name: 'x', type: 'file', mode: 0o644, size: body.length });
  header.fill(0, 0, 100);
  header.write(name, 0, 'latin1');
  fixChecksum(header);
  return Buffer.concat([header, body, Buffer.alloc(padding(body.length)), TAR_TRAILER]);
}

function fixChecksum(header: Buffer): void {
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
}
