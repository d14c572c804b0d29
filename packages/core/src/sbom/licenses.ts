import { SPDX } from '@cyclonedx/cyclonedx-library';
import parseSpdx from 'spdx-expression-parse';
import type { Kitfile } from '../kitfile/types.js';

/** A license a Kitfile declares, with the field it came from and what it means. */
export interface DeclaredLicense {
  /** Where in the Kitfile: 'package.license', 'model.parts[0].license', 'datasets[1].license', … */
  field: string;
  expression: string;
  valid: boolean;
  /** Every license id of a valid expression in order of appearance, without `+` or `WITH` exceptions; LicenseRef-… kept as is. */
  ids: string[];
  /** Why an invalid expression is invalid, and what to write instead. */
  message?: string;
}

export interface LicenseProblem {
  field: string;
  expression: string;
  message: string;
}

/** Every license declared in a Kitfile, in Kitfile order. Only package, model, parts, datasets and code carry one. */
export function declaredLicenses(kitfile: Kitfile): DeclaredLicense[] {
  const found: Array<[string, string | undefined]> = [['package.license', kitfile.package?.license]];
  if (kitfile.model) {
    found.push(['model.license', kitfile.model.license]);
    kitfile.model.parts?.forEach((p, i) => found.push([`model.parts[${i}].license`, p.license]));
  }
  kitfile.datasets?.forEach((d, i) => found.push([`datasets[${i}].license`, d.license]));
  kitfile.code?.forEach((c, i) => found.push([`code[${i}].license`, c.license]));
  return found.filter((f): f is [string, string] => typeof f[1] === 'string').map(([field, expression]) => checkLicense(field, expression));
}

/** One declared license checked against the SPDX license-expression grammar and license list. */
export function checkLicense(field: string, expression: string): DeclaredLicense {
  const text = expression.trim();
  let info: parseSpdx.Info;
  try {
    if (text === '') throw new Error('it is empty');
    info = parseSpdx(text);
  } catch (e) {
    return { field, expression, valid: false, ids: [], message: invalidMessage(text, (e as Error).message) };
  }
  const ids: string[] = [];
  const visit = (node: parseSpdx.Info): void => {
    if ('conjunction' in node) {
      visit(node.left);
      visit(node.right);
    } else if (!ids.includes(node.license)) {
      ids.push(node.license);
    }
  };
  visit(info);
  return { field, expression, valid: true, ids };
}

function invalidMessage(text: string, why: string): string {
  // The parser's own message ("Unexpected `A` at offset 0") is terse: say what to write instead.
  const fixed = SPDX.fixupSpdxId(text);
  const advice = fixed && fixed !== text
    ? `write ${fixed}`
    : 'use SPDX license ids (https://spdx.org/licenses/) joined with AND, OR and WITH, or LicenseRef-<name> for a license not on the list';
  return `is not a valid SPDX license expression (${why || 'syntax error'}): ${advice}`;
}

export function licenseProblems(licenses: DeclaredLicense[]): LicenseProblem[] {
  return licenses.filter((l) => !l.valid).map((l) => ({ field: l.field, expression: l.expression, message: l.message! }));
}
