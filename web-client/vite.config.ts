/**
 * Vite build of the Sotto web client.
 *
 * The first paint only needs Lit, the shell and the auth / list views; the engine (libsodium,
 * mqtt.js, @sotto/client) and the heavy views (contact info with QR show/scan, emoji picker,
 * settings, search, group settings, device linking) are dynamic imports and land in their own
 * chunks. `scripts/check-budget.ts` fails the build when the initial JS grows past its budget.
 * In development, `/v1`, `/mqtt` and `/healthz` are proxied to a local server on :8080.
 */
import { defineConfig } from 'vite';

const SERVER = 'http://127.0.0.1:8080';

export default defineConfig({
  root: import.meta.dirname,
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
