/**
 * Vite build of the Sotto web client.
 *
 * The first paint only needs Lit, the shell and the auth / list views; the engine (libsodium,
 * mqtt.js, @sotto/client) and the heavy views (contact info with QR show/scan, emoji picker,
 * settings, search, group settings, device linking) are dynamic imports and land in their own
 * chunks. `scripts/check-budget.ts` fails the build when the initial JS grows past its budget.
 * In development, `/v1`, `/mqtt` and `/healthz` are proxied to a local server on :8080.
 *
 * The service worker (`src/sw/service-worker.ts`) is built last, by esbuild into `dist/sw.js`
 * (one classic script at the root, so its scope is the whole app), with the list of this build's
 * files and a version hashed from their names and the page written in: a changed build is a
 * changed worker, which the browser installs as an update (docs/WEB.md).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build as esbuild } from 'esbuild';
import { defineConfig, type Plugin } from 'vite';

const SERVER = 'http://127.0.0.1:8080';

/** Every file under `dir`, as `/`-rooted URL paths. */
function filesUnder(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? filesUnder(join(dir, e.name), root)
      : [`/${relative(root, join(dir, e.name)).split('\\').join('/')}`],
  );
}

/** Build `dist/sw.js` after the bundle is written (see the header). */
function serviceWorker(): Plugin {
  let outDir = '';
  return {
    name: 'sotto-service-worker',
    apply: 'build',
    configResolved(config) {
      outDir = join(config.root, config.build.outDir);
    },
    async closeBundle() {
      const shell = [
        '/',
        ...filesUnder(outDir).filter(
          (f) => f !== '/index.html' && f !== '/sw.js' && !f.startsWith('/.vite/'),
        ),
      ].sort();
      const version = createHash('sha256')
        .update(shell.join('\n'))
        .update(readFileSync(join(outDir, 'index.html')))
        .digest('hex')
        .slice(0, 16);
      await esbuild({
        entryPoints: [join(import.meta.dirname, 'src/sw/service-worker.ts')],
        outfile: join(outDir, 'sw.js'),
        bundle: true,
        format: 'iife',
        target: 'es2022',
        minify: true,
        legalComments: 'none',
        define: {
          // mqtt.js checks `global` in a few browser paths (as in the page's build below).
          global: 'globalThis',
          __SOTTO_SHELL__: JSON.stringify(shell),
          __SOTTO_VERSION__: JSON.stringify(version),
        },
      });
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  plugins: [serviceWorker()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    manifest: true,
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      output: {
        manualChunks(id: string): string | undefined {
          // Rollup's CommonJS interop helpers are shared by Dexie (initial) and the lazy CJS
          // libraries; left alone they land in a lazy chunk that the entry then imports.
          if (id.includes('commonjsHelpers')) return 'cjs-helpers';
          if (id.includes('libsodium')) return 'sodium';
          if (id.includes('node_modules/mqtt') || id.includes('node_modules/mqtt-packet')) {
            return 'mqtt';
          }
          if (id.includes('node_modules/qrcode') || id.includes('node_modules/jsqr')) return 'qr';
          return undefined;
        },
      },
    },
  },
  server: {
    port: 5173,
    proxy: {
      '/v1': { target: SERVER, changeOrigin: true },
      '/healthz': { target: SERVER, changeOrigin: true },
      '/mqtt': { target: SERVER, ws: true, changeOrigin: true },
    },
  },
  define: {
    // mqtt.js checks `global` and `process` in a few browser paths.
    global: 'globalThis',
  },
});
