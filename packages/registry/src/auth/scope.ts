/**
 * Token scopes (distribution `scope.md`): `type[(class)]:name:action[,action]`. Names may contain
 * `host:port`, so the type ends at the first ':' and the actions start after the last. Scope lists
 * are normalised (merged per resource, actions sorted, `*` absorbing the rest, resources sorted)
 * so that the same grant always gets the same token-cache key, as oras-go's CleanScopes.
 */

/** `repository:<name>:<actions>`; e.g. `repositoryScope('org/model', ['pull', 'push'])`. */
export function repositoryScope(repository: string, actions: string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

export function mergeScopes(...lists: ReadonlyArray<readonly string[]>): string[] {
  const resources = new Map<string, Set<string>>();
  const opaque = new Set<string>();
  for (const list of lists) {
    for (const raw of list) {
      const scope = raw.trim();
      if (scope === '') continue;
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first <= 0 || last === first || last === scope.length - 1) {
        opaque.add(scope); // not type:name:actions; pass it on untouched
        continue;
      }
      const resource = scope.slice(0, last);
      let actions = resources.get(resource);
      if (!actions) resources.set(resource, (actions = new Set()));
      for (const a of scope.slice(last + 1).split(',')) if (a !== '') actions.add(a);
    }
  }
  const out = [...opaque];
  for (const [resource, actions] of resources) {
    if (actions.size === 0) continue;
    const list = actions.has('*') ? ['*'] : [...actions].sort();
    out.push(`${resource}:${list.join(',')}`);
  }
  return [...new Set(out)].sort();
}
