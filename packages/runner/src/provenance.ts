import type { KeyObject } from 'node:crypto';
import {
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  attestationPayload,
  IN_TOTO_PAYLOAD_TYPE,
  inTotoStatement,
  type ArtifactPayload,
  type Descriptor,
  type InTotoStatement,
  type ReadTarget,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  TOOL_VERSION,
} from '@modelkit/core';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** Our build type: what `externalParameters` and `internalParameters` mean (spec/runner.md). */
export const RUN_BUILD_TYPE = 'https://modelkit-ts.dev/run/v1';
/** An unsigned attestation: a DSSE envelope with no signatures (SLSA Build L1). */
export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

export interface RunProvenance {
  runId: string;
  backend: string;
  host: string;
  input: { reference: string; digest: string; mediaType: string };
  /** Name of the output repository (for the statement's subject name). */
  outputName: string;
  runFile: { path: string; digest: string; content: unknown };
  command: { setup: string[]; run: string[] };
  env: Record<string, string>;
  secretNames: string[];
  resources: unknown;
  gpus: Array<{ uuid: string; name: string; memoryTotalMiB: number }>;
  driverVersion?: string;
  cudaVersion?: string;
  /** A cluster backend's job: the scheduler's id for it and the nodes it ran on. */
  job?: { scheduler: 'slurm' | 'kubernetes'; id: string; nodes: string[]; [detail: string]: unknown };
  startedOn: string;
  finishedOn: string;
  log: { digest: string; size: number };
  exitCode: number;
}

/** The SLSA v1 predicate of a run, after runner.md §7: what the user controlled vs what the runner decided. */
export function provenanceStatement(output: Descriptor, p: RunProvenance): InTotoStatement {
  const hex = (d: string) => d.slice('sha256:'.length);
  return inTotoStatement([{ name: p.outputName, digest: { sha256: hex(output.digest) } }], SLSA_PROVENANCE_V1, {
    buildDefinition: {
      buildType: RUN_BUILD_TYPE,
      externalParameters: {
        input: `oci://${p.input.reference}@${p.input.digest}`,
        runFile: p.runFile.path,
        command: p.command,
        env: p.env,
        secrets: p.secretNames, // names only
        resources: p.resources,
      },
      internalParameters: {
        backend: p.backend,
        host: p.host,
        gpus: p.gpus,
        cudaVisibleDevices: p.gpus.map((g) => g.uuid).join(','),
        ...(p.driverVersion ? { driverVersion: p.driverVersion } : {}),
        ...(p.cudaVersion ? { cudaVersion: p.cudaVersion } : {}),
        ...(p.job ? { job: p.job } : {}),
      },
      resolvedDependencies: [
        { uri: `oci://${p.input.reference}@${p.input.digest}`, digest: { sha256: hex(p.input.digest) }, name: 'input:modelkit', mediaType: p.input.mediaType },
        { uri: p.runFile.path, digest: { sha256: hex(p.runFile.digest) }, name: 'runfile' },
      ],
    },
    runDetails: {
      // One builder id per backend kind (runner.md §7); which host is in internalParameters.
      builder: { id: `https://modelkit-ts.dev/runner/${p.backend.replace(/:.*$/, '')}`, version: { runner: TOOL_VERSION } },
      metadata: { invocationId: p.runId, startedOn: p.startedOn, finishedOn: p.finishedOn },
      byproducts: [{ name: 'run.log', digest: { sha256: hex(p.log.digest) } }, { name: 'exitCode', content: Buffer.from(String(p.exitCode)).toString('base64') }],
    },
  });
}

/** The statement as a referrer payload: a signed Sigstore bundle with a key, else an unsigned DSSE envelope. */
export function provenancePayload(output: Descriptor, statement: InTotoStatement, key?: KeyObject): ArtifactPayload {
  if (key) return attestationPayload(output, statement.subject[0]!.name, statement.predicateType, statement.predicate, key).payload;
  const envelope = { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: Buffer.from(JSON.stringify(statement)).toString('base64'), signatures: [] };
  return {
    artifactType: IN_TOTO_PAYLOAD_TYPE,
    mediaType: DSSE_ENVELOPE_MEDIA_TYPE,
    bytes: Buffer.from(JSON.stringify(envelope)),
    title: 'provenance.intoto.json',
    annotations: { [ANNOTATION_BUNDLE_PREDICATE_TYPE]: SLSA_PROVENANCE_V1 },
  };
}

/** One step of `kit lineage`: a ModelKit, the run that made it, and what went in. */
export interface LineageStep {
  digest: string;
  runId?: string;
  builder?: string;
  signed: boolean;
  input?: { uri: string; digest: string };
}

/**
 * Read the provenance attached to `digest` (signed bundle or unsigned envelope) without trusting
 * it: lineage shows what the statements say; `kit verify` is what checks signatures.
 */
export async function readProvenance(target: ReadTarget, digest: string): Promise<{ statement: InTotoStatement; signed: boolean } | undefined> {
  for (const referrer of await target.referrers(digest)) {
    const isBundle = referrer.artifactType === SIGSTORE_BUNDLE_MEDIA_TYPE && referrer.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE] === SLSA_PROVENANCE_V1;
    if (!isBundle && referrer.artifactType !== IN_TOTO_PAYLOAD_TYPE) continue;
    const manifest = JSON.parse((await target.fetchManifest(referrer)).toString('utf8')) as { layers: Descriptor[] };
    const payload = JSON.parse((await target.fetchBlobBytes(manifest.layers[0]!)).toString('utf8')) as { dsseEnvelope?: { payload: string }; payload?: string };
    const encoded = payload.dsseEnvelope?.payload ?? payload.payload;
    if (!encoded) continue;
    const statement = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as InTotoStatement;
    if (statement.predicateType === SLSA_PROVENANCE_V1) return { statement, signed: isBundle };
  }
  return undefined;
}

/** Walk parents back through provenance: each ModelKit's input, as long as the target has it. */
export async function lineage(target: ReadTarget, digest: string, maxDepth = 50): Promise<LineageStep[]> {
  const steps: LineageStep[] = [];
  let current: string | undefined = digest;
  const seen = new Set<string>();
  while (current && !seen.has(current) && steps.length < maxDepth) {
    seen.add(current);
    const found = await readProvenance(target, current);
    if (!found) {
      steps.push({ digest: current, signed: false });
      break;
    }
    const predicate = found.statement.predicate as {
      buildDefinition?: { resolvedDependencies?: Array<{ name?: string; uri: string; digest: { sha256: string } }> };
      runDetails?: { builder?: { id?: string }; metadata?: { invocationId?: string } };
    };
    const input = predicate.buildDefinition?.resolvedDependencies?.find((d) => d.name === 'input:modelkit');
    steps.push({
      digest: current,
      runId: predicate.runDetails?.metadata?.invocationId,
      builder: predicate.runDetails?.builder?.id,
      signed: found.signed,
      input: input ? { uri: input.uri, digest: `sha256:${input.digest.sha256}` } : undefined,
    });
    current = input ? `sha256:${input.digest.sha256}` : undefined;
  }
  return steps;
}
