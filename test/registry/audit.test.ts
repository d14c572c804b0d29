// Audit end to end with the built `kit` and a real docker-registry (distribution 2.8.2, no
// referrers API, so the sha256-<hex> tag fallback is exercised): pack with an SBOM, sign, attest,
// push, pull into an empty store, verify; then tamper with a blob, a manifest and a tag in the
// registry's own storage and see each refused with its reason.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, kitIn, kitOk } from '../kit-cli.js';
import { startRegistry, type RegistryServer } from './harness.js';

const SLSA = 'https://slsa.dev/provenance/v1';
let registry: RegistryServer;
let home: string;
let keys: string;
let ref: string;
let digest: string;

beforeAll(async () => {
  registry = await startRegistry();
  home = await mkdtemp(join(tmpdir(), 'kit-audit-'));
  keys = await mkdtemp(join(tmpdir(), 'kit-audit-keys-'));
  ref = `${registry.host}/audit/sentiment:v1`;
  digest = (await kitOk(home, ['pack', EXAMPLE, '-t', ref, '--sbom'])).stdout.trim();
  await kitOk(home, ['keygen', '--output-key-prefix', join(keys, 'release')]);
  await kitOk(home, ['keygen', '--output-key-prefix', join(keys, 'other'), '--algorithm', 'ed25519']);
  await kitOk(home, ['sign', ref, '--key', join(keys, 'release.key')]);
  const predicate = join(keys, 'provenance.json');
  await writeFile(predicate, JSON.stringify({ buildDefinition: { buildType: 'https://example.com/runner/v1', externalParameters: {} }, runDetails: { builder: { id: 'https://example.com/runner' } } }));
  await kitOk(home, ['attest', ref, '--key', join(keys, 'release.key'), '--predicate', predicate, '--type', SLSA]);
  await kitOk(home, ['push', ref]);
});
afterAll(async () => {
  await registry?.stop();
});

async function policy(allowed: string[]): Promise<string> {
  const file = join(keys, `policy-${allowed.join('-')}.yaml`);
  await writeFile(file, `signers:\n  - name: release-team\n    key: release.pub\nlicenses:\n  allowed: [${allowed.join(', ')}]\nattestations:\n  - predicateType: ${SLSA}\n`);
  return file;
}

/** The registry's own copy of a blob or manifest (distribution stores both as blob data files). */
function registryBlobPath(blobDigest: string): string {
  const hex = blobDigest.slice('sha256:'.length);
  return join(registry.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

describe('kit sbom, sign, attest, push, pull --referrers and verify', () => {
  it('lists the SBOM, signature and attestation, pushes them, and pulls them into an empty store', async () => {
    const local = JSON.parse((await kitOk(home, ['referrers', ref, '--json'])).stdout);
    expect(local.subject).toBe(digest);
    expect(local.referrers.map((r: { artifactType: string }) => r.artifactType).sort()).toEqual([
      'application/vnd.cyclonedx+json',
      'application/vnd.dev.sigstore.bundle.v0.3+json',
      'application/vnd.dev.sigstore.bundle.v0.3+json',
    ]);
    const remote = JSON.parse((await kitOk(home, ['referrers', '-r', ref, '--json'])).stdout);
    expect(remote.referrers.map((r: { digest: string }) => r.digest).sort()).toEqual(local.referrers.map((r: { digest: string }) => r.digest).sort());

    const fresh = await mkdtemp(join(tmpdir(), 'kit-audit-fresh-'));
    const pulled = JSON.parse((await kitOk(fresh, ['pull', ref, '--referrers', '--json'])).stdout);
    expect(pulled.referrers).toBe(3);
    const verified = JSON.parse((await kitOk(fresh, ['verify', ref, '--key', join(keys, 'release.pub'), '--policy', await policy(['Apache-2.0', 'CC0-1.0']), '--json'])).stdout);
    expect(verified.digest).toBe(digest);
    expect(verified.signatures).toHaveLength(1);
    expect(verified.attestations.map((a: { predicateType: string }) => a.predicateType)).toEqual([SLSA]);
    expect(verified.blobs.checked).toBe(8); // the config and seven layers
    // The attached SBOM is the one `kit sbom` writes, byte for byte.
    const sbom = (await kitOk(fresh, ['sbom', ref])).stdout;
    expect(JSON.parse(sbom).bomFormat).toBe('CycloneDX');
    expect(sbom).toBe((await kitOk(home, ['sbom', '-r', ref])).stdout);
  });

  it('verifies in the registry, with a pinned digest and a policy', async () => {
    const r = await kitOk(home, ['verify', '-r', `${ref}@${digest}`, '--key', join(keys, 'release.pub'), '--policy', await policy(['Apache-2.0', 'CC0-1.0'])]);
    expect(r.stderr).toContain(`Verified ${ref}@${digest}`);
  });

  it('refuses a key that did not sign it, naming the key that did', async () => {
    const r = await kitIn(home, ['verify', '-r', ref, '--key', join(keys, 'other.pub'), '--skip-blobs']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/no valid signature by a trusted key: .*key/);
  });

  it('refuses a policy whose licenses the Kitfile breaks, naming the field', async () => {
    const r = await kitIn(home, ['verify', '-r', ref, '--policy', await policy(['Apache-2.0'])]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('datasets[0].license uses CC0-1.0, which is not an allowed license');
  });

  it('refuses a ModelKit with no signature', async () => {
    const other = `${registry.host}/audit/unsigned:v1`;
    await kitOk(home, ['pack', EXAMPLE, '-t', other, '--compression', 'gzip']);
    await kitOk(home, ['push', other]);
    const r = await kitIn(home, ['verify', '-r', other, '--key', join(keys, 'release.pub')]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('has no signature');
  });

  it('refuses a corrupted blob, in the registry and in a local store', async () => {
    const copy = `${registry.host}/audit/blob:v1`;
    const home2 = await mkdtemp(join(tmpdir(), 'kit-audit-blob-'));
    const packed = (await kitOk(home2, ['pack', EXAMPLE, '-t', copy, '--compression', 'zstd'])).stdout.trim();
    await kitOk(home2, ['sign', copy, '--key', join(keys, 'release.key')]);
    await kitOk(home2, ['push', copy]);
    const manifest = JSON.parse((await kitOk(home2, ['inspect', copy])).stdout).manifest;
    const code = manifest.layers.find((l: { mediaType: string }) => l.mediaType.includes('.code.'));
    const local = join(home2, 'storage/blobs/sha256', code.digest.slice(7));
    const bytes = readFileSync(local);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(registryBlobPath(code.digest), bytes);
    const remote = await kitIn(home2, ['verify', '-r', copy, '--key', join(keys, 'release.pub')]);
    expect(remote.code).not.toBe(0);
    expect(remote.stderr).toContain(code.digest);
    expect(remote.stderr).toContain('refused');

    writeFileSync(local, bytes);
    const stored = await kitIn(home2, ['verify', copy, '--key', join(keys, 'release.pub')]);
    expect(stored.code).not.toBe(0);
    expect(stored.stderr).toContain(`${code.digest} has digest`);
    expect(packed).toMatch(/^sha256:/);
  });

  it('refuses a tampered manifest and a moved tag', async () => {
    const moved = `${registry.host}/audit/moved:v1`;
    const home3 = await mkdtemp(join(tmpdir(), 'kit-audit-tag-'));
    const signed = (await kitOk(home3, ['pack', EXAMPLE, '-t', moved])).stdout.trim();
    await kitOk(home3, ['sign', moved, '--key', join(keys, 'release.key')]);
    await kitOk(home3, ['push', moved]);
    await kitOk(home3, ['verify', '-r', moved, '--key', join(keys, 'release.pub'), '--skip-blobs']);

    // The tag moves to another (unsigned) ModelKit.
    const unsigned = (await kitOk(home3, ['pack', EXAMPLE, '-t', `${moved}-b`, '--compression', 'gzip'])).stdout.trim();
    await kitOk(home3, ['push', `${moved}-b`, moved, '--no-referrers']);
    const pinned = await kitIn(home3, ['verify', '-r', `${moved}@${signed}`, '--key', join(keys, 'release.pub')]);
    expect(pinned.code).toBe(6);
    expect(pinned.stderr).toContain(`now points at ${unsigned}, not the approved ${signed}: the tag has moved`);
    const unpinned = await kitIn(home3, ['verify', '-r', moved, '--key', join(keys, 'release.pub')]);
    expect(unpinned.code).toBe(6);
    expect(unpinned.stderr).toContain('has no signature');

    // The signed manifest's bytes are changed in the registry's storage: refused by digest.
    const path = registryBlobPath(signed);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"schemaVersion":2', '"schemaVersion":2 '));
    const tampered = await kitIn(home3, ['verify', '-r', `${registry.host}/audit/moved@${signed}`, '--key', join(keys, 'release.pub')]);
    expect(tampered.code).not.toBe(0);
    expect(tampered.stderr).toMatch(/manifest .* has digest .*refused/);
    expect(readdirSync(keys)).toContain('release.pub');
  });
});
