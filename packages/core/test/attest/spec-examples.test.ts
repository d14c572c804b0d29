// The examples in spec/signatures.md are real: the key, manifest and bundles there verify together,
// and the bundles have exactly the layout our signer writes.
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, keyId, signMessage, signStatement, verifyBundle } from '../../src/attest/index.js';

const SPEC = readFileSync(new URL('../../../../spec/signatures.md', import.meta.url), 'utf8');

/** The fenced block right after `<!-- example: name -->`. */
function example(name: string): string {
  const match = new RegExp(`<!-- example: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(SPEC);
  if (!match) throw new Error(`spec/signatures.md has no example '${name}'`);
  return match[1];
}

/** Compact JSON with signature values blanked: the layout, independent of the key. */
function layout(bundle: Buffer | string): string {
  return JSON.stringify(JSON.parse(bundle.toString()))
    .replace(/"(hint|digest|signature|sig|payload)":"[^"]*"/g, '"$1":"…"');
}

describe('spec/signatures.md examples', () => {
  const publicKey = createPublicKey(example('public-key'));
  const manifest = Buffer.from(example('manifest'));
  const messageBundle = Buffer.from(example('message-bundle'));
  const dsseBundle = Buffer.from(example('dsse-bundle'));

  it('state the right key id and manifest digest', () => {
    expect(SPEC).toContain(`Its key id is \`${keyId(publicKey)}\``);
    expect(SPEC).toContain(`sha256:${createHash('sha256').update(manifest).digest('hex')}`);
  });

  it('verify', () => {
    expect(verifyBundle(messageBundle, [publicKey], manifest)).toMatchObject({ keyId: keyId(publicKey), content: 'message-signature' });
    const dsse = verifyBundle(dsseBundle, [publicKey]);
    expect(dsse.statement?.subject[0].digest.sha256).toBe(createHash('sha256').update(manifest).digest('hex'));
    expect(SPEC).toContain(JSON.stringify(dsse.statement));
  });

  it('have the layout the signer writes', () => {
    const pair = generateKeyPair();
    const privateKey = createPrivateKey(pair.privateKey);
    expect(layout(messageBundle)).toBe(layout(signMessage(manifest, privateKey)));
    const dsse = verifyBundle(dsseBundle, [publicKey]);
    expect(layout(dsseBundle)).toBe(layout(signStatement(dsse.statement!, privateKey)));
  });
});
