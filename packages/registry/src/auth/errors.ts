/**
 * Credential problems (none stored, rejected, unreadable helper output) share one shape so the CLI
 * can tell "fix your login" (UNAUTHORIZED, exit 4) from usage errors (2) and transport failures.
 * Messages name the registry and the fix, never a secret.
 */
import { KitError } from '@modelkit/core';

/** Exit status for credential problems, as documented for `kit login`-fixable failures. */
export const CREDENTIAL_EXIT_CODE = 4;

export function credentialError(message: string): KitError {
  return new KitError('UNAUTHORIZED', message, { exitCode: CREDENTIAL_EXIT_CODE });
}
