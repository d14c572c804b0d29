// `kit run --push` end to end with the built CLI against a REAL registry (CNCF distribution
// `docker-registry` on 127.0.0.1, plain HTTP, no auth or htpasswd): a real training run of
// examples/fine-tune, its output and SLSA provenance pushed together, the manifest checked with the
// real skopeo, lineage walked from the registry alone, and a refused push ending `push_failed`
// with the output kept locally. No mocks.
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skopeo, startRegistry, type RegistryServer } from '../registry/harness.js';
import { kitIn, kitOk, ROOT } from '../kit-cli.js';

const FINE_TUNE = join(ROOT, 'examples/fine-tune');
const SLSA = 'https://slsa.dev/provenance/v1';

const servers: RegistryServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => {});
});

const newHome = (name: string) => mkdtemp(join(tmpdir(), `kit-push-run-${name}-`));
const runs = async (home: string) =>
  JSON.parse((await kitOk(home, ['runs', 'list', '--json'])).stdout) as Array<{ id: string; status: string; terminationReason?: string; inputDigest?: string; output?: { digest: string; references: string[] } }>;
const referrers = async (home: string, ref: string) =>
  JSON.parse((await kitOk(home, ['referrers', ref, '-r', '--json'])).stdout) as { subject: string; referrers: Array<{ digest: string; artifactType?: string; annotations?: Record<string, string> }> };

describe('kit run --push (real registry)', () => {
  it('pushes the trained ModelKit with its provenance; lineage resolves from the registry alone', async () => {
    const registry = await startRegistry();
    servers.push(registry);
    const home = await newHome('plain');
    const base = `${registry.host}/demo/ft:base`;
    const trainedRef = `${registry.host}/demo/ft:trained`;
    const baseDigest = (await kitOk(home, ['pack', FINE_TUNE, '-t', base])).stdout.trim();
    await kitOk(home, ['push', base]); // so that the whole chain is in the registry

    const run = await kitOk(home, ['run', base, '-t', trainedRef, '--push']); // 127.0.0.1 is plain HTTP by default
    expect(run.stdout).toContain('epoch 20/20');
    const [latest] = await runs(home);
    expect(latest).toMatchObject({ status: 'succeeded', terminationReason: 'exit_code:0', inputDigest: baseDigest, output: { references: [trainedRef] } });
    const trained = latest!.output!.digest;

    // The registry serves the exact manifest, read by an independent client.
    const raw = (await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${trainedRef}`])).stdout;
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(trained);
    expect(JSON.parse((await kitOk(home, ['inspect', '-r', trainedRef])).stdout).digest).toBe(trained);

    // The provenance referrer went with it.
    const attached = await referrers(home, trainedRef);
    expect(attached.subject).toBe(trained);
    expect(attached.referrers).toHaveLength(1);
    expect(attached.referrers[0]).toMatchObject({ artifactType: 'application/vnd.in-toto+json', annotations: { 'dev.sigstore.bundle.predicateType': SLSA } });

    // A fresh kit home with nothing in it walks the lineage from the registry alone, and stores nothing.
    const empty = await newHome('empty');
    const steps = JSON.parse((await kitOk(empty, ['lineage', trainedRef, '-r', '--json'])).stdout);
    expect(steps).toEqual([
      { digest: trained, runId: latest!.id, builder: 'https://modelkit-ts.dev/runner/local', signed: false, input: { uri: `oci://${registry.host}/demo/ft@${baseDigest}`, digest: baseDigest } },
      { digest: baseDigest, signed: false },
    ]);
    expect(JSON.parse((await kitOk(empty, ['list', '--json'])).stdout)).toEqual([]);
    expect(JSON.parse((await kitOk(empty, ['inspect', '-r', `${registry.host}/demo/ft@${baseDigest}`])).stdout).digest).toBe(baseDigest);
  });

  it('a refused push (Basic auth, not logged in) ends push_failed with the output kept; after kit login it pushes', async () => {
    const registry = await startRegistry({ auth: 'htpasswd', users: { alice: 'run-pw' } });
    servers.push(registry);
    const home = await newHome('basic');
    const trainedRef = `${registry.host}/team/ft:trained`;
    await kitOk(home, ['pack', FINE_TUNE, '-t', 'demo/ft:base']);

    const refused = await kitIn(home, ['run', 'demo/ft:base', '-t', trainedRef, '--push', '--json']);
    expect(refused.code).toBe(4);
    const errors = refused.stderr.split('\n').filter((l) => l.startsWith('Error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('kit login');
    const [failed] = await runs(home);
    expect(failed).toMatchObject({ status: 'failed', terminationReason: 'push_failed', output: { references: [trainedRef] } });
    // --json still prints the final state when the run ends by a failed push.
    expect(JSON.parse(refused.stdout.slice(refused.stdout.lastIndexOf('\n{')))).toEqual(failed);
    const listed = JSON.parse((await kitOk(home, ['list', '--json'])).stdout) as Array<{ repo: string; tags: string[]; digest: string }>;
    expect(listed.find((r) => r.repo === `${registry.host}/team/ft`)).toMatchObject({ tags: ['trained'], digest: failed!.output!.digest });

    await kitOk(home, ['login', registry.host, '-u', 'alice', '--password-stdin'], 'run-pw\n');
    await kitOk(home, ['run', 'demo/ft:base', '-t', trainedRef, '--push']);
    const [pushed] = await runs(home);
    expect(pushed).toMatchObject({ status: 'succeeded', terminationReason: 'exit_code:0' });
    expect(pushed!.output!.digest).not.toBe(failed!.output!.digest); // a new run, a new ModelKit
    expect(JSON.parse((await kitOk(home, ['inspect', '-r', trainedRef])).stdout).digest).toBe(pushed!.output!.digest);
    const attached = await referrers(home, trainedRef);
    expect(attached.referrers.map((r) => r.annotations?.['dev.sigstore.bundle.predicateType'])).toEqual([SLSA]);
  });
});
