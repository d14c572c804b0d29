import { describe, expect, it } from 'vitest';
import { mergeScopes, repositoryScope } from '../../src/auth/scope.js';

describe('mergeScopes', () => {
  it('merges actions per resource, sorted and de-duplicated', () => {
    expect(mergeScopes(['repository:org/model:push'], ['repository:org/model:pull', 'repository:other/src:pull'])).toEqual([
      'repository:org/model:pull,push',
      'repository:other/src:pull',
    ]);
    expect(mergeScopes(['repository:a:push,pull', 'repository:a:pull,push'])).toEqual(['repository:a:pull,push']);
  });

  it('lets * absorb other actions', () => {
    expect(mergeScopes(['repository:a:pull', 'repository:a:*', 'registry:catalog:*'])).toEqual(['registry:catalog:*', 'repository:a:*']);
  });

  it('splits actions at the last colon (names with host:port)', () => {
    expect(mergeScopes(['repository:localhost:5000/a:pull', 'repository:localhost:5000/a:push'])).toEqual([
      'repository:localhost:5000/a:pull,push',
    ]);
  });

  it('keeps resource classes and unparseable scopes, drops blanks', () => {
    expect(mergeScopes(['repository(plugin):p:pull', '', '  ', 'odd', 'x:y:'])).toEqual(['odd', 'repository(plugin):p:pull', 'x:y:']);
  });

  it('builds repository scopes', () => {
    expect(repositoryScope('org/model', ['pull', 'push'])).toBe('repository:org/model:pull,push');
  });
});
