import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pack } from '../../src/modelkit/pack.js';
import { removeLocal } from '../../src/modelkit/repository.js';
import { EMPTY_CONFIG } from '../../src/referrers/artifact.js';
import { attachLocal, readLocalReferrer } from '../../src/referrers/local.js';
import { freshStore, tempDir, writeTree } from '../modelkit/fixtures.js';

async function packed() {
  const dir = await tempDir('kit-ref');
  await writeTree(dir, ['model.bin', 'README.md']);
  await writeFile(join(dir, 'Kitfile'), 'manifestVersion: 1.0.0\nmodel:\n  path: model.bin\ndocs:\n  - path: README.md\n');
  const { store } = await freshStore();
  const kit = await pack({ store, contextDir: dir, tags: ['r/kit:1'] });
  return { store, subject: kit.descriptor };
}

describe('referrers in the local store', () => {
  it('stores an OCI 1.1 artifact manifest pointing at its subject, listed by subject and in index.json', async () => {
    const { store, subject } = await packed();
    const sbom = Buffer.from('{"bomFormat":"CycloneDX"}');
    const referrer = await attachLocal(store, subject, { artifactType: 'application/vnd.cyclonedx+json', bytes: sbom, title: 'sbom.json', annotations: { 'x.kind': 'sbom' } });
    await attachLocal(store, subject, { artifactType: 'application/vnd.cyclonedx+json', bytes: sbom, title: 'sbom.json', annotations: { 'x.kind': 'sbom' } }); // idempotent

    expect(await store.referrers(subject.digest)).toEqual([{ ...referrer, annotations: { 'x.kind': 'sbom' } }]);
    expect(await store.referrers(subject.digest, 'application/other')).toEqual([]);
    const { manifest, payload } = await readLocalReferrer(store, referrer, subject.digest);
    expect(payload.equals(sbom)).toBe(true);
    expect(manifest.config).toEqual(EMPTY_CONFIG);
    expect(manifest.subject).toEqual({ mediaType: subject.mediaType, digest: subject.digest, size: subject.size });
    expect(manifest.layers[0]!.annotations).toEqual({ 'org.opencontainers.image.title': 'sbom.json' });
    const index = JSON.parse(readFileSync(join(store.root, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toContain(referrer.digest);
  });

  it('keeps referrers (and what refers to them) as long as their subject, and collects them with it', async () => {
    const { store, subject } = await packed();
    const sbom = await attachLocal(store, subject, { artifactType: 'application/spdx+json', bytes: Buffer.from('{"@graph":[]}') });
    const signature = await attachLocal(store, sbom, { artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json', bytes: Buffer.from('{"sig":1}') });
    const blob = (d: string) => join(store.root, 'blobs/sha256', d.slice(7));
    await store.gc();
    expect(existsSync(blob(sbom.digest))).toBe(true);
    expect(existsSync(blob(signature.digest))).toBe(true);

    await removeLocal(store, 'r/kit:1');
    expect(existsSync(blob(sbom.digest))).toBe(false);
    expect(existsSync(blob(signature.digest))).toBe(false);
    expect(existsSync(blob(EMPTY_CONFIG.digest))).toBe(false);
    expect(await store.referrers(subject.digest)).toEqual([]);
    expect(existsSync(join(store.root, 'referrers.json'))).toBe(false);
    const index = JSON.parse(readFileSync(join(store.root, 'index.json'), 'utf8'));
    expect(index.manifests).toEqual([]);
  });
});
