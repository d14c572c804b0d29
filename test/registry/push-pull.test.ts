// Push, pull and selective pull through our client against a real distribution 2.8.2 on 127.0.0.1,
// with faults injected by a proxy, and interop with skopeo both ways.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore, pack, parseFilter, removeLocal, resolveLocal, unpack } from '@modelkit/core';
import { FileUploadJournal, pullModelKit, pushModelKit, RemoteRepository, Transport, uploadKey } from '@modelkit/registry';
import { skopeo, startFaultProxy, startRegistry, type RegistryServer } from './harness.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const EXAMPLE = join(ROOT, 'examples/sentiment');
let registry: RegistryServer;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  registry = await startRegistry();
  closers.push(() => registry.stop());
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
});

async function store(): Promise<LocalStore> {
  return LocalStore.open(await mkdtemp(join(tmpdir(), 'kit-reg-')));
}

function remote(host: string, name: string, retries?: number): RemoteRepository {
  const transport = new Transport(host, { plainHttp: true, retries, maxBackoffSeconds: 0.2 });
  closers.push(() => transport.close());
  return new RemoteRepository(transport, name);
}

describe('push and pull against docker-registry', () => {
  it('round-trips pack → push → remove → pull → unpack with identical digests and files', async () => {
    const s = await store();
    const packed = await pack({ store: s, contextDir: EXAMPLE, tags: [`${registry.host}/demo/sentiment:v1`] });
    const repo = remote(registry.host, 'demo/sentiment');
    const pushed = await pushModelKit({ store: s, source: `${registry.host}/demo/sentiment:v1`, repository: repo, tags: ['v1', 'latest'] });
    expect(pushed.digest).toBe(packed.descriptor.digest);
    expect(await repo.listTags()).toEqual(['latest', 'v1']);

    await removeLocal(s, `${registry.host}/demo/sentiment:v1`, { force: true });
    const pulled = await pullModelKit({ store: s, repository: repo, reference: 'v1' });
    expect(pulled.descriptor.digest).toBe(packed.descriptor.digest);
    const out = await mkdtemp(join(tmpdir(), 'kit-reg-out-'));
    await unpack({ store: s, reference: `${registry.host}/demo/sentiment:v1`, dir: out });
    expect(readFileSync(join(out, 'model/sentiment.safetensors')).equals(readFileSync(join(EXAMPLE, 'model/sentiment.safetensors')))).toBe(true);

    // A second push moves nothing; a push to a sibling repository mounts instead of uploading.
    const again: string[] = [];
    await pushModelKit({ store: s, source: `${registry.host}/demo/sentiment:v1`, repository: repo, tags: ['v1'], onBlob: (e) => again.push(e.outcome) });
    expect(new Set(again)).toEqual(new Set(['exists']));
    const sibling: string[] = [];
    await pushModelKit({ store: s, source: `${registry.host}/demo/sentiment:v1`, repository: remote(registry.host, 'demo/copy'), tags: ['v1'], mountFrom: ['demo/sentiment'], onBlob: (e) => sibling.push(e.outcome) });
    expect(new Set(sibling)).toEqual(new Set(['mounted']));
  });

  it('pulls only the layers a filter selects', async () => {
    const s = await store();
    await pack({ store: s, contextDir: EXAMPLE, tags: [`${registry.host}/demo/filtered:v1`] });
    await pushModelKit({ store: s, source: `${registry.host}/demo/filtered:v1`, repository: remote(registry.host, 'demo/filtered'), tags: ['v1'] });
    const fresh = await store();
    const kit = await resolveLocal(s, `${registry.host}/demo/filtered:v1`);
    const modelBytes = kit.manifest.layers.filter((l) => /model\.v1|modelpart\.v1/.test(l.mediaType)).reduce((n, l) => n + l.size, 0);
    const result = await pullModelKit({ store: fresh, repository: remote(registry.host, 'demo/filtered'), reference: 'v1', filters: [parseFilter('model')] });
    expect(result.bytesDownloaded).toBe(modelBytes + kit.manifest.config.size);
    expect(result.layersSkipped).toBe(kit.manifest.layers.length - 2);
    const out = await mkdtemp(join(tmpdir(), 'kit-reg-model-'));
    await unpack({ store: fresh, reference: `${registry.host}/demo/filtered:v1`, dir: out, filters: [parseFilter('model')] });
    expect(readFileSync(join(out, 'model/vocab.json')).length).toBeGreaterThan(0);
  });

  it('finishes push and pull through a proxy that cuts connections and answers 500 and 429', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kit-big-'));
    const handle = await open(join(dir, 'weights.bin'), 'w');
    const block = createHash('sha512').update('seed').digest();
    for (let i = 0; i < 8192; i++) await handle.write(block); // 512 KiB, several reads
    await handle.close();
    await writeFile(join(dir, 'Kitfile'), 'manifestVersion: 1.0.0\nmodel:\n  path: weights.bin\n');
    const s = await store();
    const packed = await pack({ store: s, contextDir: dir, tags: ['faulty/kit:v1'] });

    const flaky = await startFaultProxy(registry.url.replace(/^http:\/\//, ''), { failEvery: 2, failTimes: 3, status: 500, match: (m) => m === 'PUT' || m === 'HEAD' });
    closers.push(() => flaky.stop());
    await pushModelKit({ store: s, source: 'faulty/kit:v1', repository: remote(flaky.host, 'demo/faulty'), tags: ['v1'] });
    expect(flaky.stats.faulted).toBeGreaterThan(0);

    const throttled = await startFaultProxy(registry.url.replace(/^http:\/\//, ''), { failEvery: 1, failTimes: 2, status: 429, retryAfter: 0, match: (m, p) => m === 'GET' && p.includes('/manifests/') });
    closers.push(() => throttled.stop());
    const cutter = await startFaultProxy(registry.url.replace(/^http:\/\//, ''), { cutAfterBytes: 100_000, cutTimes: 2, match: (m, p) => m === 'GET' && p.includes('/blobs/') });
    closers.push(() => cutter.stop());
    const fresh = await store();
    await pullModelKit({ store: fresh, repository: remote(throttled.host, 'demo/faulty'), reference: 'v1' });
    const fresh2 = await store();
    const pulled = await pullModelKit({ store: fresh2, repository: remote(cutter.host, 'demo/faulty'), reference: 'v1' });
    expect(pulled.descriptor.digest).toBe(packed.descriptor.digest);
    expect(cutter.stats.cut).toBeGreaterThan(0);
    const layer = packed.manifest.layers[0]!;
    expect(createHash('sha256').update(await readFile(join(fresh2.root, 'blobs/sha256', layer.digest.slice(7)))).digest('hex')).toBe(layer.digest.slice(7));
  });

  it('interoperates with skopeo both ways', async () => {
    const s = await store();
    const packed = await pack({ store: s, contextDir: EXAMPLE, tags: ['interop/kit:v1'] });
    await pushModelKit({ store: s, source: 'interop/kit:v1', repository: remote(registry.host, 'demo/interop'), tags: ['v1'] });
    // Ours → skopeo: copy to an OCI layout, same manifest digest.
    const layout = await mkdtemp(join(tmpdir(), 'skopeo-layout-'));
    await skopeo(['copy', '--src-tls-verify=false', `docker://${registry.host}/demo/interop:v1`, `oci:${layout}:v1`]);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(packed.descriptor.digest);
    // skopeo → ours: skopeo pushes that layout elsewhere; we pull it and get the same ModelKit.
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${registry.host}/demo/from-skopeo:v1`]);
    const fresh = await store();
    const pulled = await pullModelKit({ store: fresh, repository: remote(registry.host, 'demo/from-skopeo'), reference: 'v1' });
    expect(pulled.descriptor.digest).toBe(packed.descriptor.digest);
    const out = await mkdtemp(join(tmpdir(), 'kit-skopeo-out-'));
    await unpack({ store: fresh, reference: `${registry.host}/demo/from-skopeo:v1`, dir: out });
    expect(readFileSync(join(out, 'data/train.csv'), 'utf8')).toBe(readFileSync(join(EXAMPLE, 'data/train.csv'), 'utf8'));
  });
});

describe('referrers', () => {
  it('attaches a manifest to a ModelKit and finds it through the tag fallback (distribution 2.8.2 has no API)', async () => {
    const { pushReferrer } = await import('@modelkit/registry');
    const s = await store();
    const packed = await pack({ store: s, contextDir: EXAMPLE, tags: ['ref/kit:v1'] });
    const repo = remote(registry.host, 'demo/referred');
    await pushModelKit({ store: s, source: 'ref/kit:v1', repository: repo, tags: ['v1'] });
    const sbom = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
    const sbomDigest = `sha256:${createHash('sha256').update(sbom).digest('hex')}`;
    await repo.pushBlob({ digest: sbomDigest, size: sbom.length }, () => [sbom] as unknown as AsyncIterable<Buffer>);
    const empty = Buffer.from('{}');
    await repo.pushBlob({ digest: `sha256:${createHash('sha256').update(empty).digest('hex')}`, size: 2 }, () => [empty] as unknown as AsyncIterable<Buffer>);
    const referrer = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 },
      layers: [{ mediaType: 'application/spdx+json', digest: sbomDigest, size: sbom.length }],
      subject: { mediaType: packed.descriptor.mediaType, digest: packed.descriptor.digest, size: packed.descriptor.size },
    }));
    const attached = await pushReferrer(repo, referrer);
    await pushReferrer(repo, referrer); // idempotent
    const found = await repo.referrers(packed.descriptor.digest);
    expect(found).toEqual([expect.objectContaining({ digest: attached.digest, artifactType: 'application/spdx+json' })]);
    expect(await repo.referrers(packed.descriptor.digest, 'application/other')).toEqual([]);
  });
});

describe('resuming a chunked upload in a new process', () => {
  it('goes on from the journaled upload session instead of starting over', async () => {
    const blob = createHash('sha256').update('seed').digest();
    const bytes = Buffer.concat(Array.from({ length: 4096 }, (_, i) => createHash('sha256').update(blob).update(String(i)).digest())); // 128 KiB
    const desc = { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
    const chunkSize = 16 << 10;
    const journal = new FileUploadJournal(await mkdtemp(join(tmpdir(), 'kit-journal-')));
    const watched = await startFaultProxy(registry.host);
    closers.push(() => watched.stop());
    const repo = remote(watched.host, 'demo/resumed', 1);

    // The first "process" dies (its source fails) once five chunks are in.
    const dying = (offset: number) => (async function* () {
      if (offset >= 5 * chunkSize) throw Object.assign(new Error('killed'), { code: 'EKILLED' });
      yield bytes.subarray(offset);
    })();
    await expect(repo.pushBlob(desc, dying, { mode: 'chunked', chunkSize, journal })).rejects.toThrow();
    expect(await journal.recall(uploadKey(watched.host, 'demo/resumed', desc.digest))).toBeDefined();

    watched.reset();
    const offsets: number[] = [];
    const healthy = (offset: number) => (async function* () {
      offsets.push(offset);
      yield bytes.subarray(offset);
    })();
    expect(await repo.pushBlob(desc, healthy, { mode: 'chunked', chunkSize, journal })).toBe('uploaded');
    expect(offsets[0]).toBe(5 * chunkSize); // nothing before the interruption was sent again
    expect(watched.stats.log.filter((e) => e.method === 'PATCH')).toHaveLength(3);
    expect(watched.stats.log.some((e) => e.method === 'POST')).toBe(false);
    expect(await journal.recall(uploadKey(watched.host, 'demo/resumed', desc.digest))).toBeUndefined();
    expect(Buffer.from(await repo.fetchBlobBytes(desc, 1 << 20)).equals(bytes)).toBe(true);
  });

  it('starts over when the journaled session is gone', async () => {
    const bytes = Buffer.alloc(40 << 10, 7);
    const desc = { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
    const journal = new FileUploadJournal(await mkdtemp(join(tmpdir(), 'kit-journal-')));
    await journal.remember(uploadKey(registry.host, 'demo/stale', desc.digest), `http://${registry.host}/v2/demo/stale/blobs/uploads/00000000-0000-0000-0000-000000000000?_state=bogus`);
    const repo = remote(registry.host, 'demo/stale', 1);
    expect(await repo.pushBlob(desc, (o) => [bytes.subarray(o)], { mode: 'chunked', chunkSize: 16 << 10, journal })).toBe('uploaded');
    expect(await repo.blobExists(desc.digest)).toBe(true);
  });
});

describe('pack straight to a registry', () => {
  it('starts a failed streamed layer over and still pushes the same ModelKit', async () => {
    const { packToRegistry } = await import('@modelkit/registry');
    const flaky = await startFaultProxy(registry.url.replace(/^http:\/\//, ''), { failEvery: 1, failTimes: 2, status: 500, match: (m) => m === 'PATCH' });
    closers.push(() => flaky.stop());
    const s = await store();
    let faulted = 0;
    for (const compression of ['none', 'gzip'] as const) {
      const built = await packToRegistry({ store: s, contextDir: EXAMPLE, repository: remote(flaky.host, `demo/streamed-${compression}`), tags: ['v1'], compression, sourceDateEpoch: '0' });
      const local = await pack({ store: s, contextDir: EXAMPLE, tags: [`local/${compression}:v1`], compression, sourceDateEpoch: '0' });
      expect(built.descriptor.digest).toBe(local.descriptor.digest);
      faulted += flaky.stats.faulted;
      flaky.reset();
    }
    expect(faulted).toBe(4); // two failed PATCHes per pack, each started over
  });
});

describe('indexes', () => {
  it('pulls every ModelKit an index lists, and unpack picks one by digest', async () => {
    const { listModelKits } = await import('@modelkit/core');
    const s = await store();
    const repo = remote(registry.host, 'demo/variants');
    const a = await pack({ store: s, contextDir: EXAMPLE, tags: ['v/a:1'], compression: 'none' });
    const b = await pack({ store: s, contextDir: EXAMPLE, tags: ['v/b:1'], compression: 'gzip' });
    await pushModelKit({ store: s, source: 'v/a:1', repository: repo, tags: [] });
    await pushModelKit({ store: s, source: 'v/b:1', repository: repo, tags: [] });
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      artifactType: 'application/vnd.kitops.modelkit.index.v1+json',
      manifests: [a.descriptor, b.descriptor].map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })),
    }));
    await repo.pushManifest('all', index, 'application/vnd.oci.image.index.v1+json');

    const fresh = await store();
    await pullModelKit({ store: fresh, repository: repo, reference: 'all' });
    const rows = await listModelKits(fresh);
    expect(rows.map((r) => r.digest).sort()).toEqual([a.descriptor.digest, b.descriptor.digest].sort());
    await expect(unpack({ store: fresh, reference: `${registry.host}/demo/variants:all`, dir: await mkdtemp(join(tmpdir(), 'kit-idx-')) })).rejects.toMatchObject({ code: 'FORMAT_UNSUPPORTED' });
    const out = await mkdtemp(join(tmpdir(), 'kit-idx-b-'));
    await unpack({ store: fresh, reference: `${registry.host}/demo/variants@${b.descriptor.digest}`, dir: out });
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe(readFileSync(join(EXAMPLE, 'README.md'), 'utf8'));
  });
});
