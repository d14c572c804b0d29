import { describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import { parseKitfileWithPositions } from '../../src/kitfile/parse.js';
import { validateKitfile } from '../../src/kitfile/validate.js';
import { loadCases } from '../helpers/conformance.js';

interface ValidationCase {
  kitfile: string;
  errRegexp?: string;
}

/** Cases we handle differently from what the vector expects, on purpose, and why. */
const INTENTIONALLY_DIFFERENT: Record<string, string> = {
  'bad-manifest-version.yaml':
    'older vector: expects the error "invalid manifestVersion"; newest upstream Validate() (PR #1085) only warns ' +
    '"Unrecognized manifestVersion ... treating Kitfile as 1.0.0", and we follow the newer behaviour',
};

const cases = loadCases<ValidationCase>('newer', 'pkg', 'artifact', 'testdata', 'validation');

function check(kitfile: string) {
  const { kitfile: kf, positions } = parseKitfileWithPositions(kitfile, 'Kitfile');
  return validateKitfile(kf, { file: 'Kitfile', positions });
}

describe('KitOps validation vectors (newer/pkg/artifact/testdata/validation)', () => {
  it('has all 44 cases', () => {
    expect(cases).toHaveLength(44);
  });

  for (const { file, data } of cases) {
    if (file in INTENTIONALLY_DIFFERENT) {
      it(`${file} (intentionally different: ${INTENTIONALLY_DIFFERENT[file]})`, () => {
        const { warnings } = check(data.kitfile);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(/^Kitfile:1:18: Unrecognized manifestVersion "v99.99.99", treating Kitfile as 1.0.0/);
      });
      continue;
    }
    const pattern = data.errRegexp ?? '';
    if (pattern === '') {
      it(`${file} is valid`, () => {
        expect(() => check(data.kitfile)).not.toThrow();
      });
    } else {
      it(`${file} fails with /${pattern}/`, () => {
        let error: unknown;
        try {
          check(data.kitfile);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(KitError);
        const { code, message } = error as KitError;
        expect(code).toBe('KITFILE_INVALID');
        expect(message).toMatch(new RegExp(pattern));
        // Every line is located and says what to do.
        for (const line of message.split('\n')) expect(line).toMatch(/^Kitfile:\d+:\d+: .+; .+/);
      });
    }
  }
});

describe('validation details', () => {
  it('lists every collision, each at the later use, pointing at the earlier ones by name', () => {
    const text = 'manifestVersion: 1.0.0\nmodel:\n  name: m\n  path: b/\ncode:\n  - path: ./b\n  - path: a\ndocs:\n  - path: a/x/..\n';
    expect(() => check(text)).toThrow(
      'Kitfile:6:11: model m and code layer 0 use the same path b; give each layer its own path (layers may nest, but not coincide)\n' +
        'Kitfile:9:11: code layer 1 and docs layer 0 use the same path a; give each layer its own path (layers may nest, but not coincide)',
    );
  });

  it('treats an empty path as the context directory', () => {
    expect(() => check('manifestVersion: 1.0.0\ncode:\n  - description: all\ndocs:\n  - path: .\n')).toThrow(/code layer 0 and docs layer 0 use the same path \./);
  });

  it('accepts nested layers and manifestVersion 1.0', () => {
    const r = check('manifestVersion: "1.0"\nmodel:\n  path: m\n  parts:\n    - path: m/tokenizer\n      type: tokenizer\ncode:\n  - path: .\n');
    expect(r.warnings).toEqual([]);
  });

  it('warns (not fails) for remoteHash with a ModelKit reference', () => {
    const r = check('manifestVersion: 1.0.0\ndatasets:\n  - path: d\n    remotePath: reg.io/org/data:v1\n    remoteHash: abc\n');
    expect(r.warnings).toEqual(['Kitfile:5:17: remoteHash is ignored when remotePath is a ModelKit reference (reg.io/org/data:v1); remove it']);
  });

  it('rejects remoteHash without remotePath and unknown URL schemes', () => {
    const text = 'manifestVersion: 1.0.0\ndatasets:\n  - path: d\n    remoteHash: abc\ncode:\n  - path: ftp://host/x\n';
    let message = '';
    try {
      check(text);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('Kitfile:4:17: remote hash is only applicable when remotePath is set');
    expect(message).toContain('Kitfile:6:11: invalid path for code (ftp://host/x): unrecognized URL in path: ftp://host/x');
  });

  it('tells a ModelKit reference from a local path like upstream', () => {
    // model.path may be a reference; these are references, so not allowed for code.
    for (const ref of ['repo:tag', 'localhost:5000/repo', 'org/repo@sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64)]) {
      expect(() => check(`manifestVersion: 1.0.0\nmodel:\n  path: ${JSON.stringify(ref)}\n`)).not.toThrow();
      expect(() => check(`manifestVersion: 1.0.0\ncode:\n  - path: ${JSON.stringify(ref)}\n`)).toThrow(/only local paths are permitted/);
    }
    // Not references (uppercase repo, bad digest, path-like), so plain local paths.
    for (const local of ['Org/Repo:tag', 'data/train@v2', 'dir/sub dir:x', 'a@b']) {
      expect(() => check(`manifestVersion: 1.0.0\ncode:\n  - path: ${JSON.stringify(local)}\n`)).not.toThrow();
    }
    // Go's url.Parse sees a scheme in "Repo:tag" (not a reference: uppercase), as upstream does.
    expect(() => check('manifestVersion: 1.0.0\ncode:\n  - path: Repo:tag\n')).toThrow(/unrecognized URL in path: Repo:tag/);
  });

  it('rejects parameters JSON cannot store, with their position', () => {
    expect(() => check('manifestVersion: 1.0.0\nmodel:\n  parameters:\n    lr: .inf\n')).toThrow(/^Kitfile:4:9: model\.parameters\.lr is Infinity/);
  });

  it('reports without positions when none are given', () => {
    expect(() => validateKitfile({ manifestVersion: '1.0.0', package: {}, code: [{ path: '/abs' }] })).toThrow(
      /^absolute paths are not supported in a Kitfile \(path \/abs in code layer 0\); /,
    );
  });
});
