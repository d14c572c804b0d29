import { isKitError } from '@modelkit/core';

/** Machine-readable output for --json, human text otherwise; progress goes to stderr. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** One clear line and an exit code, whatever went wrong. */
export function reportError(e: unknown): number {
  if (isKitError(e)) {
    process.stderr.write(`Error: ${e.message.split('\n').join('\n  ')}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' && err.path) {
    process.stderr.write(`Error: ${err.code === 'ENOENT' ? 'no such file or directory' : err.code}: ${err.path}\n`);
    return 1;
  }
  if (err && typeof err === 'object' && (err as { code?: string }).code?.startsWith('commander.')) return 2;
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

/** A table with left-aligned columns, like kit's tabwriter output. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
