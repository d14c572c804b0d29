// spdx-expression-parse ships no types (DefinitelyTyped covers v3 only; v5's AST is the same).
declare module 'spdx-expression-parse' {
  namespace parse {
    interface LicenseInfo {
      license: string;
      plus?: true;
      exception?: string;
    }
    interface ConjunctionInfo {
      conjunction: 'and' | 'or';
      left: LicenseInfo | ConjunctionInfo;
      right: LicenseInfo | ConjunctionInfo;
    }
    type Info = LicenseInfo | ConjunctionInfo;
  }
  /** Parses an SPDX license expression; throws an Error on anything invalid. */
  function parse(source: string): parse.Info;
  export = parse;
}
