import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KitError } from '@modelkit/core';
import { loadRunFile, RUNFILE_NAMES } from '../../src/runfile/index.js';

const MIN = 'run: python train.py\noutputs:\n  model: model.safetensors\n';

async function caught(p: Promise<unknown>): Promise<KitError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(KitError);
    return e as KitError;
  }
  throw new Error('expected an error');
}

describe('loadRunFile', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'runfile-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('looks for kitrun.yaml, then kitrun.yml', () => {
    expect(RUNFILE_NAMES).toEqual(['kitrun.yaml', 'kitrun.yml']);
  });

  it.each(RUNFILE_NAMES)('finds %s and parses it', async (name) => {
    await writeFile(join(dir, name), MIN);
    const { path, runFile } = await loadRunFile(dir);
    expect(path).toBe(join(dir, name));
    expect(runFile.run).toEqual(['python train.py']);
  });

  it('names the directory and the expected files when there is none', async () => {
    await writeFile(join(dir, 'Kitfile'), 'manifestVersion: 1.0.0\n');
    const e = await caught(loadRunFile(dir));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe(`no run file in ${dir}: expected kitrun.yaml or kitrun.yml beside the Kitfile, saying how to train (see spec/runfile.md)`);
  });

  it('refuses a directory that does not exist', async () => {
    const e = await caught(loadRunFile(join(dir, 'nope')));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain(`${join(dir, 'nope')} is not a directory`);
  });

  it('refuses both names at once', async () => {
    await writeFile(join(dir, 'kitrun.yaml'), MIN);
    await writeFile(join(dir, 'kitrun.yml'), MIN);
    const e = await caught(loadRunFile(dir));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(`${dir} holds both kitrun.yaml and kitrun.yml; keep one run file`);
  });

  it('refuses a run file that is not a regular file', async () => {
    await mkdir(join(dir, 'kitrun.yaml'));
    const e = await caught(loadRunFile(dir));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toContain('kitrun.yaml is not a regular file');
  });

  it('reports problems under the file\'s path', async () => {
    await writeFile(join(dir, 'kitrun.yml'), 'run: x\noutputs:\n  model: /abs\n');
    const e = await caught(loadRunFile(dir));
    expect(e.message).toBe(`${join(dir, 'kitrun.yml')}:3:10: outputs.model: "/abs" is absolute; write a path relative to the outputs dir, e.g. out/tokenizer.json`);
  });

  it('refuses a file far larger than a run file', async () => {
    await writeFile(join(dir, 'kitrun.yaml'), `${MIN}#${'x'.repeat(1024 * 1024)}\n`);
    const e = await caught(loadRunFile(dir));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/a run file is a few lines of YAML/);
  });
});
