/**
 * Call signalling between real engines on a real key server and broker (PROTOCOL.md §12.1):
 * offers reach every device of the callee, each device its own; a forged offer from a device
 * the directory does not list rings nothing (the acceptance rules of §6.7 apply as to any
 * message); a group-call offer from someone outside the group is refused; an offer that
 * arrives after its ringing time leaves a missed-call line instead of ringing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CallSignal, SecurityNotice } from '../src/internal/context.ts';
import { isPayloadError, newMessageId } from '../src/payload.ts';
import type { SottoClient } from '../src/engine.ts';
import { ClientError } from '../src/errors.ts';
import { openForgery } from './support/forge.ts';
import mqtt from 'mqtt';
import { createClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { uname, until } from './support/server.ts';
import { serverFixture } from './support/fixture.ts';

const PW = 'correct horse battery';
const { server, pool } = serverFixture();

const FP = `sha-256 ${Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':')}`;
const SDP = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  `a=fingerprint:${FP}`,
  '',
].join('\r\n');

interface Person {
  client: SottoClient;
  name: string;
  calls: CallSignal[];
  notices: SecurityNotice[];
  errors: unknown[];
}

function watch(client: SottoClient, name: string): Person {
  const p: Person = { client, name, calls: [], notices: [], errors: [] };
  client.on('call', (c) => p.calls.push(c));
  client.on('securityNotice', (n) => p.notices.push(n));
  client.on('error', (e) => p.errors.push(e));
  return p;
}

async function person(prefix: string): Promise<Person> {
  const client = pool.client();
  const name = uname(prefix);
  await client.register(name, PW);
  await client.start();
  return watch(client, name);
}

const offer = (callId: string, extra: Record<string, unknown> = {}) =>
  ({ kind: 'call-offer', callId, media: 'video', sdp: SDP, fingerprint: FP, ...extra }) as const;

describe('call signalling', () => {
  let alice: Person;
  let bob: Person;
  beforeAll(async () => {
    alice = await person('alice');
    bob = await person('bob');
  });

  it('rings every device of the callee, each with its own offer, and carries answer, ICE and hangup back', async () => {
    // A second, linked device of bob.
    const bob2client = pool.client();
    const session = await bob2client.link.begin(bob.name, PW);
    await bob.client.link.approve(session.code);
    await session.linked;
    await bob2client.start();
    const bob2 = watch(bob2client, bob.name);

    const devices = await alice.client.calls.devices(bob.name);
    expect(devices.sort()).toEqual(
      [bob.client.account!.deviceId, bob2client.account!.deviceId].sort(),
    );
    const callId = newMessageId();
    for (const d of devices) await alice.client.calls.send(bob.name, d, offer(callId));
    await until(() => bob.calls.length === 1 && bob2.calls.length === 1, 'both devices ring');
    for (const p of [bob, bob2]) {
      expect(p.calls[0]).toMatchObject({
        conversationId: `dm:${alice.name}`,
        user: alice.name,
        device: alice.client.account!.deviceId,
        stale: false,
        payload: { kind: 'call-offer', callId, sdp: SDP, fingerprint: FP, media: 'video' },
      });
    }
    // Each device got its own message (one offer per peer connection), not a shared copy.
    expect(bob.calls[0]!.payload.id).not.toBe(bob2.calls[0]!.payload.id);

    const aliceDevice = alice.client.account!.deviceId;
    await bob.client.calls.send(alice.name, aliceDevice, {
      kind: 'call-answer',
      callId,
      sdp: SDP,
      fingerprint: FP,
    });
    await bob.client.calls.send(alice.name, aliceDevice, {
      kind: 'call-ice',
      callId,
      candidates: [
        { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 },
      ],
    });
    await alice.client.calls.send(bob.name, bob2client.account!.deviceId, {
      kind: 'call-hangup',
      callId,
      reason: 'answered-elsewhere',
    });
    await until(() => alice.calls.length === 2, 'answer and ICE');
    expect(alice.calls.map((c) => c.payload.kind)).toEqual(['call-answer', 'call-ice']);
    await until(() => bob2.calls.length === 2, 'answered elsewhere');
    expect(bob2.calls[1]!.payload).toMatchObject({
      kind: 'call-hangup',
      reason: 'answered-elsewhere',
    });
    // Nothing of the call is stored as a message, nothing waits in an outbox.
    expect(await alice.client.store.listMessages(`dm:${bob.name}`)).toEqual([]);
    expect(await alice.client.flushOutbox()).toBe(0);
  });

  it('never sends an offer whose SDP names a DTLS fingerprint other than its own field', async () => {
    const other = FP.replace('sha-256 10', 'sha-256 11');
    const err = await alice.client.calls
      .send(bob.name, bob.client.account!.deviceId, offer(newMessageId(), { fingerprint: other }))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isPayloadError(err, 'INVALID_FIELD')).toBe(true);
  });

  it('rings nothing for a call-offer forged from a device the directory does not list', async () => {
    const mallory = pool.client();
    const mname = uname('mallory');
    await mallory.register(mname, PW);
    await mallory.close();
    const forgery = await openForgery({
      ...server(),
      attacker: { username: mname, password: PW },
      victim: alice.name,
      claimAs: bob.name,
    });
    const forgedId = newMessageId();
    const before = alice.calls.length;
    await forgery.send(offer(forgedId));
    await forgery.close();
    // Positive control after the forgery, on the same inbox: bob's real offer rings.
    const realId = newMessageId();
    await bob.client.calls.send(alice.name, alice.client.account!.deviceId, offer(realId));
    await until(() => alice.calls.some((c) => c.payload.callId === realId), 'the real offer');
    await until(
      () => alice.notices.some((n) => n.code === 'UNLISTED_DEVICE' && n.user === bob.name),
      'a securityNotice for the forged sender',
    );
    expect(alice.calls.slice(before).map((c) => c.payload.callId)).toEqual([realId]);
  });

  it('refuses a group-call offer from someone who is not in the group', async () => {
    const carol = await person('carol');
    const groupId = await alice.client.groups.create('calls', [bob.name]);
    await until(
      async () => (await bob.client.store.getGroup(groupId))?.members.includes(bob.name) === true,
      'bob joined the group',
    );
    const conversation = `group:${groupId}`;
    const bobDevice = bob.client.account!.deviceId;
    const outsider = newMessageId();
    await carol.client.calls.send(bob.name, bobDevice, offer(outsider, { conversation }));
    const member = newMessageId();
    await alice.client.calls.send(bob.name, bobDevice, offer(member, { conversation }));
    await until(() => bob.calls.some((c) => c.payload.callId === member), 'the member offer');
    expect(bob.calls.find((c) => c.payload.callId === member)!.conversationId).toBe(conversation);
    await until(
      () => bob.errors.some((e) => e instanceof ClientError && e.code === 'CALL_REFUSED'),
      'the outsider offer refused',
    );
    expect(bob.calls.some((c) => c.payload.callId === outsider)).toBe(false);
  });

  it('turns an offer that arrives after its ringing time into a missed-call line, not a ring', async () => {
    // An engine whose clock is two minutes behind: its offer is stale on arrival.
    const slow = pool.track(
      createClient({
        store: createMemoryStore(),
        http: { baseUrl: server().httpUrl },
        mqttConnect: (o) => mqtt.connect(server().mqttUrl, { ...o, reconnectPeriod: 200 }),
        now: () => Date.now() - 120_000,
      }),
    );
    const late = uname('late');
    await slow.register(late, PW);
    await slow.start();
    const callId = newMessageId();
    await slow.calls.send(
      alice.name,
      alice.client.account!.deviceId,
      offer(callId, { media: 'audio' }),
    );
    await until(() => alice.calls.some((c) => c.payload.callId === callId), 'the late offer');
    expect(alice.calls.find((c) => c.payload.callId === callId)!.stale).toBe(true);
    const line = await alice.client.store.getMessage(`call-${callId}`);
    expect(line).toMatchObject({
      kind: 'notice',
      conversationId: `dm:${late}`,
      unread: true,
      senderDevice: slow.account!.deviceId,
      body: { notice: 'call', event: 'missed', media: 'audio', peer: late },
    });
  });
});
