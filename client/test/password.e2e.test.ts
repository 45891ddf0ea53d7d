/**
 * Changing the password against a real key server and broker: the old password
 * stops logging in and the new one works; the broker drops every connection of
 * the user, and this engine comes back with its new token and keeps sending and
 * receiving DMs; a linked second device of the same user is logged out; a wrong
 * current password is INVALID_CREDENTIALS and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/engine.ts';
import { createHttpClient, isApiError } from '../src/http.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import type { MqttClient } from 'mqtt';
import {
  clientPool,
  makeClient,
  startServer,
  uname,
  until,
  type TestServer,
} from './support/server.ts';

let srv: TestServer;
const pool = clientPool(() => srv);
const client = pool.client;
const PW = 'correct horse battery';
const NEW_PW = 'staple battery horse';

async function apiCodeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isApiError(err)) return err.code;
    throw err;
  }
  return 'resolved';
}

/** Log in with a bare HTTP client (no device set-up): just checks the password. */
function tryLogin(username: string, password: string): Promise<string> {
  return apiCodeOf(createHttpClient({ baseUrl: srv.httpUrl }).login(username, password));
}

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  await pool.closeAll();
  await srv?.close();
});

describe('changing the password', () => {
  it('switches passwords, keeps this device messaging and logs the other device out', async () => {
    const a = uname('alice');
    const b = uname('bob');
    const alice = client();
    const bob = client();
    await alice.register(a, PW);
    await bob.register(b, PW);
    await alice.start();
    await bob.start();

    // A second device of Alice, linked from the first.
    // Every MQTT connection the second device opens, to see it ends them when signed out.
    const alice2Mqtt: MqttClient[] = [];
    const alice2 = pool.track(
      makeClient(srv, undefined, (c) => {
        alice2Mqtt.push(c);
        return c;
      }),
    );
    const session = await alice2.link.begin(a, PW);
    await alice.link.approve(session.code);
    await session.linked;
    await alice2.start();
    expect(alice2.connectionState).toBe('online');

    const bobGot: MessageRecord[] = [];
    bob.on('message', (m) => bobGot.push(m));
    const aliceGot: MessageRecord[] = [];
    alice.on('message', (m) => aliceGot.push(m));
    await alice.sendText(b, 'before');
    await until(() => bobGot.some((m) => m.body.text === 'before'), 'bob receives "before"');

    const states: string[] = [];
    alice.on('connection', (c) => states.push(c.state));
    const alice2States: string[] = [];
    alice2.on('connection', (c) => alice2States.push(c.state));
    const before = (await alice.store.getAccount())!;

    await alice.changePassword(PW, NEW_PW);

    // The new pair is adopted and persisted.
    const after = (await alice.store.getAccount())!;
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken);

    expect(await tryLogin(a, PW)).toBe('INVALID_CREDENTIALS');
    expect(await tryLogin(a, NEW_PW)).toBe('resolved');

    // The broker dropped this device's connection; it came back with the new token.
    await until(
      () => states.includes('offline') && alice.connectionState === 'online',
      'alice is kicked and reconnects',
    );
    await alice.sendText(b, 'after');
    await until(() => bobGot.some((m) => m.body.text === 'after'), 'bob receives "after"');
    await bob.sendText(a, 'reply after');
    await until(
      () => aliceGot.some((m) => m.body.text === 'reply after'),
      'alice receives the reply',
    );
    // Its HTTP calls still work (no refresh-token reuse ended the new session).
    expect(await apiCodeOf(alice.http.getSettings())).toBe('resolved');
    expect(await apiCodeOf(alice.http.refresh())).toBe('resolved');
    expect(alice.connectionState).toBe('online');

    // The other device is out: kicked off the broker, and its refresh token no longer works.
    await until(() => alice2States.includes('offline'), 'the second device is kicked');
    // Its reconnect meets a refused refresh token: it stops and says it is signed out
    // instead of retrying with dead credentials forever.
    await until(() => alice2.connectionState === 'signed-out', 'the second device is signed out');
    expect((await alice2.store.getAccount())?.refreshToken).toBeNull();
    // It cannot reconnect: every connection it opened is ended — closed, its reconnect timer
    // cleared by end(), and `disconnecting` left set, which mqtt.js checks before it would
    // schedule another — so there is nothing left to wait for.
    const opened = alice2Mqtt.length;
    expect(opened).toBeGreaterThan(0);
    await until(
      () => alice2Mqtt.every((c) => c.disconnected),
      "the second device's MQTT connections are closed",
    );
    for (const c of alice2Mqtt) expect(c.disconnecting).toBe(true);
    expect(alice2Mqtt).toHaveLength(opened);
    expect(await apiCodeOf(alice2.http.getSettings())).not.toBe('resolved');
  });

  it('refuses a wrong current password with INVALID_CREDENTIALS and changes nothing', async () => {
    const a = uname('carol');
    const b = uname('dave');
    const carol = client();
    const dave = client();
    await carol.register(a, PW);
    await dave.register(b, PW);
    await carol.start();
    await dave.start();
    const states: string[] = [];
    carol.on('connection', (c) => states.push(c.state));
    const before = (await carol.store.getAccount())!;

    expect(await apiCodeOf(carol.changePassword('not the password', NEW_PW))).toBe(
      'INVALID_CREDENTIALS',
    );
    // A too-short new password is refused by the server's schema.
    expect(await apiCodeOf(carol.changePassword(PW, 'short'))).toBe('VALIDATION_FAILED');

    const after = (await carol.store.getAccount())!;
    expect(after.accessToken).toBe(before.accessToken);
    expect(after.refreshToken).toBe(before.refreshToken);
    expect(await tryLogin(a, PW)).toBe('resolved');
    expect(await tryLogin(a, NEW_PW)).toBe('INVALID_CREDENTIALS');

    const daveGot: MessageRecord[] = [];
    dave.on('message', (m) => daveGot.push(m));
    await carol.sendText(b, 'still here');
    await until(
      () => daveGot.some((m) => m.body.text === 'still here'),
      'dave receives the message',
    );
    expect(states).not.toContain('offline');
    expect(await apiCodeOf(carol.http.getSettings())).toBe('resolved');
  });

  it('needs an account on the device', async () => {
    const c = createClient({ store: createMemoryStore(), http: { baseUrl: srv.httpUrl } });
    pool.track(c);
    await expect(c.changePassword(PW, NEW_PW)).rejects.toMatchObject({ code: 'NOT_REGISTERED' });
  });
});
