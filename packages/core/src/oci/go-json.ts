/**
 * Go encoding/json output for a JSON value: compact, and HTML-safe (`<` `>` `&` and U+2028/2029
 * escaped), which JSON.stringify does not do. These characters only occur inside strings in JSON
 * text, so replacing them in the output is exact. Callers build objects in Go's field order.
 */
export function goJsonStringify(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
