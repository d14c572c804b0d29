import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/audit/policy.js';

describe('verification policies', () => {
  it('reads signers (keys relative to the policy file), allowed licenses and required attestations', () => {
    const policy = parsePolicy('signers:\n  - name: release\n    key: keys/release.pub\n  - key: /abs/ops.pub\nlicenses:\n  allowed: [Apache-2.0, MIT]\nattestations:\n  - predicateType: https://slsa.dev/provenance/v1\n', '/etc/kit/policy.yaml');
    expect(policy.signers).toEqual([
      { name: 'release', key: '/etc/kit/keys/release.pub' },
      { name: 'signers[1]', key: '/abs/ops.pub' },
    ]);
    expect(policy.allowedLicenses).toEqual(['Apache-2.0', 'MIT']);
    expect(policy.attestations).toEqual(['https://slsa.dev/provenance/v1']);
  });

  it('names the file, line and column of broken YAML', () => {
    expect(() => parsePolicy('signers:\n  - key: [unclosed\n', 'p.yaml')).toThrow(/^p\.yaml:\d+:\d+: /);
  });

  it('names the field that is wrong, and refuses unknown keys rather than ignoring a typo', () => {
    expect(() => parsePolicy('signers:\n  - name: x\n', 'p.yaml')).toThrow(/p\.yaml: signers\[0\]\.key: /);
    expect(() => parsePolicy('licences:\n  allowed: [MIT]\n', 'p.yaml')).toThrow(/p\.yaml: .*licences/);
    expect(() => parsePolicy('licenses:\n  allowed: []\n', 'p.yaml')).toThrow(/licenses\.allowed/);
  });
});
