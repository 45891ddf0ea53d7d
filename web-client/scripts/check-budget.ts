/// <reference types="node" />
/**
 * Build check: the JavaScript a first visit must download before the first paint (the entry
 * chunk plus everything it imports statically, not its dynamic imports) must stay under
 * {@link BUDGET_BYTES} gzipped. Reads Vite's `dist/.vite/manifest.json`; exits 1 over budget.
 * Also used by the benchmark to report every chunk's size.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Initial-JS budget in gzip bytes (issue 6: 250 KB). */
export const BUDGET_BYTES = 250 * 1024;

/**
 * Chunks (by their `manualChunks` name in vite.config.ts) that only a signed-in page needs and
 * that must never load before the first paint: a static import of the engine from the first
 * page's code (one `import { isClientError } from '@sotto/client'`) once put libsodium and the
 * engine in the initial JS, 65 → 248 KB, still under the budget.
 */
export const LAZY_ONLY = ['sodium', 'mqtt', 'qr'];

interface ManifestChunk {
  file: string;
  name?: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
}

/** One built file with its raw and gzip sizes. */
export interface ChunkSize {
  file: string;
  bytes: number;
  gzip: number;
  initial: boolean;
}

/** The build's manifest and the files of the chunks the entries import statically. */
function initialChunks(distDir: string): {
  manifest: Record<string, ManifestChunk>;
  initial: Set<string>;
} {
  const manifest = JSON.parse(
    readFileSync(join(distDir, '.vite', 'manifest.json'), 'utf8'),
  ) as Record<string, ManifestChunk>;
  const initial = new Set<string>();
  const visit = (key: string): void => {
    const chunk = manifest[key];
    if (chunk === undefined || initial.has(chunk.file)) return;
    initial.add(chunk.file);
    for (const dep of chunk.imports ?? []) visit(dep);
  };
  for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry === true) visit(key);
  return { manifest, initial };
}

/** The {@link LAZY_ONLY} chunks that load before the first paint in the build in `distDir`. */
export function eagerLazyChunks(distDir: string): string[] {
  const { manifest, initial } = initialChunks(distDir);
  return Object.values(manifest)
    .filter((c) => initial.has(c.file) && c.name !== undefined && LAZY_ONLY.includes(c.name))
    .map((c) => c.name!);
}

/** Sizes of every JS chunk in `distDir`, marking those loaded before the first paint. */
export function measureBundle(distDir: string): { chunks: ChunkSize[]; initialGzip: number } {
  const { manifest, initial } = initialChunks(distDir);
  const files = new Set(Object.values(manifest).map((c) => c.file));
  const chunks: ChunkSize[] = [];
  for (const file of files) {
    if (!file.endsWith('.js')) continue;
    const body = readFileSync(join(distDir, file));
    chunks.push({
      file,
      bytes: body.length,
      gzip: gzipSync(body, { level: 9 }).length,
      initial: initial.has(file),
    });
  }
  chunks.sort((a, b) => b.gzip - a.gzip);
  const initialGzip = chunks.filter((c) => c.initial).reduce((n, c) => n + c.gzip, 0);
  return { chunks, initialGzip };
}

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const dist = join(import.meta.dirname, '..', 'dist');
  const { chunks, initialGzip } = measureBundle(dist);
  for (const c of chunks) {
    console.log(`${c.initial ? 'initial' : 'lazy   '}  ${kb(c.gzip).padStart(9)} gz  ${c.file}`);
  }
  console.log(`initial JS: ${kb(initialGzip)} gzip (budget ${kb(BUDGET_BYTES)})`);
  if (initialGzip > BUDGET_BYTES) {
    console.error('check-budget: initial JS is over budget');
    process.exit(1);
  }
  const eager = eagerLazyChunks(dist);
  if (eager.length > 0) {
    console.error(
      `check-budget: ${eager.join(', ')} must load lazily, but the entry imports it statically`,
    );
    process.exit(1);
  }
}
