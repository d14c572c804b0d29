import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { lstat, readFile, rm } from 'node:fs/promises';
import { KitError } from '../errors.js';
import { writeFileAtomic } from '../store/atomic.js';
import { describeKeyType, keyAlgorithmOf, keyId, SUPPORTED_KEYS, type KeyPairPem } from './keys.js';

/** Passphrase for encrypted PKCS#8 / SEC1 private keys when no option gives one. */
export const KEY_PASSWORD_ENV = 'KITOPS_KEY_PASSWORD';

/**
 * Write `<prefix>.key` (mode 0600) and `<prefix>.pub`, each atomically. Refuses with ALREADY_EXISTS
 * when either file exists, unless `force`.
 */
export async function writeKeyPair(
  prefix: string,
  pair: KeyPairPem,
  options: { force?: boolean } = {},
): Promise<{ privateKeyPath: string; publicKeyPath: string }> {
  const privateKeyPath = `${prefix}.key`;
  const publicKeyPath = `${prefix}.pub`;
  assertPairMatches(pair);
  if (!options.force) {
    for (const path of [privateKeyPath, publicKeyPath]) {
      if (await exists(path)) {
        throw new KitError('ALREADY_EXISTS', `${path} already exists: choose another name or overwrite it with --force`);
      }
    }
  }
  await ioStep(`cannot write ${privateKeyPath}`, () => writeFileAtomic(privateKeyPath, pair.privateKey, 0o600));
  try {
    await ioStep(`cannot write ${publicKeyPath}`, () => writeFileAtomic(publicKeyPath, pair.publicKey, 0o644));
  } catch (e) {
    // Half a pair is worse than none: a private key whose .pub is missing or stale.
    await rm(privateKeyPath, { force: true });
    throw e;
  }
  return { privateKeyPath, publicKeyPath };
}

/** Refuse to write a pair whose halves do not belong together or are not a supported type. */
function assertPairMatches(pair: KeyPairPem): void {
  let privateKey: KeyObject;
  let publicKey: KeyObject;
  try {
    privateKey = createPrivateKey(pair.privateKey);
    publicKey = createPublicKey(pair.publicKey);
  } catch (e) {
    throw new KitError('KEY_INVALID', `the key pair to write is not valid PEM: ${(e as Error).message}`, { cause: e });
  }
  if (!keyAlgorithmOf(privateKey)) {
    throw new KitError('KEY_INVALID', `the key pair to write is of type ${describeKeyType(privateKey)}: supported are ${SUPPORTED_KEYS}`);
  }
  if (keyId(privateKey) !== keyId(publicKey)) {
    throw new KitError('KEY_INVALID', 'the public key to write is not the public half of the private key');
  }
}

/**
 * Read a PEM private key: PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, or either encrypted when a
 * passphrase is given (`options.passphrase`, else $KITOPS_KEY_PASSWORD). ECDSA P-256 or Ed25519.
 */
export async function loadPrivateKey(path: string, options: { passphrase?: string } = {}): Promise<KeyObject> {
  const pem = await readKeyFile(path);
  if (!hasPrivateBlock(pem)) {
    throw new KitError('KEY_INVALID', `${path} holds no private key (${labelList(pem)}): signing needs the private key, ${SUPPORTED_KEYS}`);
  }
  return supported(path, parsePrivate(path, pem, options.passphrase ?? process.env[KEY_PASSWORD_ENV]));
}

/** Read a PEM public key; a private key file is accepted too and its public half used. */
export async function loadPublicKey(path: string): Promise<KeyObject> {
  const pem = await readKeyFile(path);
  if (hasPrivateBlock(pem) && !pem.labels.includes('PUBLIC KEY')) {
    return supported(path, createPublicKey(parsePrivate(path, pem, process.env[KEY_PASSWORD_ENV])));
  }
  try {
    return supported(path, createPublicKey(pem.text));
  } catch (e) {
    if (e instanceof KitError) throw e;
    throw new KitError('KEY_INVALID', `${path} is not a readable public key (${labelList(pem)}): supported are ${SUPPORTED_KEYS}`, { cause: e });
  }
}

interface PemFile {
  text: string;
  /** The labels of its `-----BEGIN …-----` blocks, in order. */
  labels: string[];
  encrypted: boolean;
}

async function readKeyFile(path: string): Promise<PemFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new KitError('KEY_INVALID', `cannot read key file ${path}: ${(e as Error).message}`, { cause: e });
  }
  const labels = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]);
  if (labels.length === 0) {
    throw new KitError('KEY_INVALID', `${path} is not a PEM key file: supported are ${SUPPORTED_KEYS}`);
  }
  if (labels.includes('ENCRYPTED SIGSTORE PRIVATE KEY')) {
    // cosign's own scrypt/secretbox format; cosign can import a PEM key (`cosign import-key-pair`) but we cannot read its format.
    throw new KitError('KEY_INVALID', `${path} is a cosign-encrypted key, which is not supported: use an ${SUPPORTED_KEYS} key (kit can generate one; cosign import-key-pair takes it)`);
  }
  const encrypted = labels.includes('ENCRYPTED PRIVATE KEY') || /^Proc-Type:\s*4,ENCRYPTED/m.test(text);
  return { text, labels, encrypted };
}

function hasPrivateBlock(pem: PemFile): boolean {
  return pem.labels.some((label) => label.endsWith('PRIVATE KEY'));
}

function labelList(pem: PemFile): string {
  return pem.labels.map((label) => `'${label}'`).join(', ');
}

function parsePrivate(path: string, pem: PemFile, passphrase: string | undefined): KeyObject {
  if (pem.encrypted && passphrase === undefined) {
    throw new KitError(
      'KEY_INVALID',
      `${path} is encrypted: decrypt it first (openssl pkey -in ${path} -out plain.key) or set ${KEY_PASSWORD_ENV}`,
    );
  }
  try {
    return createPrivateKey({ key: pem.text, format: 'pem', ...(pem.encrypted ? { passphrase } : {}) });
  } catch (e) {
    const why = pem.encrypted
      ? `cannot decrypt ${path}: wrong passphrase?`
      : `${path} is not a readable private key (${labelList(pem)}): supported are ${SUPPORTED_KEYS}`;
    throw new KitError('KEY_INVALID', why, { cause: e });
  }
}

function supported(path: string, key: KeyObject): KeyObject {
  if (!keyAlgorithmOf(key)) {
    throw new KitError('KEY_INVALID', `${path} holds a key of type ${describeKeyType(key)}: supported are ${SUPPORTED_KEYS}`);
  }
  return key;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new KitError('IO', `cannot check ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function ioStep(what: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (e) {
    throw new KitError('IO', `${what}: ${(e as Error).message}`, { cause: e });
  }
}
