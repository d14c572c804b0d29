import { describe, expect, it } from 'vitest';
import { nameParts, npmPurl, ociPurl, pypiPurl } from '../../src/sbom/purl.js';
import { nameBasedUuid } from '../../src/sbom/uuid.js';

describe('package URLs', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  it('follow the purl type rules', () => {
    expect(pypiPurl('Django_REST', '3.0')).toBe('pkg:pypi/django-rest@3.0');
    expect(npmPurl('@Babel/Core', '7.0.0-beta.1')).toBe('pkg:npm/%40babel/core@7.0.0-beta.1');
  });

  it('name an OCI artifact by its repository, with repository_url only for an explicit registry', () => {
    expect(ociPurl(nameParts('registry.example.com:5000/org/model:v1'), digest)).toBe(`pkg:oci/model@sha256%3A${'ab'.repeat(32)}?repository_url=registry.example.com:5000/org/model&tag=v1`);
    expect(ociPurl(nameParts('demo/sentiment:v1'), digest)).toBe(`pkg:oci/sentiment@sha256%3A${'ab'.repeat(32)}?tag=v1`);
    expect(ociPurl(nameParts(`ghcr.io/org/m@${digest}`), digest)).toBe(`pkg:oci/m@sha256%3A${'ab'.repeat(32)}?repository_url=ghcr.io/org/m`);
    expect(ociPurl(nameParts(digest), digest)).toBeUndefined();
    expect(ociPurl(nameParts('Not A Reference'), digest)).toBeUndefined();
  });
});

describe('nameBasedUuid', () => {
  it('is RFC 4122 version 5 in the URL namespace (as Python uuid.uuid5 computes it)', () => {
    expect(nameBasedUuid(`urn:modelkit:${'ab'.repeat(32)}`)).toBe('97e2f813-0445-5153-889f-92a01a89b9e7');
  });
});
