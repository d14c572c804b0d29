import { expect } from 'vitest';
import { KitError } from '@modelkit/core';

/** The KitError `p` rejects with; fails the test if it resolves or rejects with something else. */
export async function caught(p: Promise<unknown>): Promise<KitError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KitError);
    return e as KitError;
  }
  throw new Error('expected a rejection');
}
