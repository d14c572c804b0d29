// End-to-end: the built `kit` binary as users run it, on the example project, with a private store.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const KIT = join(ROOT, 'packages/cli/dist/main.js');
const EXAMPLE = join(ROOT, 'examples/sentiment');

let home: string;
async function kit(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [KIT, ...args], { env: { ...process.env, KITOPS_HOME: home, ...env }, maxBuffer: 64 << 20 });
}
async function kitFails(args: string[]) {
  try {
    await kit(args);
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
  throw new Error(`kit ${args.join(' ')} succeeded but should have failed`);
}

beforeAll(async () => {
  if (!existsSync(KIT)) throw new Error(`${KIT} is missing: run npm run build first`);
  home = await mkdtemp(join(tmpdir(), 'kit-cli-'));
});

describe('kit CLI', () => {
  it('packs, lists, inspects, shows info, unpacks and removes the example', async () => {
    const packed = await kit(['pack', EXAMPLE, '-t', 'demo/sentiment:v1,latest']);
    const digest = packed.stdout.trim();
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    const list = JSON.parse((await kit(['list', '--json'])).stdout);
    expect(list).toEqual([expect.objectContaining({ repo: 'localhost/demo/sentiment', tags: ['latest', 'v1'], digest, modelName: 'sentiment-demo' })]);
    const table = (await kit(['list'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+MAINTAINER\s+NAME\s+SIZE\s+DIGEST$/);

    const inspect = JSON.parse((await kit(['inspect', 'demo/sentiment:v1'])).stdout);
    expect(inspect.digest).toBe(digest);
    expect(inspect.manifest.artifactType).toBe('application/vnd.kitops.modelkit.manifest.v1+json');
    expect((await kit(['info', 'demo/sentiment', '-f', '.model.path'])).stdout.trim()).toBe('model/sentiment.safetensors');
    expect((await kit(['info', digest])).stdout).toContain('name: sentiment-demo');

    const out = await mkdtemp(join(tmpdir(), 'kit-unpacked-'));
    await kit(['unpack', 'demo/sentiment:v1', '-d', out]);
    for (const f of ['model/sentiment.safetensors', 'model/vocab.json', 'data/train.csv', 'src/train.py', 'README.md', 'Kitfile']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'model/sentiment.safetensors')).equals(readFileSync(join(EXAMPLE, 'model/sentiment.safetensors')))).toBe(true);

    const again = await kitFails(['unpack', 'demo/sentiment:v1', '-d', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^Error: .*already exist.*-o to overwrite/m);

    const modelOnly = await mkdtemp(join(tmpdir(), 'kit-model-'));
    await kit(['unpack', 'demo/sentiment:v1', '--model', '-d', modelOnly]);
    expect(readdirSync(modelOnly).sort()).toEqual(['model']);

    await kit(['tag', 'demo/sentiment:v1', 'other/name:x']);
    await kit(['remove', 'demo/sentiment:v1']); // untags: latest remains
    expect(JSON.parse((await kit(['list', '--json'])).stdout)).toHaveLength(2);
    await kit(['remove', '--all', '--force']);
    expect(JSON.parse((await kit(['list', '--json'])).stdout)).toEqual([]);
    expect(readdirSync(join(home, 'storage/blobs/sha256'))).toEqual([]);
  });

  it('reports bad input as one clear line with a non-zero exit code', async () => {
    const missing = await kitFails(['inspect', 'nothing/here:v9']);
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('nothing/here:v9');

    const ctx = await mkdtemp(join(tmpdir(), 'kit-bad-'));
    await writeFile(join(ctx, 'Kitfile'), 'manifestVersion: 1.0.0\nmodle:\n  path: x\n');
    const bad = await kitFails(['pack', ctx]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Kitfile:2:1/);

    const filter = await kitFails(['unpack', 'x:y', '--filter', 'weights']);
    expect(filter.code).toBe(2);
    expect(filter.stderr).toContain('unknown filter type "weights"');
  });

  it('keeps the store consistent when several kit processes tag and pack at once', async () => {
    await kit(['pack', EXAMPLE, '-t', 'race/base:v0']);
    const jobs = Array.from({ length: 6 }, (_, i) =>
      i % 2 === 0 ? kit(['tag', 'race/base:v0', `race/base:t${i}`]) : kit(['pack', EXAMPLE, '-t', `race/base:p${i}`]),
    );
    await Promise.all(jobs);
    const tags = JSON.parse(readFileSync(join(home, 'storage', `${Buffer.from('localhost/race/base').toString('base64')}-tags.json`), 'utf8'));
    expect(Object.keys(tags).sort()).toEqual(['p1', 'p3', 'p5', 't0', 't2', 't4', 'v0']);
    await kit(['remove', '--all', '--force']);
  });

  it('leaves no half blob and no tag when pack is killed mid-way', async () => {
    const ctx = await mkdtemp(join(tmpdir(), 'kit-crash-'));
    const big = await open(join(ctx, 'weights.bin'), 'w');
    const block = Buffer.alloc(8 << 20, 7);
    for (let i = 0; i < 96; i++) await big.write(block); // 768 MiB: long enough to kill mid-pack
    await big.close();
    await writeFile(join(ctx, 'Kitfile'), 'manifestVersion: 1.0.0\nmodel:\n  path: weights.bin\n');
    const child = spawn(process.execPath, [KIT, 'pack', ctx, '-t', 'crash/kit:v1'], { env: { ...process.env, KITOPS_HOME: home }, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 400));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(existsSync(join(home, 'storage', `${Buffer.from('localhost/crash/kit').toString('base64')}-tags.json`))).toBe(false);
    // Whatever reached blobs/ is complete: each file's name is its digest.
    const { createHash } = await import('node:crypto');
    for (const hex of readdirSync(join(home, 'storage/blobs/sha256'))) {
      expect(createHash('sha256').update(readFileSync(join(home, 'storage/blobs/sha256', hex))).digest('hex')).toBe(hex);
    }
    // The next GC clears the dead process's partial upload.
    await kit(['remove', '--all', '--force']);
    expect(readdirSync(join(home, 'storage/ingest'))).toEqual([]);
  });
});

describe('kit list REPOSITORY', () => {
  it('names repositories by kit reference rules', async () => {
    await kit(['pack', EXAMPLE, '-t', 'org/model:v1']);
    await kit(['pack', EXAMPLE, '-t', 'registry.example.com/org/model:v1']);
    const local = JSON.parse((await kit(['list', 'org/model', '--json'])).stdout);
    expect(local.map((r: { repo: string }) => r.repo)).toEqual(['localhost/org/model']);
    const remote = JSON.parse((await kit(['list', 'registry.example.com/org/model', '--json'])).stdout);
    expect(remote.map((r: { repo: string }) => r.repo)).toEqual(['registry.example.com/org/model']);
    await kit(['remove', '--all', '--force']);
  });
});
