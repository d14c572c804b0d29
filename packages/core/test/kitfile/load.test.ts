import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KitError } from '../../src/errors.js';
import { findKitfile, loadKitfile } from '../../src/kitfile/load.js';
import { rejection } from '../helpers/caught.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kitfile-load-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('findKitfile', () => {
  it('tries Kitfile, kitfile, .kitfile in that order', () => {
    writeFileSync(join(dir, '.kitfile'), 'manifestVersion: 1.0.0\n');
    expect(findKitfile(dir)).toBe(join(dir, '.kitfile'));
    writeFileSync(join(dir, 'kitfile'), 'manifestVersion: 1.0.0\n');
    expect(findKitfile(dir)).toBe(join(dir, 'kitfile'));
    writeFileSync(join(dir, 'Kitfile'), 'manifestVersion: 1.0.0\n');
    expect(findKitfile(dir)).toBe(join(dir, 'Kitfile'));
  });

  it('ignores a directory named Kitfile', () => {
    mkdirSync(join(dir, 'Kitfile'));
    writeFileSync(join(dir, 'kitfile'), 'manifestVersion: 1.0.0\n');
    expect(findKitfile(dir)).toBe(join(dir, 'kitfile'));
  });

  it('names the directory and the names tried when none exists', () => {
    let error: unknown;
    try {
      findKitfile(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KitError);
    expect((error as KitError).code).toBe('KITFILE_NOT_FOUND');
    expect((error as KitError).message).toBe(`no Kitfile found in ${dir} (tried Kitfile, kitfile, .kitfile); create one (kit init) or pass its path with -f`);
  });

  it('uses an explicit path or stdin as given', () => {
    const custom = join(dir, 'my.yaml');
    writeFileSync(custom, 'manifestVersion: 1.0.0\n');
    expect(findKitfile(dir, custom)).toBe(custom);
    expect(findKitfile(dir, '-')).toBe('-');
    expect(() => findKitfile(dir, join(dir, 'missing'))).toThrow(/Kitfile .*missing not found/);
  });
});

describe('loadKitfile', () => {
  it('reads, parses and validates, returning text and warnings', async () => {
    const path = join(dir, 'Kitfile');
    const text = 'manifestVersion: 2.0.0\nmodel:\n  path: m\n';
    writeFileSync(path, text);
    const loaded = await loadKitfile(path);
    expect(loaded.kitfile).toEqual({ manifestVersion: '2.0.0', package: {}, model: { path: 'm' } });
    expect(loaded.text).toBe(text);
    expect(loaded.file).toBe(path);
    expect(loaded.warnings).toEqual([`${path}:1:18: Unrecognized manifestVersion "2.0.0", treating Kitfile as 1.0.0; set "manifestVersion: 1.0.0" to silence this`]);
  });

  it('reports validation errors with the file name and position', async () => {
    const path = join(dir, 'Kitfile');
    writeFileSync(path, 'manifestVersion: 1.0.0\ncode:\n  - path: ../outside\n');
    const e = await rejection(loadKitfile(path));
    expect(e.code).toBe('KITFILE_INVALID');
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:11: paths outside the context directory`));
  });

  it("reads stdin for '-'", async () => {
    const loaded = await loadKitfile('-', { stdin: Readable.from([Buffer.from('manifestVersion: 1.0.0\n'), Buffer.from('code:\n  - path: src\n')]) });
    expect(loaded.file).toBe('<stdin>');
    expect(loaded.kitfile.code).toEqual([{ path: 'src' }]);
    const e = await rejection(loadKitfile('-', { stdin: Readable.from(['manifestVersion: 1.0.0\nbogus: 1\n']) }));
    expect(e.message).toMatch(/^<stdin>:2:1: unknown key "bogus"/);
  });

  it('maps a missing file to KITFILE_NOT_FOUND', async () => {
    expect((await rejection(loadKitfile(join(dir, 'nope')))).code).toBe('KITFILE_NOT_FOUND');
  });
});
