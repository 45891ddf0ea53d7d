/**
 * Malformed input at a running engine (DESIGN.md §5.1, PROTOCOL.md §5): a
 * hostile but authenticated device publishes garbage, truncated, wrong-version,
 * unknown-type, bit-flipped and replayed envelopes on Alice's inbox and on a
 * group topic it is a member of, over a real broker + key server, plus
 * genuine PREKEY envelopes (a real PQXDH session made with @sotto/crypto)
 * whose inner payloads are malformed. Alice's engine must report each as a
 * typed error, never crash or show anything, and keep delivering real DMs and
 * group messages afterwards.
 */
import {
  CryptoError,
  decodeDeviceCertificate,
  decodeKemPrekey,
  decodeOneTimePrekey,
  decodeSignedPrekey,
  deviceClientId,
  groupTopic,
  inboxTopic,
  initiateSession,
  pad,
  type Session,
} from '@sotto/crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import { ClientError } from '../src/errors.ts';
import { ApiError } from '../src/http.ts';
import { localDevice } from '../src/internal/account.ts';
import { encodePayload, newMessageId, PayloadError } from '../src/payload.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];
const raw: MqttClient[] = [];
beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const r of raw) await r.endAsync().catch(() => undefined);
  await srv?.close();
});

const random = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

/** Every typed error the engine may report for bad input. */
const typed = (e: unknown): boolean =>
  e instanceof CryptoError ||
  e instanceof PayloadError ||
  e instanceof ClientError ||
  e instanceof ApiError;

describe('malformed input to a running engine', () => {
  it('reports typed errors for bad envelopes, shows nothing, and keeps delivering', async () => {
    // Bob's outgoing envelopes to Alice are recorded, to be truncated, flipped and replayed.
    const sentToAlice: { topic: string; bytes: Uint8Array }[] = [];
    const record = (c: MqttClient): MqttClient => {
      const publish = c.publish.bind(c);
      c.publish = ((topic: string, message: Buffer, ...rest: never[]) => {
        sentToAlice.push({ topic, bytes: new Uint8Array(message) });
        return publish(topic, message, ...rest);
      }) as MqttClient['publish'];
      return c;
    };
    const alice = makeClient(srv);
    const bob = makeClient(srv, undefined, record);
    const mallory = makeClient(srv);
    clients.push(alice, bob, mallory);
    const a = uname('alice');
    const b = uname('bob');
    const m = uname('mallory');
    await alice.register(a, 'correct horse battery');
    await bob.register(b, 'correct horse battery');
    await mallory.register(m, 'correct horse battery');
    await alice.start();
    await bob.start();
    await mallory.start();

    const errors: unknown[] = [];
    alice.on('error', (e) => errors.push(e));
    const notices: string[] = [];
    alice.on('securityNotice', (n) => notices.push(n.code));
    const shown: string[] = [];
    alice.on('message', (msg) =>
      shown.push(typeof msg.body.text === 'string' ? msg.body.text : msg.kind),
    );

    // A real conversation and a real group first.
    await bob.sendText(a, 'before');
    const groupId = await bob.groups.create('g', [a, m]);
    await bob.sendText(`group:${groupId}`, 'group before');
    await until(() => shown.includes('before') && shown.includes('group before'), 'alice reads');
    await mallory.close(); // Mallory now speaks raw MQTT with the same device's credentials.

    const malloryAccount = (await mallory.store.getAccount())!;
    const clientId = deviceClientId(m, malloryAccount.deviceId);
    const attacker = await mqtt.connectAsync(srv.mqttUrl, {
      clientId,
      username: clientId,
      password: malloryAccount.accessToken!,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    raw.push(attacker);
    const aliceInbox = inboxTopic(a, alice.account!.deviceId);
    const group = groupTopic(groupId);
    const send = (topic: string, bytes: Uint8Array) =>
      attacker.publishAsync(topic, Buffer.from(bytes), { qos: 1 });

    const real = sentToAlice.find((s) => s.topic === aliceInbox)!.bytes;
    const realGroup = sentToAlice.find((s) => s.topic === group)!.bytes;
    const flip = (bytes: Uint8Array, at: number): Uint8Array => {
      const out = bytes.slice();
      out[at] = out[at]! ^ 0x40;
      return out;
    };
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['one byte', Uint8Array.of(1)],
      ['random', random(1000)],
      ['wrong version', Uint8Array.of(9, 2, ...random(200))],
      ['unknown type', Uint8Array.of(1, 99, ...random(200))],
      ['truncated', real.subarray(0, Math.floor(real.length / 2))],
      ['truncated header', real.subarray(0, 5)],
      ['bit flipped ciphertext', flip(real, real.length - 20)],
      ['bit flipped header', flip(real, 6)],
      ['replayed', real],
      ['group envelope on an inbox', realGroup],
    ];
    for (const [, bytes] of bad) await send(aliceInbox, bytes);
    const badGroup: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['random', random(500)],
      ['wrong version', Uint8Array.of(2, 3, ...random(300))],
      ['truncated', realGroup.subarray(0, Math.floor(realGroup.length / 2))],
      ['bit flipped', flip(realGroup, realGroup.length - 10)],
      ['replayed', realGroup],
      ['pairwise envelope on a group', real],
    ];
    for (const [, bytes] of badGroup) await send(group, bytes);

    // Genuine PQXDH session from Mallory's device, carrying payloads that are not payloads.
    const b0 = await mallory.http.claimBundle(a, alice.account!.deviceId);
    const session: Session = initiateSession(
      localDevice(malloryAccount),
      {
        certificate: decodeDeviceCertificate(Buffer.from(b0.certificate, 'base64url')),
        signedPrekey: decodeSignedPrekey(Buffer.from(b0.signedPrekey, 'base64url')),
        kemPrekey: decodeKemPrekey(Buffer.from(b0.kemPrekey, 'base64url')),
        oneTimePrekey: b0.oneTimePrekey
          ? decodeOneTimePrekey(Buffer.from(b0.oneTimePrekey, 'base64url'))
          : undefined,
      },
      { expected: { username: a, deviceId: alice.account!.deviceId } },
    );
    const text = new TextEncoder();
    const inner: [string, Uint8Array][] = [
      ['not padded', random(77)],
      ['padded garbage', pad(random(100))],
      ['padded non-JSON', pad(text.encode('hello, not json'))],
      ['padded JSON array', pad(text.encode('[1,2,3]'))],
      ['padded unknown version', pad(text.encode('{"v":99,"kind":"text","id":"x","ts":1}'))],
      ['padded bad field', pad(text.encode('{"v":1,"kind":"text","id":"short","ts":"x"}'))],
    ];
    for (const [, plaintext] of inner) await send(aliceInbox, session.encrypt(plaintext));
    // The same session carries a real message afterwards: the garbage did not break it.
    const valid = encodePayload({
      kind: 'text',
      id: newMessageId(),
      ts: Date.now(),
      text: 'from mallory, well formed',
    });
    await send(aliceInbox, session.encrypt(pad(valid)));
    session.destroy();

    const expectedErrors = bad.length + badGroup.length + inner.length;
    await until(
      () => shown.includes('from mallory, well formed'),
      'the well-formed message on the same session',
    );
    // Real traffic still flows after all of it.
    await bob.sendText(a, 'after');
    await bob.sendText(`group:${groupId}`, 'group after');
    await until(
      () => shown.includes('after') && shown.includes('group after'),
      'alice reads after',
    );

    // Every bad input became a typed error event; nothing else was shown.
    const untyped = errors.filter((e) => !typed(e));
    expect(untyped).toEqual([]);
    // One error per bad input, each a CryptoError (envelope) or PayloadError (inner payload) —
    // except the PREKEY whose flipped header byte names another sender than its certificate:
    // a forged sender, refused before any key agreement (PROTOCOL.md §6.7) as a notice.
    expect(notices).toEqual(['UNLISTED_DEVICE']);
    expect(errors.length).toBe(expectedErrors - 1);
    expect(errors.filter((e) => e instanceof PayloadError).length).toBe(inner.length - 1);
    expect(shown.sort()).toEqual(
      ['after', 'before', 'from mallory, well formed', 'group after', 'group before'].sort(),
    );
    expect(alice.connectionState).toBe('online');
    // Alice acknowledged every real message of Bob's despite the noise (Mallory's raw client never does).
    await until(
      async () => !(await bob.store.listOutbox()).some((e) => e.recipient === a),
      'alice acknowledged bob',
    );
  });
});
