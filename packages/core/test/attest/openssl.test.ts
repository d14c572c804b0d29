// Independent checks with the openssl CLI: our signatures verify with openssl, openssl's keys and
// signatures verify with us. openssl is required; a missing one fails these tests, never skips.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inTotoStatement,
  keyId,
  loadPrivateKey,
  loadPublicKey,
  signMessage,
  signStatement,
  verifyBundle,
} from '../../src/attest/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kit-openssl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** openssl's verdict; a failed verification exits non-zero, which is a verdict, not an error. */
function opensslVerifies(...args: string[]): boolean {
  try {
    return /Verified OK|Signature Verified Successfully/.test(openssl(...args));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw e;
    return false;
  }
}

const MANIFEST = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}');
const MANIFEST_HEX = createHash('sha256').update(MANIFEST).digest('hex');
const STATEMENT = inTotoStatement([{ name: 'model', digest: { sha256: MANIFEST_HEX } }], 'https://example.com/predicate/v1', {
  ok: true,
});

/** A P-256 or Ed25519 key made by `openssl genpkey`, with its public half by `openssl pkey -pubout`. */
function opensslKey(name: string, algorithm: 'EC' | 'ED25519'): { key: string; pub: string } {
  const key = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  const curve = algorithm === 'EC' ? ['-pkeyopt', 'ec_paramgen_curve:P-256'] : [];
  openssl('genpkey', '-algorithm', algorithm, ...curve, '-out', key);
  openssl('pkey', '-in', key, '-pubout', '-out', pub);
  return { key, pub };
}

/** DSSE v1 PAE written out from the spec, independently of src/attest/dsse.ts. */
function pae(type: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `), payload]);
}

it('openssl is installed', () => {
  expect(openssl('version')).toMatch(/^OpenSSL /);
});

describe('our bundles verify with openssl', () => {
  it('ECDSA message signature: openssl dgst -sha256 -verify', async () => {
    const { key, pub } = opensslKey('ec-msg', 'EC');
    const bundle = JSON.parse(signMessage(MANIFEST, await loadPrivateKey(key)).toString());
    const message = join(dir, 'manifest.json');
    const sig = join(dir, 'ec-msg.sig.der');
    await writeFile(message, MANIFEST);
    await writeFile(sig, Buffer.from(bundle.messageSignature.signature, 'base64'));
    expect(opensslVerifies('dgst', '-sha256', '-verify', pub, '-signature', sig, message)).toBe(true);
    // The digest the bundle records is the one openssl computes.
    expect(openssl('dgst', '-sha256', '-r', message).split(' ')[0]).toBe(
      Buffer.from(bundle.messageSignature.messageDigest.digest, 'base64').toString('hex'),
    );
    const tampered = join(dir, 'tampered.json');
    await writeFile(tampered, Buffer.concat([MANIFEST, Buffer.from(' ')]));
    expect(opensslVerifies('dgst', '-sha256', '-verify', pub, '-signature', sig, tampered)).toBe(false);
  });

  it('Ed25519 message signature: openssl pkeyutl -verify -rawin', async () => {
    const { key, pub } = opensslKey('ed-msg', 'ED25519');
    const bundle = JSON.parse(signMessage(MANIFEST, await loadPrivateKey(key)).toString());
    const message = join(dir, 'manifest-ed.json');
    const sig = join(dir, 'ed-msg.sig');
    await writeFile(message, MANIFEST);
    await writeFile(sig, Buffer.from(bundle.messageSignature.signature, 'base64'));
    expect(opensslVerifies('pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', message, '-sigfile', sig)).toBe(true);
  });

  it('ECDSA DSSE envelope: the signature covers the PAE', async () => {
    const { key, pub } = opensslKey('ec-dsse', 'EC');
    const bundle = JSON.parse(signStatement(STATEMENT, await loadPrivateKey(key)).toString());
    const envelope = bundle.dsseEnvelope;
    const signed = join(dir, 'pae.bin');
    const sig = join(dir, 'ec-dsse.sig.der');
    await writeFile(signed, pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64')));
    await writeFile(sig, Buffer.from(envelope.signatures[0].sig, 'base64'));
    expect(opensslVerifies('dgst', '-sha256', '-verify', pub, '-signature', sig, signed)).toBe(true);
  });
});

describe('openssl keys and signatures verify with us', () => {
  for (const algorithm of ['EC', 'ED25519'] as const) {
    it(`${algorithm}: keys from openssl genpkey sign and verify both content types`, async () => {
      const { key, pub } = opensslKey(`gen-${algorithm}`, algorithm);
      const privateKey = await loadPrivateKey(key);
      const publicKey = await loadPublicKey(pub);
      const der = join(dir, `gen-${algorithm}.der`);
      openssl('pkey', '-pubin', '-in', pub, '-outform', 'DER', '-out', der);
      expect(keyId(publicKey)).toBe(createHash('sha256').update(await readFile(der)).digest('hex'));

      expect(verifyBundle(signMessage(MANIFEST, privateKey), [publicKey], MANIFEST)).toMatchObject({
        keyId: keyId(publicKey),
        messageDigest: MANIFEST_HEX,
      });
      expect(verifyBundle(signStatement(STATEMENT, privateKey), [publicKey]).statement).toEqual(STATEMENT);
    });

    it(`${algorithm}: a bundle assembled by hand from an openssl signature, as spec/signatures.md describes`, async () => {
      const { key, pub } = opensslKey(`ext-${algorithm}`, algorithm);
      const message = join(dir, `ext-${algorithm}.json`);
      const sig = join(dir, `ext-${algorithm}.sig`);
      await writeFile(message, MANIFEST);
      if (algorithm === 'EC') openssl('dgst', '-sha256', '-sign', key, '-out', sig, message);
      else openssl('pkeyutl', '-sign', '-inkey', key, '-rawin', '-in', message, '-out', sig);
      const der = join(dir, `ext-${algorithm}.der`);
      openssl('pkey', '-pubin', '-in', pub, '-outform', 'DER', '-out', der);
      const hint = createHash('sha256').update(await readFile(der)).digest('hex');
      const bundle = {
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: { publicKey: { hint }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
        messageSignature: {
          messageDigest: { algorithm: 'SHA2_256', digest: Buffer.from(MANIFEST_HEX, 'hex').toString('base64') },
          signature: (await readFile(sig)).toString('base64'),
        },
      };
      const verified = verifyBundle(Buffer.from(JSON.stringify(bundle)), [await loadPublicKey(pub)], MANIFEST);
      expect(verified).toEqual({ keyId: hint, content: 'message-signature', messageDigest: MANIFEST_HEX });
    });
  }
});
