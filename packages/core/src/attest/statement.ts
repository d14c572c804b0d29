import { KitError } from '../errors.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** digest: `{ sha256: '<hex>' }` (in-toto DigestSet). */
export interface InTotoSubject {
  name: string;
  digest: Record<string, string>;
}

export interface InTotoStatement {
  _type: 'https://in-toto.io/Statement/v1';
  subject: InTotoSubject[];
  predicateType: string;
  predicate: unknown;
}

export function inTotoStatement(subject: InTotoSubject[], predicateType: string, predicate: unknown): InTotoStatement {
  const statement: InTotoStatement = { _type: IN_TOTO_STATEMENT_TYPE, subject, predicateType, predicate };
  const problem = statementProblem(statement);
  if (problem) throw new KitError('INVALID_ARGUMENT', `cannot build the in-toto statement: ${problem}`);
  return statement;
}

/** The statement's JSON with its fields in spec order; the predicate as the caller built it. */
export function serializeStatement(statement: InTotoStatement): Buffer {
  const { _type, subject, predicateType, predicate } = statement;
  const ordered = {
    _type,
    subject: subject.map(({ name, digest }) => ({ name, digest })),
    predicateType,
    predicate,
  };
  return Buffer.from(JSON.stringify(ordered), 'utf8');
}

/** Parse a DSSE payload as an in-toto v1 statement; SIGNATURE_INVALID saying what is wrong. */
export function parseStatement(payload: Buffer): InTotoStatement {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new KitError('SIGNATURE_INVALID', 'the attestation payload is not JSON, so not an in-toto statement');
  }
  const problem = statementProblem(value);
  if (problem) throw new KitError('SIGNATURE_INVALID', `the attestation payload is not an in-toto statement: ${problem}`);
  return value as InTotoStatement;
}

/** What makes `value` not an in-toto v1 statement, or undefined when it is one. */
function statementProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return 'not a JSON object';
  if (value._type !== IN_TOTO_STATEMENT_TYPE) return `_type is ${JSON.stringify(value._type)}, expected '${IN_TOTO_STATEMENT_TYPE}'`;
  if (!Array.isArray(value.subject) || value.subject.length === 0) return 'subject must be a non-empty list';
  for (const [i, subject] of value.subject.entries()) {
    if (!isRecord(subject) || typeof subject.name !== 'string') return `subject[${i}].name must be a string`;
    const digest = subject.digest;
    if (!isRecord(digest) || Object.keys(digest).length === 0 || !Object.values(digest).every((d) => typeof d === 'string')) {
      return `subject[${i}].digest must map algorithm names to hex strings`;
    }
  }
  if (typeof value.predicateType !== 'string' || value.predicateType === '') return 'predicateType must be a non-empty string';
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
