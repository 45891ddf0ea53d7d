/**
 * The docker-compose proxy sends the web client's security headers from the one definition
 * (scripts/web-headers.ts): `deploy/nginx-headers.conf` is exactly what the module generates,
 * every location of `deploy/nginx.conf` that serves the web client includes it, and a real nginx
 * (Debian's, when installed) running those very location blocks sends the headers on the page,
 * on an asset and on a client-side route.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NGINX_HEADERS_FILE } from '../../scripts/nginx-headers.ts';
import { nginxHeaderSnippet, webSecurityHeaders } from '../../scripts/web-headers.ts';
import { freePort, waitFor } from '../support/ports.ts';
import { ROOT } from './helpers.ts';

const NGINX = '/usr/sbin/nginx';
const conf = readFileSync(join(ROOT, 'deploy', 'nginx.conf'), 'utf8');

/** The `location <path> { … }` block of nginx.conf (locations there hold no nested braces). */
function locationBlock(path: string): string {
  const m = new RegExp(`\\n\\s*location ${path.replace(/\//g, '\\/')} \\{[^}]*\\}`).exec(conf);
  if (m === null) throw new Error(`nginx.conf has no location ${path}`);
  return m[0];
}

describe('deploy/nginx-headers.conf', () => {
  it('is what scripts/web-headers.ts generates (run `npx tsx scripts/nginx-headers.ts`)', () => {
    expect(readFileSync(NGINX_HEADERS_FILE, 'utf8')).toBe(nginxHeaderSnippet());
  });

  it('is included by every location serving the web client and copied by Dockerfile.web', () => {
    for (const path of ['/', '/assets/'])
      expect(locationBlock(path)).toContain('include /etc/nginx/nginx-headers.conf;');
    expect(readFileSync(join(ROOT, 'deploy', 'Dockerfile.web'), 'utf8')).toContain(
      'COPY deploy/nginx-headers.conf /etc/nginx/nginx-headers.conf',
    );
  });
});

describe('a real nginx with those locations', () => {
  let dir: string | undefined;
  let nginx: ChildProcess | undefined;
  afterAll(async () => {
    if (nginx !== undefined && nginx.exitCode === null) {
      const gone = new Promise((r) => nginx?.once('exit', r));
      nginx.kill('SIGQUIT');
      await gone;
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!existsSync(NGINX))(
    'sends the headers on the page, an asset and a client-side route',
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'sotto-nginx-'));
      // Started as root, nginx's workers run as an unprivileged user that must read the files.
      chmodSync(dir, 0o755);
      const html = join(dir, 'html');
      mkdirSync(join(html, 'assets'), { recursive: true });
      writeFileSync(join(html, 'index.html'), '<!doctype html><title>Sotto</title>');
      writeFileSync(join(html, 'assets', 'index-abc.js'), 'export {};');
      const port = await freePort();
      const locations = ['/', '/assets/']
        .map(locationBlock)
        .join('\n')
        .replaceAll('/etc/nginx/nginx-headers.conf', NGINX_HEADERS_FILE);
      const temp = (name: string) => `${name}_temp_path ${join(dir as string, name)};`;
      writeFileSync(
        join(dir, 'nginx.conf'),
        `daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')};
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  server {
    listen 127.0.0.1:${port};
    root ${html};
    ${locations}
  }
}
`,
      );
      nginx = spawn(
        NGINX,
        ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
        {
          stdio: 'ignore',
        },
      );
      const base = `http://127.0.0.1:${port}`;
      const log = join(dir, 'error.log');
      await waitFor(
        () =>
          fetch(`${base}/`).then(
            (r) => r.ok,
            () => false,
          ),
        { timeoutMs: 10_000, what: 'nginx to answer' },
      ).catch((err: Error) => {
        throw new Error(
          `${err.message}; nginx said: ${existsSync(log) ? readFileSync(log, 'utf8') : '(nothing)'}`,
        );
      });
      for (const path of ['/', '/assets/index-abc.js', '/c/dm%3Abob']) {
        const r = await fetch(`${base}${path}`);
        expect(r.status, path).toBe(200);
        for (const [name, value] of webSecurityHeaders())
          expect(r.headers.get(name), `${path} ${name}`).toBe(value);
      }
      const asset = await fetch(`${base}/assets/index-abc.js`);
      expect(asset.headers.get('cache-control')).toContain('immutable');
    },
  );
});
