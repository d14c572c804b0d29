import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { KitError } from '../errors.js';

/**
 * What a deploy pipeline requires of a ModelKit before it ships (`kit verify --policy FILE`):
 *
 *   signers:                      # each must have signed the manifest
 *     - name: release-team
 *       key: keys/release.pub     # relative to the policy file
 *   licenses:
 *     allowed: [Apache-2.0, MIT]  # every license the Kitfile declares must be one of these
 *   attestations:                 # signed in-toto statements that must be attached
 *     - predicateType: https://slsa.dev/provenance/v1
 */
const policySchema = z.strictObject({
  signers: z.array(z.strictObject({ name: z.string().min(1).optional(), key: z.string().min(1) })).optional(),
  licenses: z.strictObject({ allowed: z.array(z.string().min(1)).min(1) }).optional(),
  attestations: z.array(z.strictObject({ predicateType: z.string().min(1) })).optional(),
});

export interface PolicySigner {
  name: string;
  /** Absolute path of the signer's public key. */
  key: string;
}

export interface Policy {
  file: string;
  signers: PolicySigner[];
  allowedLicenses?: string[];
  attestations: string[];
}

export async function loadPolicy(file: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new KitError('NOT_FOUND', `policy ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parsePolicy(text, file);
}

export function parsePolicy(text: string, file: string): Policy {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const [line, col] = err.linePos?.[0] ? [err.linePos[0].line, err.linePos[0].col] : [0, 0];
    throw new KitError('INVALID_ARGUMENT', `${file}:${line}:${col}: ${err.message.split('\n')[0]}`);
  }
  const parsed = policySchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw new KitError('INVALID_ARGUMENT', `${file}: ${field || 'policy'}: ${issue.message}; expected signers, licenses.allowed and attestations`);
  }
  const base = dirname(resolve(file));
  return {
    file,
    signers: (parsed.data.signers ?? []).map((s, i) => ({ name: s.name ?? `signers[${i}]`, key: resolve(base, s.key) })),
    allowedLicenses: parsed.data.licenses?.allowed,
    attestations: (parsed.data.attestations ?? []).map((a) => a.predicateType),
  };
}
