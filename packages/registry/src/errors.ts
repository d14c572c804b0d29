import { KitError, type KitErrorCode } from '@modelkit/core';

/** One entry of the distribution-spec error body `{"errors":[{code,message,detail}]}`. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
}

/** A registry answered with an error: its HTTP status and its own error codes, for the user and for code. */
export class RegistryError extends KitError {
  readonly status: number;
  readonly registryErrors: RegistryErrorEntry[];

  constructor(code: KitErrorCode, message: string, status: number, registryErrors: RegistryErrorEntry[] = [], cause?: unknown) {
    super(code, message, { cause });
    this.status = status;
    this.registryErrors = registryErrors;
  }

  hasCode(code: string): boolean {
    return this.registryErrors.some((e) => e.code === code);
  }
}

/** Parse an error body leniently: registries also answer with plain text or HTML pages. */
export function parseErrorBody(text: string): RegistryErrorEntry[] {
  try {
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    return (parsed.errors ?? [])
      .filter((e) => typeof e.code === 'string')
      .map((e) => ({ code: e.code as string, message: typeof e.message === 'string' ? e.message : undefined }));
  } catch {
    return [];
  }
}

/** "MANIFEST_UNKNOWN: manifest unknown" style summary, or the start of a non-JSON body. */
export function describeErrorBody(entries: RegistryErrorEntry[], text: string): string {
  if (entries.length > 0) return entries.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ');
  const plain = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain.length > 200 ? `${plain.slice(0, 200)}…` : plain;
}
