/**
 * The per-IP login limit behind a real nginx configured like `deploy/nginx.conf` (it appends the
 * address it saw to X-Forwarded-For), with the key server trusting only nginx's address
 * (issue 15, docs/OPERATIONS.md "Behind a proxy"). nginx talks to the key server from 127.0.0.2;
 * clients reach nginx from 127.0.0.3 and 127.0.0.4, each forging X-Forwarded-For: the key server
 * counts each client by its real address, and a client going around the proxy gets its header
 * ignored. Skipped when nginx is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/ports.ts';
import { startKeyServer, type KeyServerProcess } from '../../keyserver/test/server-process.ts';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) ?? null;

/** POST a login to `port` on 127.0.0.1 from `localAddress`, with a forged X-Forwarded-For. */
function login(port: number, localAddress: string, forged: string): Promise<number> {
  const body = JSON.stringify({ username: `nobody_${forged.replace(/\./g, '_')}`, password: 'x' });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: 'POST',
        path: '/v1/sessions',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-forwarded-for': forged,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(NGINX === null)('behind a real nginx', () => {
  let dir: string;
  let ks: KeyServerProcess;
  let nginx: ChildProcess;
  let proxyPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sotto-nginx-'));
    ks = await startKeyServer({
      DATA_DIR: join(dir, 'data'),
      HOST: '127.0.0.1',
      TRUSTED_PROXIES: '127.0.0.2',
      RATE_LIMIT_LOGIN: '2',
    });
    proxyPort = await freePort();
    mkdirSync(join(dir, 'logs'));
    // The X-Forwarded-For line is deploy/nginx.conf's; proxy_bind gives nginx its own address.
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${proxyPort};
    location /v1/ {
      proxy_pass http://127.0.0.1:${ks.port};
      proxy_bind 127.0.0.2;
      proxy_http_version 1.1;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`,
    );
    const check = spawnSync(NGINX as string, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')]);
    if (check.status !== 0) throw new Error(`nginx -t: ${check.stderr.toString()}`);
    nginx = spawn(NGINX as string, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
      stdio: 'ignore',
    });
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const r = request({ host: '127.0.0.1', port: proxyPort, path: '/v1/' }, (res) => {
            res.resume();
            resolve(true);
          });
          r.on('error', () => resolve(false));
          r.end();
        }),
      { timeoutMs: 10_000, what: 'nginx' },
    );
  }, 90_000);

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const gone = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGTERM');
      await gone;
    }
    await ks?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('limits each client by the address nginx saw, whatever X-Forwarded-For it sends', async () => {
    const a = [];
    for (let i = 1; i <= 3; i++) a.push(await login(proxyPort, '127.0.0.3', `203.0.113.${i}`));
    expect(a).toEqual([401, 401, 429]);
    // Another client behind the same proxy has its own budget.
    expect(await login(proxyPort, '127.0.0.4', '203.0.113.1')).toBe(401);
  });

  it('ignores X-Forwarded-For from a client that goes around the proxy', async () => {
    const direct = [];
    for (let i = 1; i <= 3; i++) direct.push(await login(ks.port, '127.0.0.5', `198.51.100.${i}`));
    expect(direct).toEqual([401, 401, 429]);
  });
});
