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
