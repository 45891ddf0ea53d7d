/**
 * Calls on the key server (docs/API.md "Calls"): ICE servers from `ICE_SERVERS` in the
 * discovery document, and time-limited TURN credentials in coturn's shared-secret scheme, only
 * for signed-in users. Runs the real key server process.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeDiscovery } from '@sotto/crypto/wire';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { call, startKeyServer, type KeyServerProcess } from './server-process.ts';

const PASSWORD = 'correct horse battery';
const SECRET = 'turn-shared-secret-0123456789';
const ICE = [{ urls: ['stun:stun.example.org:3478'] }];
const dirs: string[] = [];
const servers: KeyServerProcess[] = [];

async function server(env: Record<string, string>): Promise<KeyServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sotto-calls-'));
  dirs.push(dir);
  const s = await startKeyServer({ DATA_DIR: dir, LOG_LEVEL: 'error', ...env });
  servers.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function token(s: KeyServerProcess, username: string): Promise<string> {
  expect(
    (await call(`${s.url}/v1/accounts`, 'POST', { username, password: PASSWORD })).status,
  ).toBe(201);
  const r = await call(`${s.url}/v1/sessions`, 'POST', { username, password: PASSWORD });
  return r.body.accessToken as string;
}

describe('calls on the key server', () => {
  it('serves ICE servers in the discovery document and TURN credentials in the coturn shared-secret scheme', async () => {
    const s = await server({
      ICE_SERVERS: JSON.stringify(ICE),
      TURN_SECRET: SECRET,
      TURN_URLS: 'turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349',
      TURN_TTL: '600',
    });
    const d = await fetch(`${s.url}/v1/config`);
    const doc = decodeDiscovery(await d.text());
    expect(doc.ice).toEqual({ servers: ICE, turn: true });

    const t = await token(s, 'caller');
    const before = Math.floor(Date.now() / 1000);
    const r = await call(`${s.url}/v1/calls/turn`, 'POST', undefined, {
      authorization: `Bearer ${t}`,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body.urls).toEqual([
      'turn:turn.example.org:3478?transport=udp',
      'turns:turn.example.org:5349',
    ]);
    expect(r.body.ttl).toBe(600);
    const username = r.body.username as string;
    const [expiry, user] = username.split(':');
    expect(user).toBe('caller');
    expect(Number(expiry) - before).toBeGreaterThanOrEqual(599);
    expect(Number(expiry) - before).toBeLessThanOrEqual(602);
    // What coturn computes with `static-auth-secret`: base64 HMAC-SHA1 of the username.
    expect(r.body.credential).toBe(createHmac('sha1', SECRET).update(username).digest('base64'));
    // A credential under another secret is not the same (the TURN server would refuse it).
    expect(r.body.credential).not.toBe(
      createHmac('sha1', `${SECRET}x`).update(username).digest('base64'),
    );
  });

  it('issues no credentials without a token, and answers TURN_NOT_CONFIGURED without a secret', async () => {
    const withTurn = servers[0]!;
    const anon = await call(`${withTurn.url}/v1/calls/turn`, 'POST');
    expect(anon.status).toBe(401);
    const forged = await call(`${withTurn.url}/v1/calls/turn`, 'POST', undefined, {
      authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    });
    expect(forged.status).toBe(401);

    const plain = await server({});
    const d = decodeDiscovery(await (await fetch(`${plain.url}/v1/config`)).text());
    expect(d.ice).toBeUndefined();
    const t = await token(plain, 'nobody');
    const r = await call(`${plain.url}/v1/calls/turn`, 'POST', undefined, {
      authorization: `Bearer ${t}`,
    });
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('TURN_NOT_CONFIGURED');
  });

  it('refuses bad ICE and TURN configuration at start with a clear message', () => {
    expect(() => loadConfig([], { ICE_SERVERS: 'not json' })).toThrow(/ICE_SERVERS is not JSON/);
    expect(() => loadConfig([], { ICE_SERVERS: '[{"urls":"http://x"}]' })).toThrow(ConfigError);
    expect(() => loadConfig([], { ICE_SERVERS: '[{"urls":"stun:x","extra":1}]' })).toThrow(
      /iceServers/,
    );
    expect(() => loadConfig([], { TURN_SECRET: SECRET })).toThrow(/turnUrls/);
    expect(() => loadConfig([], { TURN_SECRET: 'short', TURN_URLS: 'turn:x' })).toThrow(
      /turnSecret/,
    );
    expect(() => loadConfig([], { TURN_SECRET: SECRET, TURN_URLS: 'http://x' })).toThrow(
      /turnUrls/,
    );
    const ok = loadConfig(['--ice-servers', JSON.stringify(ICE)], {});
    expect(ok.iceServers).toEqual(ICE);
  });
});
