const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 time as UTC to the second (`2024-05-01T12:00:00Z`), the only form SPDX 3 accepts;
 * undefined when `value` is not RFC 3339.
 */
export function utcSeconds(value: string): string | undefined {
  if (!RFC3339.test(value)) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
