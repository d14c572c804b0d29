import { describe, expect, it } from 'vitest';
import { parseManifests, parsePackageJson, parsePep508, parsePyproject, parseRequirements } from '../../src/sbom/dependencies.js';

const brief = (deps: Array<{ name: string; version?: string; range?: string; optional: boolean; purl: string }>) =>
  deps.map((d) => ({ name: d.name, version: d.version, range: d.range, optional: d.optional, purl: d.purl }));

describe('requirements.txt', () => {
  it('keeps pinned versions, keeps ranges as ranges, and skips what is not a package', () => {
    const text = [
      '# training dependencies',
      'numpy==1.26.4',
      'torch >= 2.1, < 3   # CUDA build chosen at install',
      'requests[socks] == 2.31.0 ; python_version >= "3.8"',
      'Pillow_SIMD==9.0.0 --hash=sha256:0123abcd',
      'scipy===1.12.0',
      'tqdm',
      'black==24.*',
      'urllib3 \\',
      '  ==2.2.1',
      'mypkg @ https://example.com/mypkg-1.0.tar.gz',
      '-r other.txt',
      '-e git+https://github.com/org/repo.git#egg=repo',
      '--index-url https://pypi.org/simple',
      'https://example.com/wheel-1.0-py3-none-any.whl',
      './vendor/localpkg',
      'git+https://github.com/org/repo.git',
      '',
    ].join('\n');
    expect(brief(parseRequirements(text, 'src/requirements.txt'))).toEqual([
      { name: 'numpy', version: '1.26.4', range: undefined, optional: false, purl: 'pkg:pypi/numpy@1.26.4' },
      { name: 'torch', version: undefined, range: '>=2.1,<3', optional: false, purl: 'pkg:pypi/torch' },
      { name: 'requests', version: '2.31.0', range: undefined, optional: false, purl: 'pkg:pypi/requests@2.31.0' },
      { name: 'Pillow_SIMD', version: '9.0.0', range: undefined, optional: false, purl: 'pkg:pypi/pillow-simd@9.0.0' },
      { name: 'scipy', version: '1.12.0', range: undefined, optional: false, purl: 'pkg:pypi/scipy@1.12.0' },
      { name: 'tqdm', version: undefined, range: undefined, optional: false, purl: 'pkg:pypi/tqdm' },
      { name: 'black', version: undefined, range: '==24.*', optional: false, purl: 'pkg:pypi/black' },
      { name: 'urllib3', version: '2.2.1', range: undefined, optional: false, purl: 'pkg:pypi/urllib3@2.2.1' },
      { name: 'mypkg', version: undefined, range: undefined, optional: false, purl: 'pkg:pypi/mypkg' },
    ]);
  });

  it('parses PEP 508 forms', () => {
    expect(parsePep508('name (>=1.0)')).toEqual({ name: 'name', range: '>=1.0' });
    expect(parsePep508('name[a,b]~=1.4.2')).toEqual({ name: 'name', range: '~=1.4.2' });
    expect(parsePep508('not a requirement')).toBeUndefined();
  });
});

describe('pyproject.toml', () => {
  it('reads PEP 621 dependencies, optional dependencies and Poetry', () => {
    const text = `
[project]
name = "demo"
dependencies = ["pandas==2.2.1", "scikit-learn>=1.4"]
[project.optional-dependencies]
viz = ["matplotlib==3.8.3"]
[tool.poetry.dependencies]
python = "^3.10"
PyYAML = "6.0.1"
rich = { version = "^13.7", optional = true }
httpx = "*"
numpy = [{ version = "1.26.4", python = "<3.13" }, { version = "2.0.0", python = ">=3.13" }]
`;
    expect(brief(parsePyproject(text, 'pyproject.toml'))).toEqual([
      { name: 'pandas', version: '2.2.1', range: undefined, optional: false, purl: 'pkg:pypi/pandas@2.2.1' },
      { name: 'scikit-learn', version: undefined, range: '>=1.4', optional: false, purl: 'pkg:pypi/scikit-learn' },
      { name: 'matplotlib', version: '3.8.3', range: undefined, optional: true, purl: 'pkg:pypi/matplotlib@3.8.3' },
      { name: 'PyYAML', version: '6.0.1', range: undefined, optional: false, purl: 'pkg:pypi/pyyaml@6.0.1' },
      { name: 'rich', version: undefined, range: '^13.7', optional: true, purl: 'pkg:pypi/rich' },
      { name: 'httpx', version: undefined, range: undefined, optional: false, purl: 'pkg:pypi/httpx' },
      { name: 'numpy', version: undefined, range: '1.26.4 || 2.0.0', optional: false, purl: 'pkg:pypi/numpy' },
    ]);
  });
});

describe('package.json', () => {
  const pkg = JSON.stringify({
    name: 'web',
    dependencies: { 'left-pad': '^1.3.0', '@Scope/Util': '~2.0.0', express: '4.18.2', nolock: '^0.1.0' },
    devDependencies: { vitest: '^3.0.0' },
  });

  it('takes exact versions from a v3 lock file and keeps unresolved ranges', () => {
    const lock = JSON.stringify({
      lockfileVersion: 3,
      packages: { '': { name: 'web' }, 'node_modules/left-pad': { version: '1.3.0' }, 'node_modules/@Scope/Util': { version: '2.0.3' }, 'node_modules/express': { version: '4.18.2' } },
    });
    expect(brief(parsePackageJson(pkg, 'web/package.json', lock))).toEqual([
      { name: 'left-pad', version: '1.3.0', range: undefined, optional: false, purl: 'pkg:npm/left-pad@1.3.0' },
      { name: '@Scope/Util', version: '2.0.3', range: undefined, optional: false, purl: 'pkg:npm/%40scope/util@2.0.3' },
      { name: 'express', version: '4.18.2', range: undefined, optional: false, purl: 'pkg:npm/express@4.18.2' },
      { name: 'nolock', version: undefined, range: '^0.1.0', optional: false, purl: 'pkg:npm/nolock' },
    ]);
  });

  it('reads v1 lock files, and works without one', () => {
    const v1 = JSON.stringify({ lockfileVersion: 1, dependencies: { 'left-pad': { version: '1.3.0' } } });
    expect(parsePackageJson(pkg, 'package.json', v1)[0]).toMatchObject({ version: '1.3.0' });
    expect(parsePackageJson(pkg, 'package.json').map((d) => d.version ?? d.range)).toEqual(['^1.3.0', '~2.0.0', '4.18.2', '^0.1.0']);
  });

  it('pairs each package.json with its own sibling lock and reports unreadable manifests', () => {
    const manifests = new Map([
      ['a/package.json', Buffer.from(pkg)],
      ['b/package-lock.json', Buffer.from(JSON.stringify({ packages: { 'node_modules/left-pad': { version: '9.9.9' } } }))],
      ['c/pyproject.toml', Buffer.from('[project\nbroken')],
      ['d/package.json', Buffer.from('{')],
    ]);
    const { dependencies, skipped } = parseManifests(manifests);
    expect(dependencies.find((d) => d.name === 'left-pad')).toMatchObject({ version: undefined, range: '^1.3.0', source: 'a/package.json' });
    expect(skipped.map((s) => s.path)).toEqual(['c/pyproject.toml', 'd/package.json']);
    expect(skipped[0]!.reason).toBeTruthy();
  });
});
