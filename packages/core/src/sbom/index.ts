/**
 * SBOMs of ModelKits: CycloneDX 1.6 (an ML-BOM) or SPDX 3.0.1 JSON-LD, from the manifest, the
 * Kitfile and a stream of each code, docs and prompt layer; nothing is unpacked, and model and
 * dataset layers are described by their digests without being read. See spec/sbom.md.
 */
import { KitError } from '../errors.js';
import type { ResolvedLayer } from '../modelkit/contents.js';
import { ANNOTATION_CREATED } from '../modelkit/mediatypes.js';
import { toCycloneDx } from './cyclonedx.js';
import { describeForSbom, type SbomSubject } from './describe.js';
import { licenseProblems, type LicenseProblem } from './licenses.js';
import { toSpdx } from './spdx.js';
import { utcSeconds } from './time.js';

export { declaredLicenses, checkLicense, type DeclaredLicense, type LicenseProblem } from './licenses.js';
export type { SbomSubject } from './describe.js';

export type SbomFormat = 'cyclonedx' | 'spdx';

export const SBOM_MEDIA_TYPES: Record<SbomFormat, string> = {
  cyclonedx: 'application/vnd.cyclonedx+json',
  spdx: 'application/spdx+json',
};

export interface SbomOptions {
  format: SbomFormat;
  /** The stored bytes of one layer (compressed as its media type says). Only called for code, docs and prompt layers (never model/dataset layers, which can be huge). */
  readLayer: (layer: ResolvedLayer) => AsyncIterable<Buffer>;
  /** RFC 3339 time to stamp into the document. Default: none in CycloneDX; in SPDX (where CreationInfo.created is required) the manifest's org.opencontainers.image.created annotation if present, else 1970-01-01T00:00:00Z. */
  timestamp?: string;
  /** Tool version to record (the kit CLI version). */
  toolVersion: string;
}

export interface Sbom {
  format: SbomFormat;
  mediaType: string;
  bytes: Buffer;
  /** Kitfile licenses that are not valid SPDX expressions (they are in the SBOM as written, never dropped). */
  problems: LicenseProblem[];
}

/** The SBOM of one ModelKit. Same subject and options, same bytes. */
export async function generateSbom(subject: SbomSubject, options: SbomOptions): Promise<Sbom> {
  if (options.format !== 'cyclonedx' && options.format !== 'spdx') {
    throw new KitError('INVALID_ARGUMENT', `unknown SBOM format "${String(options.format)}": use cyclonedx or spdx`);
  }
  const timestamp = options.timestamp === undefined ? undefined : utcSeconds(options.timestamp);
  if (options.timestamp !== undefined && timestamp === undefined) {
    throw new KitError('INVALID_ARGUMENT', `timestamp "${options.timestamp}" is not an RFC 3339 time; write it like 2024-05-01T12:00:00Z`);
  }
  const description = await describeForSbom(subject, options.readLayer);
  const bytes =
    options.format === 'cyclonedx'
      ? toCycloneDx(description, { toolVersion: options.toolVersion, timestamp })
      : toSpdx(description, { toolVersion: options.toolVersion, created: timestamp ?? spdxDefaultCreated(subject) });
  return { format: options.format, mediaType: SBOM_MEDIA_TYPES[options.format], bytes, problems: licenseProblems(description.licenses) };
}

/** SPDX requires a creation time: the ModelKit's own (so the output stays reproducible), else the epoch. */
function spdxDefaultCreated(subject: SbomSubject): string {
  const annotated = subject.manifest.annotations?.[ANNOTATION_CREATED];
  return (annotated === undefined ? undefined : utcSeconds(annotated)) ?? '1970-01-01T00:00:00Z';
}
