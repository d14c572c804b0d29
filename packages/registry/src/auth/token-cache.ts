/**
 * Authorization headers by key, each with an expiry. Unlike oras-go (which ignores `expires_in`
 * and waits for a 401) we drop tokens shortly before they expire: a long push then gets a fresh
 * token up front instead of failing a non-rewindable upload on an expired one.
 */
import { inspect } from 'node:util';

export class TokenCache {
  readonly #entries = new Map<string, { header: string; expiresAt: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The header stored under `key`, unless it has expired. */
  get(key: string): string | undefined {
    return this.entry(key)?.header;
  }

  /** The unexpired entry under `key`, with its expiry. */
  entry(key: string): { header: string; expiresAt: number } | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return { ...entry };
  }

  /** `expiresAt` in the clock's milliseconds; Infinity for headers that never expire (Basic). */
  set(key: string, header: string, expiresAt = Infinity): void {
    this.#entries.set(key, { header, expiresAt });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops every entry whose key starts with `prefix` (all entries without one). */
  clear(prefix = ''): void {
    for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix)) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  // Entries are credentials: serialise and inspect as a count only.
  toJSON(): { entries: number } {
    return { entries: this.#entries.size };
  }

  [inspect.custom](): string {
    return `TokenCache { entries: ${this.#entries.size} }`;
  }
}
