import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import { generateKeyPair, keyId, loadPrivateKey, loadPublicKey, writeKeyPair } from '../../src/attest/index.js';
import { rejection } from '../helpers/caught.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kit-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('generateKeyPair', () => {
  it('defaults to ECDSA P-256 in PKCS#8 / SPKI PEM', () => {
    const pair = generateKeyPair();
    expect(pair.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pair.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const key = createPrivateKey(pair.privateKey);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('makes Ed25519 keys', () => {
    const pair = generateKeyPair('ed25519');
    expect(createPublicKey(pair.publicKey).asymmetricKeyType).toBe('ed25519');
  });
});

describe('keyId', () => {
  it('is the hex SHA-256 of the SPKI DER, the same from either half', async () => {
    const pair = generateKeyPair();
    const pub = join(dir, 'id.pub');
    await writeFile(pub, pair.publicKey);
    // Independent: openssl's DER of the public key, hashed by openssl.
    const der = join(dir, 'id.der');
    openssl('pkey', '-pubin', '-in', pub, '-outform', 'DER', '-out', der);
    const expected = openssl('dgst', '-sha256', '-r', der).split(' ')[0];
    expect(keyId(createPublicKey(pair.publicKey))).toBe(expected);
    expect(keyId(createPrivateKey(pair.privateKey))).toBe(expected);
  });
});

describe('writeKeyPair', () => {
  it('writes <prefix>.key with mode 0600 and <prefix>.pub', async () => {
    const pair = generateKeyPair();
    const paths = await writeKeyPair(join(dir, 'w1'), pair);
    expect(paths).toEqual({ privateKeyPath: join(dir, 'w1.key'), publicKeyPath: join(dir, 'w1.pub') });
    expect((await stat(paths.privateKeyPath)).mode & 0o777).toBe(0o600);
    expect(await readFile(paths.privateKeyPath, 'utf8')).toBe(pair.privateKey);
    expect(await readFile(paths.publicKeyPath, 'utf8')).toBe(pair.publicKey);
  });

  it('refuses when either file exists, naming it, and overwrites with force', async () => {
    const prefix = join(dir, 'w2');
    await writeKeyPair(prefix, generateKeyPair());
    const err = await rejection(writeKeyPair(prefix, generateKeyPair()));
    expect(err.code).toBe('ALREADY_EXISTS');
    expect(err.message).toContain(`${prefix}.key`);

    const onlyPub = join(dir, 'w3');
    await writeFile(`${onlyPub}.pub`, 'x');
    const err2 = await rejection(writeKeyPair(onlyPub, generateKeyPair()));
    expect(err2.code).toBe('ALREADY_EXISTS');
    expect(err2.message).toContain(`${onlyPub}.pub`);

    const fresh = generateKeyPair('ed25519');
    await writeKeyPair(prefix, fresh, { force: true });
    expect(await readFile(`${prefix}.key`, 'utf8')).toBe(fresh.privateKey);
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
  });

  it('refuses a pair whose halves do not match', async () => {
    const mixed = { privateKey: generateKeyPair().privateKey, publicKey: generateKeyPair().publicKey };
    const err = await rejection(writeKeyPair(join(dir, 'w4'), mixed));
    expect(err.code).toBe('KEY_INVALID');
  });
});

describe('loadPrivateKey / loadPublicKey', () => {
  it('round-trips written keys of both algorithms', async () => {
    for (const algorithm of ['ecdsa-p256', 'ed25519'] as const) {
      const { privateKeyPath, publicKeyPath } = await writeKeyPair(join(dir, `rt-${algorithm}`), generateKeyPair(algorithm));
      const priv = await loadPrivateKey(privateKeyPath);
      const pub = await loadPublicKey(publicKeyPath);
      expect(priv.type).toBe('private');
      expect(pub.type).toBe('public');
      expect(keyId(priv)).toBe(keyId(pub));
    }
  });

  it('loadPublicKey takes a private key file and derives the public key', async () => {
    const { privateKeyPath, publicKeyPath } = await writeKeyPair(join(dir, 'derive'), generateKeyPair());
    const pub = await loadPublicKey(privateKeyPath);
    expect(pub.type).toBe('public');
    expect(keyId(pub)).toBe(keyId(await loadPublicKey(publicKeyPath)));
  });

  it('reads SEC1 EC PRIVATE KEY files (openssl ecparam -genkey, with its EC PARAMETERS block)', async () => {
    const path = join(dir, 'sec1.pem');
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-out', path);
    expect(await readFile(path, 'utf8')).toContain('BEGIN EC PRIVATE KEY');
    const priv = await loadPrivateKey(path);
    expect(keyId(priv)).toBe(keyId(await loadPublicKey(path)));
  });

  it('refuses a non-key file with KEY_INVALID naming it', async () => {
    const path = join(dir, 'notes.txt');
    await writeFile(path, 'hello, not a key\n');
    for (const load of [loadPrivateKey, loadPublicKey]) {
      const err = await rejection(load(path));
      expect(err.code).toBe('KEY_INVALID');
      expect(err.message).toContain(path);
      expect(err.message).toContain('ECDSA P-256 or Ed25519 PEM');
    }
  });

  it('refuses RSA keys and other curves with KEY_INVALID naming the file and the type', async () => {
    const rsa = join(dir, 'rsa.pem');
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', rsa);
    const rsaPub = join(dir, 'rsa.pub');
    openssl('pkey', '-in', rsa, '-pubout', '-out', rsaPub);
    const p384 = join(dir, 'p384.pem');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', p384);
    for (const [path, load, type] of [
      [rsa, loadPrivateKey, 'RSA'],
      [rsa, loadPublicKey, 'RSA'],
      [rsaPub, loadPublicKey, 'RSA'],
      [p384, loadPrivateKey, 'secp384r1'],
    ] as const) {
      const err = await rejection(load(path));
      expect(err.code).toBe('KEY_INVALID');
      expect(err.message).toContain(path);
      expect(err.message).toContain(type);
      expect(err.message).toContain('ECDSA P-256 or Ed25519 PEM');
    }
  });

  it('refuses a public key where a private key is needed, and a missing file', async () => {
    const { publicKeyPath } = await writeKeyPair(join(dir, 'pubonly'), generateKeyPair());
    const err = await rejection(loadPrivateKey(publicKeyPath));
    expect(err.code).toBe('KEY_INVALID');
    expect(err.message).toContain(publicKeyPath);
    const missing = join(dir, 'missing.key');
    const err2 = await rejection(loadPrivateKey(missing));
    expect(err2.code).toBe('KEY_INVALID');
    expect(err2.message).toContain(missing);
  });

  it('encrypted keys: KEY_INVALID saying to decrypt, or read with a passphrase (option or $KITOPS_KEY_PASSWORD)', async () => {
    const path = join(dir, 'enc.pem');
    openssl('genpkey', '-algorithm', 'ED25519', '-aes-256-cbc', '-pass', 'pass:s3cret', '-out', path);
    expect(await readFile(path, 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    const saved = process.env.KITOPS_KEY_PASSWORD;
    delete process.env.KITOPS_KEY_PASSWORD;
    try {
      const err = await rejection(loadPrivateKey(path));
      expect(err.code).toBe('KEY_INVALID');
      expect(err.message).toContain(path);
      expect(err.message).toMatch(/encrypted: decrypt it first/);

      const wrong = await rejection(loadPrivateKey(path, { passphrase: 'nope' }));
      expect(wrong.code).toBe('KEY_INVALID');
      expect(wrong.message).toContain('wrong passphrase');

      const viaOption = await loadPrivateKey(path, { passphrase: 's3cret' });
      process.env.KITOPS_KEY_PASSWORD = 's3cret';
      const viaEnv = await loadPrivateKey(path);
      expect(keyId(viaEnv)).toBe(keyId(viaOption));
      expect(keyId(await loadPublicKey(path))).toBe(keyId(viaOption));
    } finally {
      if (saved === undefined) delete process.env.KITOPS_KEY_PASSWORD;
      else process.env.KITOPS_KEY_PASSWORD = saved;
    }
  });

  it("refuses cosign's own encrypted key format with a pointer to PEM keys", async () => {
    const path = join(dir, 'cosign.key');
    await writeFile(path, '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n');
    const err = await rejection(loadPrivateKey(path));
    expect(err.code).toBe('KEY_INVALID');
    expect(err.message).toContain(path);
    expect(err.message).toContain('cosign');
  });
});
