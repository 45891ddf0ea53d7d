/**
 * The built web client for embedded mode: find `web-client/dist`, decide
 * whether it is older than its sources, and build it with Vite when asked.
 * A failed build is reported, never fatal: the server then starts without
 * the web client (bots and the CLI still work).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Repository root (this file lives in `scripts/`). */
export const REPO_ROOT = join(import.meta.dirname, '..');

/** Where Vite writes the web client. */
export const WEB_DIST = join(REPO_ROOT, 'web-client', 'dist');

/** Sources whose change makes the bundle stale (the engine and crypto are bundled in). */
const SOURCES = [
  'web-client/src',
  'web-client/index.html',
  'web-client/public',
  'web-client/vite.config.ts',
  'web-client/package.json',
  'client/src',
  'crypto/src',
].map((p) => join(REPO_ROOT, p));

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry.name)));
  }
  return newest;
}

/** Why the bundle needs (re)building, or `null` when it is up to date. */
export function staleReason(dist = WEB_DIST): string | null {
  const index = join(dist, 'index.html');
  if (!existsSync(index)) return 'web-client/dist is missing';
  const built = statSync(index).mtimeMs;
  const newest = Math.max(...SOURCES.map(newestMtime));
  return newest > built ? 'web-client sources changed since the last build' : null;
}

/** Outcome of {@link ensureWebClient}. */
export type WebClientStatus =
  { ok: true; dir: string; built: boolean } | { ok: false; reason: string };

/**
 * Make sure a usable bundle exists: build it (`npm run build -w web-client`)
 * when `build` is true and it is stale. Never throws.
 */
export function ensureWebClient(opts: {
  build: boolean;
  log: (line: string) => void;
}): WebClientStatus {
  const reason = staleReason();
  let built = false;
  if (reason !== null && opts.build) {
    opts.log(`web client: ${reason}; building it (npm run build -w web-client)…`);
    const run = spawnSync('npm', ['run', 'build', '-w', 'web-client'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
    if (run.status !== 0) {
      const tail = `${run.stdout ?? ''}\n${run.stderr ?? ''}`
        .trim()
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.includes('npm warn'))
        .slice(-3)
        .join(' | ');
      if (!existsSync(join(WEB_DIST, 'index.html')))
        return { ok: false, reason: `the build failed (${tail || `exit ${run.status}`})` };
      opts.log(`web client: the build failed, serving the previous bundle (${tail})`);
    } else {
      built = true;
    }
  }
  if (!existsSync(join(WEB_DIST, 'index.html')))
    return { ok: false, reason: reason ?? 'web-client/dist/index.html is missing' };
  return { ok: true, dir: WEB_DIST, built };
}
