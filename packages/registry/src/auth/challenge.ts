/**
 * `WWW-Authenticate` parsing (RFC 7235 §4.1): `1#challenge`, challenge = scheme [ token68 /
 * #auth-param ], auth-param = token BWS "=" BWS ( token / quoted-string ). Commas separate both
 * challenges and parameters, so after each comma a `name=` continues the current challenge and a
 * bare token starts a new one. Lenient by design: malformed input yields what could be read, never
 * an exception, since the caller's useful error is "this registry's challenge is unusable".
 */

export interface Challenge {
  /** Lowercased: 'basic', 'bearer', or another scheme. */
  scheme: 'basic' | 'bearer' | (string & {});
  /** Parameter names lowercased; values unquoted and unescaped. First occurrence wins. */
  params: Record<string, string>;
  /** For schemes that send one opaque token68 instead of parameters. */
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

export function parseChallenges(header: string | undefined): Challenge[] {
  if (typeof header !== 'string') return [];
  const s = header;
  let i = 0;
  const out: Challenge[] = [];

  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const skipWsAndCommas = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i])) i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    i++; // opening quote
    let v = '';
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      v += s[i++];
    }
    i++; // closing quote (or past the end if unterminated)
    return v;
  };
  /** At `name BWS = BWS value`? (`abc==` or a trailing `abc=` is a token68.) Leaves i unchanged. */
  const atParam = (): boolean => {
    const save = i;
    const name = readToken();
    skipWs();
    let ok = name !== '' && s[i] === '=';
    if (ok) {
      i++;
      skipWs();
      ok = i < s.length && (s[i] === '"' || TCHAR.test(s[i]));
    }
    i = save;
    return ok;
  };

  while (i < s.length) {
    skipWsAndCommas();
    const scheme = readToken();
    if (scheme === '') {
      i++; // not a token character: skip it and resynchronise
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    skipWs();
    if (!atParam() && i < s.length && TOKEN68_CHAR.test(s[i])) {
      // token68, unless this is the next challenge's scheme (followed by space or end, not '=').
      const save = i;
      let t = '';
      while (i < s.length && TOKEN68_CHAR.test(s[i])) t += s[i++];
      while (s[i] === '=') t += s[i++];
      skipWs();
      if (i >= s.length || s[i] === ',') {
        challenge.token68 = t;
        continue;
      }
      i = save; // it was a new scheme after all: `Basic, Bearer realm=...` is handled below
    }
    // auth-params, until a token not followed by '=' (the next challenge's scheme).
    for (;;) {
      skipWsAndCommas();
      if (i >= s.length || !atParam()) break;
      const name = readToken().toLowerCase();
      skipWs();
      i++; // '='
      skipWs();
      const value = s[i] === '"' ? readQuoted() : readToken();
      if (!Object.prototype.hasOwnProperty.call(challenge.params, name)) {
        // defineProperty, not assignment: a parameter called `__proto__` must stay a parameter.
        Object.defineProperty(challenge.params, name, { value, enumerable: true, writable: true, configurable: true });
      }
    }
  }
  return out;
}
