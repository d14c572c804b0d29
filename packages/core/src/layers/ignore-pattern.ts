/**
 * One `.kitignore` pattern, compiled the way moby/patternmatcher compiles it (the library `kit`
 * uses), so that every pattern selects exactly the files it selects upstream, quirks included:
 * `**` at the start becomes a literal-suffix test, a trailing `**` a literal-prefix test, and
 * everything else a regular expression anchored at the context root.
 */

export type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

export interface CompiledPattern {
  /** The pattern after cleaning, without its leading `!`. */
  readonly cleaned: string;
  readonly exclusion: boolean;
  readonly type: MatchType;
  readonly regexp?: RegExp;
}

/** Thrown for a malformed pattern; the matcher turns it into a KitError naming the pattern. */
export class BadPatternError extends Error {}

/**
 * Go `filepath.Match` syntax check. patternmatcher.New calls `filepath.Match(p, ".")` only for
 * its error, and Go validates the whole pattern even when the match fails, so a pattern is
 * rejected exactly when some chunk has a bad character class or a trailing backslash.
 */
export function validateGlob(pattern: string): void {
  const p = Array.from(pattern); // Go decodes runes inside classes
  let i = 0;
  while (i < p.length) {
    while (i < p.length && p[i] === '*') i++; // leading stars of a chunk
    // scanChunk: the chunk runs to the next '*' outside brackets; '\' hides the next char.
    let end = i;
    let inRange = false;
    for (; end < p.length; end++) {
      const c = p[end];
      if (c === '\\') {
        if (end + 1 < p.length) end++;
      } else if (c === '[') inRange = true;
      else if (c === ']') inRange = false;
      else if (c === '*' && !inRange) break;
    }
    validateChunk(p.slice(i, end));
    i = end;
  }
}

function validateChunk(chunk: string[]): void {
  let i = 0;
  // getEsc: one class character, possibly escaped; the class must not end right after it.
  const getEsc = (): void => {
    if (i >= chunk.length || chunk[i] === '-' || chunk[i] === ']') throw new BadPatternError('syntax error in pattern');
    if (chunk[i] === '\\') {
      i++;
      if (i >= chunk.length) throw new BadPatternError('syntax error in pattern');
    }
    i++;
    if (i >= chunk.length) throw new BadPatternError('syntax error in pattern');
  };
  while (i < chunk.length) {
    const c = chunk[i];
    if (c === '[') {
      i++;
      if (chunk[i] === '^') i++;
      let nrange = 0;
      for (;;) {
        if (i < chunk.length && chunk[i] === ']' && nrange > 0) {
          i++;
          break;
        }
        getEsc();
        if (chunk[i] === '-') {
          i++;
          getEsc();
        }
        nrange++;
      }
    } else if (c === '\\') {
      i++;
      if (i >= chunk.length) throw new BadPatternError('syntax error in pattern');
      i++;
    } else {
      i++;
    }
  }
}

const REGEXP_META = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/**
 * patternmatcher `Pattern.compile`: returns the match type and, for `regexp`, the Go regular
 * expression source it would build (translated to JavaScript separately).
 */
export function compileGo(cleaned: string): { type: MatchType; goRegexp?: string } {
  const chars = Array.from(cleaned); // text/scanner reads runes
  let re = '^';
  let type: MatchType = 'exact';
  let pos = 0;
  for (let iter = 0; pos < chars.length; iter++) {
    const ch = chars[pos++];
    if (ch === '*') {
      if (chars[pos] === '*') {
        pos++;
        if (chars[pos] === '/') pos++; // "**/" behaves as "**"
        if (pos >= chars.length) {
          // trailing "**" accepts everything below, like .gitignore
          if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          re += '(.*/)?';
          type = 'regexp';
        }
        if (iter === 0) type = 'suffix'; // later wildcards turn it back into a regexp
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (REGEXP_META.has(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      if (pos < chars.length) {
        re += '\\' + chars[pos++];
        type = 'regexp';
      } else {
        re += '\\';
      }
    } else if (ch === '[' || ch === ']') {
      re += ch;
      type = 'regexp';
    } else {
      re += ch;
    }
  }
  return type === 'regexp' ? { type, goRegexp: re + '$' } : { type };
}

// Escapes that mean the same in Go RE2 and in a JavaScript `u` regexp.
const SHARED_LETTER_ESCAPES = new Set(['d', 'D', 's', 'S', 'w', 'W', 'b', 'B', 'f', 'n', 'r', 't', 'v']);

function translateEscape(c: string): string {
  if (/^[A-Za-z0-9]$/.test(c)) {
    if (SHARED_LETTER_ESCAPES.has(c)) return '\\' + c;
    // RE2 rejects most other letter escapes too; the few it accepts (\A, \z, \Q…) are not worth
    // emulating in an ignore file.
    throw new BadPatternError(`unsupported escape \\${c}`);
  }
  // Any other escaped character is a literal; \u{…} is literal inside and outside classes.
  return `\\u{${c.codePointAt(0)!.toString(16)}}`;
}

/**
 * Translate the Go RE2 source that compileGo builds into a JavaScript RegExp. The sources only
 * contain literals, escapes, classes and the fixed fragments above; the differences handled here
 * are where RE2 treats `[` inside a class and `]` outside one as literals but a `u`-mode
 * JavaScript regexp rejects them, and which characters `.` refuses.
 */
export function goRegexpToJs(source: string): RegExp {
  const s = Array.from(source);
  let out = '';
  let inClass = false;
  let classStart = false; // just after "[" or "[^": a "]" here is a literal in RE2
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      const next = s[++i];
      if (next === undefined) throw new BadPatternError('trailing backslash');
      out += translateEscape(next);
      classStart = false;
      continue;
    }
    if (inClass) {
      if (classStart && c === '^' && out.endsWith('[')) {
        out += '^';
        continue;
      }
      if (c === ']' && !classStart) {
        inClass = false;
        out += ']';
      } else if (c === '[' || c === ']') {
        out += '\\' + c;
      } else {
        out += c;
      }
      classStart = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      classStart = true;
      out += '[';
    } else if (c === ']') {
      out += '\\]';
    } else if (c === '.') {
      out += '[^\\n]'; // RE2 '.' stops only at \n; a JS '.' also stops at \r, U+2028, U+2029
    } else {
      out += c;
    }
  }
  if (inClass) throw new BadPatternError('missing closing ]');
  try {
    return new RegExp(out, 'u');
  } catch (e) {
    throw new BadPatternError((e as Error).message);
  }
}

/** patternmatcher `Pattern.match` for a cleaned, '/'-separated relative path. */
export function patternMatches(p: CompiledPattern, path: string): boolean {
  switch (p.type) {
    case 'exact':
      return path === p.cleaned;
    case 'prefix':
      return path.startsWith(p.cleaned.slice(0, -2)); // strip trailing "**"
    case 'suffix': {
      const suffix = p.cleaned.slice(2); // strip leading "**"
      if (path.endsWith(suffix)) return true;
      return suffix[0] === '/' && path === suffix.slice(1); // "**/foo" matches "foo"
    }
    case 'regexp':
      return p.regexp!.test(path);
  }
}
