/**
 * The build check of what loads before the first paint (scripts/check-budget.ts), on manifests
 * shaped like Vite's: the chunks only a signed-in page needs are refused in the initial set, and
 * only there.
 */
// @vitest-environment node
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eagerLazyChunks, measureBundle } from '../scripts/check-budget.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A dist folder with `manifest` and a small file for each chunk in it. */
function dist(manifest: Record<string, object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-budget-'));
  dirs.push(dir);
  mkdirSync(join(dir, '.vite'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, '.vite', 'manifest.json'), JSON.stringify(manifest));
  for (const c of Object.values(manifest) as { file: string }[])
    writeFileSync(join(dir, c.file), `export const f = ${JSON.stringify(c.file)};`);
  return dir;
}

const sodium = { file: 'assets/sodium-1.js', name: 'sodium' };
const adapter = { file: 'assets/engine-adapter-1.js', name: 'engine-adapter' };

describe('check-budget', () => {
  it('refuses libsodium imported statically by the entry, directly or through another chunk', () => {
    const direct = dist({
      'index.html': { file: 'assets/index-1.js', isEntry: true, imports: ['_sodium-1.js'] },
      '_sodium-1.js': sodium,
    });
    expect(eagerLazyChunks(direct)).toEqual(['sodium']);
    const through = dist({
      'index.html': { file: 'assets/index-1.js', isEntry: true, imports: ['_shared-1.js'] },
      '_shared-1.js': { file: 'assets/shared-1.js', imports: ['_sodium-1.js'] },
      '_sodium-1.js': sodium,
    });
    expect(eagerLazyChunks(through)).toEqual(['sodium']);
    expect(measureBundle(through).chunks.find((c) => c.file === sodium.file)?.initial).toBe(true);
  });

  it('accepts libsodium behind a dynamic import', () => {
    const lazy = dist({
      'index.html': {
        file: 'assets/index-1.js',
        isEntry: true,
        dynamicImports: ['src/services/engine-adapter.ts'],
      },
      'src/services/engine-adapter.ts': { ...adapter, imports: ['_sodium-1.js'] },
      '_sodium-1.js': sodium,
    });
    expect(eagerLazyChunks(lazy)).toEqual([]);
    expect(measureBundle(lazy).chunks.find((c) => c.file === sodium.file)?.initial).toBe(false);
  });
});
