import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pack } from '../../src/modelkit/pack.js';
import { unpack } from '../../src/modelkit/unpack.js';
import { loadCases } from '../helpers/conformance.js';
import { freshStore, tempDir, writeTree } from './fixtures.js';

interface RefCase {
  description: string;
  modelkits: Array<{ tag: string; kitfile: string; files?: string[]; ignored?: string[]; packErrRegexp?: string }>;
}

// Upstream's TestModelKitReferences: pack each kit in turn (model.path may name an earlier one),
// unpack it, and find every file of the whole reference chain; or see pack fail as expected.
describe('KitOps modelkit-refs conformance cases', () => {
  for (const { file, data } of loadCases<RefCase>('testing/testdata/modelkit-refs')) {
    it(`${file}: ${data.description}`, async () => {
      const { store } = await freshStore();
      const allFiles: string[] = [];
      for (const kit of data.modelkits) {
        const dir = await tempDir('kit-ref');
        await writeFile(join(dir, 'Kitfile'), kit.kitfile);
        await writeTree(dir, [...(kit.files ?? []), ...(kit.ignored ?? [])].map((f) => normalize(f)));
        allFiles.push(...(kit.files ?? []).map((f) => normalize(f)));
        if (kit.packErrRegexp) {
          await expect(pack({ store, contextDir: dir, tags: [kit.tag] })).rejects.toThrow(new RegExp(kit.packErrRegexp));
          continue;
        }
        await pack({ store, contextDir: dir, tags: [kit.tag] });
        const out = await tempDir('kit-ref-out');
        await unpack({ store, reference: kit.tag, dir: out });
        for (const f of allFiles) expect(existsSync(join(out, f)), `${kit.tag}: ${f}`).toBe(true);
      }
    });
  }
});
