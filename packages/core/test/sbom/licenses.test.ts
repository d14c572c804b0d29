import { describe, expect, it } from 'vitest';
import type { Kitfile } from '../../src/kitfile/types.js';
import { checkLicense, declaredLicenses } from '../../src/sbom/index.js';

describe('checkLicense', () => {
  it.each([
    ['MIT', ['MIT']],
    ['Apache-2.0 OR MIT', ['Apache-2.0', 'MIT']],
    ['(MIT AND BSD-3-Clause) OR Apache-2.0', ['MIT', 'BSD-3-Clause', 'Apache-2.0']],
    ['GPL-2.0-only WITH Classpath-exception-2.0', ['GPL-2.0-only']],
    ['GPL-2.0+', ['GPL-2.0']],
    ['LicenseRef-acme-eula', ['LicenseRef-acme-eula']],
    ['MIT OR (MIT AND Apache-2.0)', ['MIT', 'Apache-2.0']],
    ['mit or apache-2.0', undefined],
  ])('%s', (expression, ids) => {
    const checked = checkLicense('package.license', expression);
    if (ids === undefined) {
      expect(checked.valid).toBe(false);
    } else {
      expect(checked).toEqual({ field: 'package.license', expression, valid: true, ids });
    }
  });

  it('explains an invalid expression and suggests the listed spelling', () => {
    const wrongCase = checkLicense('model.license', 'apache-2.0');
    expect(wrongCase).toMatchObject({ valid: false, ids: [] });
    expect(wrongCase.message).toMatch(/^is not a valid SPDX license expression \(.+\): write Apache-2\.0$/);
    const prose = checkLicense('model.license', 'Apache 2');
    expect(prose.message).toContain('LicenseRef-<name>');
    expect(checkLicense('code[0].license', '   ').valid).toBe(false);
    expect(checkLicense('code[0].license', 'MIT AND').valid).toBe(false);
  });
});

describe('declaredLicenses', () => {
  it('lists every license-bearing element with its field, in Kitfile order', () => {
    const kitfile: Kitfile = {
      manifestVersion: '1.0.0',
      package: { name: 'p', license: 'Apache-2.0 OR MIT' },
      model: { path: 'm', license: 'Apache 2', parts: [{ path: 'a' }, { path: 'b', license: 'LicenseRef-x' }] },
      datasets: [{ path: 'd0' }, { path: 'd1', license: 'CC-BY-4.0' }],
      code: [{ path: 'src', license: 'MIT' }],
      docs: [{ path: 'README.md' }],
    };
    const licenses = declaredLicenses(kitfile);
    expect(licenses.map((l) => [l.field, l.valid])).toEqual([
      ['package.license', true],
      ['model.license', false],
      ['model.parts[1].license', true],
      ['datasets[1].license', true],
      ['code[0].license', true],
    ]);
    expect(licenses[0]!.ids).toEqual(['Apache-2.0', 'MIT']);
    expect(licenses[1]).toMatchObject({ expression: 'Apache 2', ids: [] });
    expect(licenses[1]!.message).toBeTruthy();
  });

  it('is empty for a Kitfile without licenses', () => {
    expect(declaredLicenses({ manifestVersion: '1.0.0', package: {} })).toEqual([]);
  });
});
