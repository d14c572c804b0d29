/**
 * Path helpers that reproduce Go's `path.Clean` and `strings.TrimSpace`, because layer paths,
 * `.kitignore` patterns and walk entries must be normalised exactly as upstream `kit` does or
 * the same Kitfile would select different files here and there.
 */

/** Go `path.Clean` for '/'-separated paths: no `.` components, `..` folded, no trailing '/'. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..'); // `..` above the root of an absolute path vanishes
      continue;
    }
    out.push(part);
  }
  const joined = (rooted ? '/' : '') + out.join('/');
  return joined === '' ? '.' : joined;
}

// Go's unicode.IsSpace set. JS String#trim differs: it also strips U+FEFF and keeps U+0085.
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]';
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'gu');

/** Go `strings.TrimSpace`. */
export function goTrimSpace(s: string): string {
  return s.replace(GO_TRIM, '');
}

/** Upstream `cleanPath` for layer and entry paths: `filepath.Clean(strings.TrimSpace(p))`. */
export function cleanRelPath(p: string): string {
  return cleanPath(goTrimSpace(p));
}

/**
 * Whether cleaned `path` is `dir` or lies below it, comparing whole components (newer upstream
 * `isWithin`: `data2/x` is not within `data`; v1.7's string-prefix test said it was). `.` contains
 * everything.
 */
export function isWithin(path: string, dir: string): boolean {
  if (dir === '.') return true;
  return path === dir || path.startsWith(dir + '/');
}
