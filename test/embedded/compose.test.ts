/**
 * The scale-out deployment description stays valid: docker-compose parses it
 * and every file it refers to exists. Runs `docker-compose config` only when
 * the binary is installed (Debian's `docker-compose`; the `docker compose`
 * plugin is tried as well).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KEYSERVER_NODE_FLAGS } from '../../scripts/node-flags.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const composeFile = join(root, 'docker-compose.yml');

function composeCommand(): string[] | null {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0)
    return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0)
    return ['docker', 'compose'];
  return null;
}

const compose = composeCommand();

/** The resolved compose file, as `docker-compose config` prints it. */
function composeConfig(): string {
  const [cmd, ...pre] = compose as string[];
  return execFileSync(cmd as string, [...pre, '-f', composeFile, 'config'], {
    cwd: root,
    encoding: 'utf8',
  });
}

describe('docker-compose.yml', () => {
  it.skipIf(compose === null)('passes `docker-compose config`', () => {
    const [cmd, ...pre] = compose as string[];
    const run = spawnSync(cmd as string, [...pre, '-f', composeFile, 'config', '-q'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(run.stderr.trim()).toBe('');
    expect(run.status).toBe(0);
  });

  it.skipIf(compose === null)(
    'describes redis with AOF and bounded memory, two key servers, two brokers and a proxy with health checks',
    () => {
      const text = composeConfig();
      for (const service of [
        'redis:',
        'keyserver1:',
        'keyserver2:',
        'broker1:',
        'broker2:',
        'proxy:',
      ])
        expect(text).toContain(`  ${service}`);
      expect(text).toMatch(/--appendonly\s+-\s+['"]?yes/);
      // Operator namespaces (issue 20): both brokers read the policy and password file names
      // from the environment and see the operator folder.
      expect(text.match(/POLICY_FILE/g)?.length).toBe(2);
      expect(text.match(/PASSWORD_FILE/g)?.length).toBe(2);
      expect(text).toContain('/operator');
      // Bounded, and failing writes when full rather than evicting queued messages.
      expect(text).toMatch(/--maxmemory\s+-\s+\d+[kmg]b/);
      expect(text).toMatch(/--maxmemory-policy\s+-\s+noeviction/);
      expect(text).toContain('redis-cli');
      expect(text).toContain('/healthz');
    },
  );

  it.skipIf(compose === null)(
    'trusts X-Forwarded-For from the proxy only, and keeps /metrics on the internal network',
    () => {
      const text = composeConfig();
      const proxyIp = /ipv4_address:\s*(\S+)/.exec(text)?.[1];
      expect(proxyIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const trusted = [...text.matchAll(/TRUSTED_PROXIES:\s*(\S+)/g)].map((m) => m[1]);
      expect(trusted).toEqual([proxyIp, proxyIp]);
      // Two key servers and two brokers, none of them publishing it.
      expect([...text.matchAll(/METRICS_PORT:\s*['"]?9100/g)]).toHaveLength(4);
      expect(text).not.toMatch(/published:\s*['"]?9100/);
      const nginx = readFileSync(join(root, 'deploy', 'nginx.conf'), 'utf8');
      expect(nginx).not.toMatch(/location[^{]*metrics/);
    },
  );

  it.skipIf(compose === null)(
    'has a coturn service (profile calls) on the key servers’ TURN secret, in the shared-secret scheme',
    () => {
      const [cmd, ...pre] = compose as string[];
      const text = execFileSync(
        cmd as string,
        [...pre, '-f', composeFile, '--profile', 'calls', 'config'],
        {
          cwd: root,
          encoding: 'utf8',
          env: { ...process.env, TURN_SECRET: 'compose-test-secret-0123' },
        },
      );
      expect(text).toContain('  coturn:');
      expect(text).toContain('--use-auth-secret');
      expect(text).toContain('--static-auth-secret=compose-test-secret-0123');
      expect([...text.matchAll(/TURN_SECRET:\s*compose-test-secret-0123/g)]).toHaveLength(2);
      expect([...text.matchAll(/TURN_URLS:\s*\S*turn:/g)]).toHaveLength(2);
      expect(text).toMatch(/--denied-peer-ip=172\.30\./);
    },
  );

  it('refers only to Dockerfiles and configs that exist', () => {
    const text = readFileSync(composeFile, 'utf8');
    const files = [...text.matchAll(/dockerfile:\s*(\S+)/g)].map((m) => m[1] as string);
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) expect(existsSync(join(root, f)), f).toBe(true);
    const web = readFileSync(join(root, 'deploy', 'Dockerfile.web'), 'utf8');
    expect(web).toContain('deploy/nginx.conf');
    const nginx = readFileSync(join(root, 'deploy', 'nginx.conf'), 'utf8');
    for (const route of [
      'location /v1/',
      'location = /mqtt',
      'location = /healthz',
      'location /docs',
    ])
      expect(nginx).toContain(route);
    expect(nginx).toContain('$http_upgrade');
  });

  it('runs the key server with the V8 flags of scripts/node-flags.ts in the image, `npm start` and `npm start -w keyserver`', () => {
    const flags = KEYSERVER_NODE_FLAGS.join(' ');
    const dockerfile = readFileSync(join(root, 'deploy', 'Dockerfile.keyserver'), 'utf8');
    expect(dockerfile).toContain(`ENV NODE_OPTIONS="${flags}"`);
    const start = (dir: string) =>
      (
        JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
          scripts: Record<string, string>;
        }
      ).scripts.start;
    expect(start('.')).toBe(`node ${flags} --import tsx scripts/start.ts`);
    expect(start('keyserver')).toBe(`node ${flags} --import tsx src/server.ts`);
  });
});
