/** What to do about each YAML syntax error the `yaml` package reports, by its error code. */
export const YAML_SYNTAX_HINTS: Readonly<Record<string, string>> = {
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  DUPLICATE_KEY: 'each key may appear once per mapping: remove or rename the repeated key',
  BAD_INDENT: 'align keys of the same mapping to the same column and indent nested content under its key',
  MISSING_CHAR: 'close the quote or bracket that is left open',
  BLOCK_AS_IMPLICIT_KEY: 'put a space after the ":" and the nested content on the following lines',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line: check for a missing ":" or a stray line break',
  UNEXPECTED_TOKEN: 'check the punctuation around this point (":", "-", quotes, brackets)',
  BAD_ALIAS: 'define the anchor (&name) before using the alias (*name)',
};

/** Levenshtein distance, for "did you mean" suggestions on mistyped keys. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
