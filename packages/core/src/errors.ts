/**
 * Every failure the toolkit reports is a KitError: a stable machine-readable code, one clear
 * human line, and the exit code the CLI should use.
 */
export type KitErrorCode =
  | 'KITFILE_NOT_FOUND'
  | 'KITFILE_SYNTAX'
  | 'KITFILE_INVALID'
  | 'REFERENCE_INVALID'
  | 'NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'UNSAFE_ARCHIVE'
  | 'ARCHIVE_INVALID'
  | 'ALREADY_EXISTS'
  | 'PATH_OUTSIDE_CONTEXT'
  | 'INVALID_ARGUMENT'
  | 'FORMAT_UNSUPPORTED'
  | 'STORE_CORRUPT'
  | 'LOCK_TIMEOUT'
  | 'REGISTRY'
  | 'UNAUTHORIZED'
  | 'NETWORK'
  | 'IO'
  /** A key file that cannot be read or is not a supported key. */
  | 'KEY_INVALID'
  /** A signature or attestation that does not verify, or is missing where one is required. */
  | 'SIGNATURE_INVALID'
  /** A ModelKit that breaks a verification policy (signers, licenses). */
  | 'POLICY_VIOLATION'
  /** A Kitfile license that is not a valid SPDX expression. */
  | 'LICENSE_INVALID'
  /** A `kit run` that ended in failed, failed_setup, cancelled or timed_out. */
  | 'RUN_FAILED';

export class KitError extends Error {
  readonly code: KitErrorCode;
  readonly exitCode: number;

  constructor(code: KitErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KitError';
    this.code = code;
    this.exitCode = options?.exitCode ?? defaultExitCode(code);
  }
}

function defaultExitCode(code: KitErrorCode): number {
  switch (code) {
    case 'INVALID_ARGUMENT':
    case 'REFERENCE_INVALID':
      return 2;
    case 'NOT_FOUND':
    case 'KITFILE_NOT_FOUND':
      return 3;
    case 'UNAUTHORIZED':
      return 4;
    case 'NETWORK':
      return 5;
    case 'SIGNATURE_INVALID':
    case 'POLICY_VIOLATION':
      return 6;
    default:
      return 1;
  }
}

export function isKitError(e: unknown): e is KitError {
  return e instanceof KitError;
}
