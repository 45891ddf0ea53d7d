/**
 * The server images run compiled JavaScript from a production install
 * (deploy/Dockerfile.broker, deploy/Dockerfile.keyserver). Without a Docker
 * engine, this runs what the images run: the Dockerfiles' build command, then
 * their CMD (plain `node`, no tsx) for the key server and the broker on free
 * ports against one SQLite file, with the key pair made by the compiled keygen
 * as docker-compose's `keygen` service makes it. A real token from the key
 * server must get a stock MQTT client (mosquitto_pub) through the broker.
 * Also checks the broker's production dependencies hold no key-server package.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/ports.ts';
import { KEYSERVER_NODE_FLAGS } from '../../scripts/node-flags.ts';
import { generateSigningKey, createTokenIssuer } from '@sotto/server-core/tokens';
import {
  FAST_KEYSERVER_ENV,
  ROOT,
  signupAndLogin,
  spawnNode,
  type Login,
  type StartedProcess,
} from './helpers.ts';

const exec = promisify(execFile);

/** What a Dockerfile builds and runs. */
interface Image {
  build: string[];
  cmd: string[];
}

function image(name: string): Image {
  const text = readFileSync(join(ROOT, 'deploy', name), 'utf8');
  const build = /^RUN (npm run build -w \S+)$/m.exec(text)?.[1];
  const cmd = /^CMD (\[.*\])$/m.exec(text)?.[1];
  if (!build || !cmd) throw new Error(`${name}: no build step or CMD`);
  return { build: build.split(' '), cmd: JSON.parse(cmd) as string[] };
}

/** The packages a production install of `workspace` holds (npm's view of the lockfile). */
async function productionPackages(workspace: string): Promise<string[]> {
  const { stdout } = await exec(
    'npm',
    ['ls', '--omit=dev', '-w', workspace, '--all', '--parseable'],
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((p) => (p.includes('/node_modules/') ? p.split('/node_modules/').pop()! : p));
}

const broker = image('Dockerfile.broker');
const keyserver = image('Dockerfile.keyserver');

describe('the broker and key server images', () => {
  it('run compiled JS with plain node, and the broker image installs no key-server package', async () => {
    for (const { cmd } of [broker, keyserver]) {
      expect(cmd[0]).toBe('node');
      expect(cmd.join(' ')).not.toContain('tsx');
      expect(cmd.at(-1)).toMatch(/^\w+\/dist\/server\.js$/);
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'broker', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).toEqual(
      expect.arrayContaining(['@sotto/server-core', '@sotto/crypto']),
    );
    // A devDependency too: `npm ci --omit=dev -w broker` installs workspaces' dev links.
    expect({ ...pkg.dependencies, ...pkg.devDependencies }).not.toHaveProperty('@sotto/keyserver');
    const packages = await productionPackages('broker');
    expect(packages).toEqual(expect.arrayContaining(['aedes', 'better-sqlite3', 'fast-jwt']));
    for (const p of packages) {
      expect(p).not.toMatch(/(^|\/)keyserver$|^fastify$|^@fastify\/|^@node-rs\/argon2/);
    }
  });
});

describe('compiled key server and broker, as the images run them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-compiled-'));
  const procs: StartedProcess[] = [];
  let baseUrl = '';
  let mqttPort = 0;
  let wsPort = 0;
  let alice: Login;

  beforeAll(async () => {
    // `npm run build -w keyserver` / `-w broker`: tsc -b, incremental (fast when up to date).
    for (const { build } of [keyserver, broker]) {
      await exec(build[0] as string, build.slice(1), { cwd: ROOT, timeout: 280_000 });
    }
    // docker-compose's keygen service, compiled.
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('keyserver/dist/keygen.js');
    const keygen = spawnNode([
      '--conditions=sotto:dist',
      'keyserver/dist/keygen.js',
      join(dir, 'private', 'jwt-ed25519.pem'),
      join(dir, 'public', 'jwt-public.pem'),
    ]);
    expect(await keygen.exited, keygen.output()).toBe(0);

    const httpPort = await freePort();
    baseUrl = `http://127.0.0.1:${httpPort}`;
    procs.push(
      spawnNode(keyserver.cmd.slice(1), {
        ...FAST_KEYSERVER_ENV,
        NODE_OPTIONS: KEYSERVER_NODE_FLAGS.join(' '),
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(httpPort),
        DATA_DIR: dir,
        JWT_KEY_FILE: join(dir, 'private', 'jwt-ed25519.pem'),
        PUBLIC_URL: baseUrl,
        LOG_LEVEL: 'warn',
      }),
    );
    mqttPort = await freePort();
    wsPort = await freePort();
    procs.push(
      spawnNode(broker.cmd.slice(1), {
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(wsPort),
        MQTT_PORT: String(mqttPort),
        DATA_DIR: dir,
        JWT_PUBLIC_KEY_FILE: join(dir, 'public', 'jwt-public.pem'),
        JWT_ISSUER: baseUrl,
        LOG_LEVEL: 'warn',
      }),
    );
    for (const [p, url] of [
      [procs[0], `${baseUrl}/healthz`],
      [procs[1], `http://127.0.0.1:${wsPort}/healthz`],
    ] as const) {
      await waitFor(
        async () => {
          if (p?.child.exitCode !== null) throw new Error(`exited early:\n${p?.output()}`);
          return fetch(url).then(
            (r) => r.ok,
            () => false,
          );
        },
        { timeoutMs: 60_000, what: url, intervalMs: 100 },
      );
    }
    alice = await signupAndLogin(baseUrl, 'alice', 'd1');
  }, 300_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const pub = (login: { username: string; deviceId: string }, token: string) =>
    exec(
      'mosquitto_pub',
      [
        ...['-V', 'mqttv311', '-h', '127.0.0.1', '-p', String(mqttPort)],
        ...[
          '-i',
          `${login.username}:${login.deviceId}`,
          '-u',
          `${login.username}:${login.deviceId}`,
        ],
        ...['-P', token, '-q', '1', '-t', `sotto/v1/inbox/alice/d1`, '-m', 'hello'],
      ],
      { timeout: 15_000 },
    ).then(
      () => 0,
      (err: { code?: number }) => err.code ?? -1,
    );

  it('answers /healthz on both and lets mosquitto_pub in with a token from the key server', async () => {
    const health = await fetch(`${baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await pub(alice, alice.accessToken)).toBe(0);
  });

  it('refuses a token signed by another key (the broker checks the key server’s public key)', async () => {
    const forged = createTokenIssuer({
      privateKey: generateSigningKey(),
      issuer: baseUrl,
      audience: 'sotto',
    }).issue({ sub: 'alice', dev: 'd1', kind: 'user' });
    expect(await pub(alice, forged.token)).not.toBe(0);
  });
});
