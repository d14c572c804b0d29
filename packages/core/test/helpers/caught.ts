import { expect } from 'vitest';
import { KitError } from '../../src/errors.js';

/** The KitError `fn` throws; fails the test if it throws nothing or something else. */
export function caught(fn: () => unknown): KitError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KitError);
    return e as KitError;
  }
  throw new Error('expected a KitError');
}

/** The KitError `p` rejects with; fails the test if it resolves or rejects with something else. */
export async function rejection(p: Promise<unknown>): Promise<KitError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KitError);
    return e as KitError;
  }
  throw new Error('expected a rejection with a KitError');
}
