/**
 * Hostile users (issue 14, PROTOCOL.md §6.4, docs/SECURITY.md "Attacks and what stops them"):
 * a signed-in attacker speaks raw MQTT and forges pairwise envelopes with @sotto/crypto,
 * claiming to be another user, a verified contact, a peer's real device, or one of the
 * victim's own devices. Against real engines on a real key server and broker, each forgery
 * must show nothing, store nothing, leave the sessions as they were, and surface as a
 * `securityNotice` — while the legitimate message right after it IS shown (positive control).
 */
import {
  createSenderKey,
  encodeSenderKeyDistribution,
  groupEncrypt,
  groupTopic,
  inboxTopic,
  pad,
  Session,
  toBase64,
} from '@sotto/crypto';
import type { MqttClient } from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SecurityNotice } from '../src/internal/context.ts';
import { encodePayload, newMessageId } from '../src/payload.ts';
import { forgeDirectText, openForgery } from './support/forge.ts';
import { makeClient, uname, until } from './support/server.ts';
import { person as watched, serverFixture, type Person } from './support/fixture.ts';

const PASSWORD = 'correct horse battery';
const { server, pool } = serverFixture();

/** A registered, started engine with the messages and notices it raised. */
const person = (prefix: string): Promise<Person> => watched(pool, prefix, PASSWORD);

const texts = (p: Person): string[] => p.texts();

async function stored(p: Person, conversationId: string): Promise<string[]> {
  return (await p.client.store.listMessages(conversationId)).map((m) =>
    typeof m.body.text === 'string' ? m.body.text : `<${m.kind}>`,
  );
}

/** An attacker account (signed up by an engine that is closed again: it speaks raw MQTT). */
async function attacker(): Promise<{ username: string; password: string }> {
  const c = pool.client();
  const username = uname('mallory');
  await c.register(username, PASSWORD);
  await c.close();
  return { username, password: PASSWORD };
}

describe('forged senders from a signed-in user', () => {
  let alice: Person;
  let bob: Person;
  let mallory: { username: string; password: string };
  beforeAll(async () => {
    alice = await person('alice');
    bob = await person('bob');
    mallory = await attacker();
  });

  it('drops a DM forged as a user never met before (first contact is not taken from the envelope)', async () => {
    const carol = await person('carol'); // real user, never talked to alice
    await forgeDirectText({
      ...server(),
      attacker: mallory,
      victim: alice.name,
      claimAs: carol.name,
      text: 'forged first contact',
    });
    // Positive control: carol herself is heard (after the forgery, on the same inbox).
    await carol.client.sendText(alice.name, 'real carol');
    await until(() => texts(alice).includes('real carol'), 'the real message');
    expect(texts(alice)).not.toContain('forged first contact');
    await until(
      () => alice.notices.some((n) => n.code === 'UNLISTED_DEVICE' && n.user === carol.name),
      'a securityNotice for the forged sender',
    );
    expect(await stored(alice, `dm:${carol.name}`)).toEqual(['real carol']);
    // The trusted key is the directory's, not the forger's.
    const contact = await alice.client.trust.contact(carol.name);
    const carolUik = (await carol.client.store.getAccount())!.uik.publicKey;
    expect(Buffer.from(contact!.uik!).equals(Buffer.from(carolUik))).toBe(true);
    expect(alice.keyChanges).not.toContain(carol.name);
  });

  it('drops a DM forged as a verified contact, with no key change and nothing held', async () => {
    await bob.client.sendText(alice.name, 'hello from bob');
    await until(() => texts(alice).includes('hello from bob'), 'first real message');
    await alice.client.trust.setVerified(bob.name, true);
    await forgeDirectText({
      ...server(),
      attacker: mallory,
      victim: alice.name,
      claimAs: bob.name,
      text: 'forged as verified bob',
    });
    await bob.client.sendText(alice.name, 'bob again');
    await until(() => texts(alice).includes('bob again'), 'the real message');
    expect(texts(alice)).not.toContain('forged as verified bob');
    await until(
      () => alice.notices.some((n) => n.code === 'UNLISTED_DEVICE' && n.user === bob.name),
      'notice',
    );
    expect(await stored(alice, `dm:${bob.name}`)).toEqual(['hello from bob', 'bob again']);
    expect(alice.keyChanges).not.toContain(bob.name);
    const contact = await alice.client.trust.contact(bob.name);
    expect(contact!.verified).toBe(true);
    expect(contact!.pendingUik).toBeNull();
    expect(await alice.client.trust.held(bob.name)).toBe(0);
  });

  it("does not let a PREKEY from a peer's real device id replace the session", async () => {
    const bobDevice = bob.client.account!.deviceId;
    const before = await alice.client.store.getSession(bob.name, bobDevice);
    expect(before).not.toBeNull();
    await forgeDirectText({
      ...server(),
      attacker: mallory,
      victim: alice.name,
      claimAs: bob.name,
      claimDevice: bobDevice,
      text: 'forged from bob device',
    });
    await until(
      () => alice.notices.some((n) => n.device === bobDevice && n.code === 'UNLISTED_DEVICE'),
      'notice for the real device id',
    );
    // Still the session with bob's real device (its state moves on with receipts), none demoted.
    const after = Session.deserialize((await alice.client.store.getSession(bob.name, bobDevice))!);
    const real = Session.deserialize(before!);
    expect(
      Buffer.from(after.remoteCertificate.identityKey).equals(
        Buffer.from(real.remoteCertificate.identityKey),
      ),
    ).toBe(true);
    after.destroy();
    real.destroy();
    expect(await alice.client.store.getSession(bob.name, `${bobDevice}#prev`)).toBeNull();
    // Alice's next DM still reaches the real bob (it was not encrypted to the forger).
    await alice.client.sendText(bob.name, 'to the real bob');
    await until(() => texts(bob).includes('to the real bob'), 'bob reads alice');
    expect(texts(alice)).not.toContain('forged from bob device');
  });

  it('drops a sync from a made-up own device: no "sent by me" message, no deletion', async () => {
    const mine = await alice.client.sendText(bob.name, 'my own words');
    const forgery = await openForgery({
      ...server(),
      attacker: mallory,
      victim: alice.name,
      claimAs: alice.name,
    });
    try {
      await forgery.send({
        kind: 'sync',
        conversation: `dm:${bob.name}`,
        inner: { kind: 'text', id: newMessageId(), ts: Date.now(), text: 'forged sent by me' },
      });
      await forgery.send({
        kind: 'sync',
        conversation: `dm:${bob.name}`,
        inner: { kind: 'delete', id: newMessageId(), ts: Date.now(), target: mine.id },
      });
    } finally {
      await forgery.close();
    }
    await until(
      () => alice.notices.filter((n) => n.code === 'FOREIGN_OWN_DEVICE').length >= 1,
      'own-device notice',
    );
    await bob.client.sendText(alice.name, 'control after sync');
    await until(() => texts(alice).includes('control after sync'), 'control');
    const msg = await alice.client.store.getMessage(mine.id);
    expect(msg?.deleted).toBe(false);
    expect(await stored(alice, `dm:${bob.name}`)).not.toContain('forged sent by me');
  });

  it("refuses a sender key forged as another member's real device: no group message shown", async () => {
    const carol = await person('carol');
    // Mallory is a member too: the broker lets her publish on the group topic.
    const groupId = await bob.client.groups.create('trusted', [
      alice.name,
      carol.name,
      mallory.username,
    ]);
    await bob.client.sendText(`group:${groupId}`, 'group hello');
    await until(() => texts(alice).includes('group hello'), 'group works');
    // Mallory claims carol's real device and hands alice a sender key for it…
    const carolDevice = carol.client.account!.deviceId;
    const own = createSenderKey({
      groupId,
      username: carol.name,
      deviceId: carolDevice,
      now: Date.now(),
    });
    const forgery = await openForgery({
      ...server(),
      attacker: mallory,
      victim: alice.name,
      claimAs: carol.name,
      claimDevice: carolDevice,
    });
    try {
      await forgery.send({
        kind: 'sender-key',
        groupId,
        distribution: toBase64(encodeSenderKeyDistribution(own.distribution)),
      });
      // …then posts "as carol" on the group topic, signed with that sender key.
      const plain = pad(
        encodePayload({ kind: 'text', id: newMessageId(), ts: Date.now(), text: 'forged group' }),
      );
      await forgery.publish(groupTopic(groupId), groupEncrypt(own.state, plain));
    } finally {
      await forgery.close();
    }
    await until(
      () => alice.notices.some((n) => n.code === 'UNLISTED_DEVICE' && n.user === carol.name),
      'notice',
    );
    const key = await alice.client.store.getSenderKey(
      groupId,
      carol.name,
      carolDevice,
      own.distribution.keyId,
    );
    expect(key).toBeNull();
    await carol.client.sendText(`group:${groupId}`, 'real carol in group');
    await until(() => texts(alice).includes('real carol in group'), 'real carol');
    expect(texts(alice)).not.toContain('forged group');
  });

  it('bounds the work a flood of undecryptable envelopes in a peer’s name can cause', async () => {
    // Dave's envelopes to alice are recorded off his MQTT client, to be tampered with.
    const sent: { topic: string; bytes: Uint8Array }[] = [];
    const dave = pool.track(
      makeClient(server(), undefined, (c: MqttClient) => {
        const publish = c.publish.bind(c);
        c.publish = ((topic: string, message: Buffer, ...rest: never[]) => {
          sent.push({ topic, bytes: new Uint8Array(message) });
          return publish(topic, message, ...rest);
        }) as MqttClient['publish'];
        return c;
      }),
    );
    const daveName = uname('dave');
    await dave.register(daveName, PASSWORD);
    await dave.start();
    const inbox = inboxTopic(alice.name, alice.client.account!.deviceId);
    await dave.sendText(alice.name, 'dave one');
    await until(() => texts(alice).includes('dave one'), 'first');
    // Alice's receipt gave dave the ratchet reply: his next envelope is a RATCHET one.
    await until(async () => (await dave.store.listOutbox()).length === 0, 'acknowledged');
    await dave.sendText(alice.name, 'dave two');
    await until(() => texts(alice).includes('dave two'), 'second');
    const ratchet = sent.filter((s) => s.topic === inbox).at(-1)!.bytes;
    expect(ratchet[1]).toBe(2); // RATCHET
    const errors: unknown[] = [];
    alice.client.on('error', (e) => errors.push(e));
    // Sessions to alice (not only a connection): the marker below goes to her inbox.
    const forgery = await openForgery({
      ...server(),
      attacker: mallory,
      victim: alice.name,
      claimAs: mallory.username,
    });
    try {
      for (let i = 0; i < 80; i++) {
        const bytes = ratchet.slice();
        const at = bytes.length - 1 - (i % 16);
        bytes[at] = bytes[at]! ^ (1 + i);
        await forgery.publish(inbox, bytes);
      }
      // Marker: a forged PREKEY in mallory's own name on the same connection and inbox topic,
      // so the broker delivers it after all 80 and alice's inbound queue handles it after them;
      // once its UNLISTED_DEVICE notice is in, every envelope of the flood has been handled.
      await forgery.send({ kind: 'text', text: 'marker after the flood' });
    } finally {
      await forgery.close();
    }
    await until(
      () => alice.notices.some((n) => n.code === 'UNLISTED_DEVICE' && n.user === mallory.username),
      'the marker sent after the flood',
    );
    expect(
      alice.notices.filter((n) => n.code === 'SENDER_FLOOD' && n.user === daveName),
    ).toHaveLength(1);
    // At most the budget was tried; the rest was dropped untried.
    expect(errors.length).toBeLessThanOrEqual(50);
    expect(alice.notices.filter((n) => n.code === 'SENDER_FLOOD').length).toBe(1);
    expect(texts(alice).filter((t) => t.startsWith('dave'))).toEqual(['dave one', 'dave two']);
  });
});

describe('a verified contact changes identity key', () => {
  it('holds their new messages until the user accepts the new key, then shows them in order', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    await bob.client.sendText(alice.name, 'before the reset');
    await until(() => texts(alice).includes('before the reset'), 'first message');
    await alice.client.trust.setVerified(bob.name, true);
    await bob.client.resetIdentity(PASSWORD);
    await bob.client.sendText(alice.name, 'held one');
    await bob.client.sendText(alice.name, 'held two');
    await until(async () => (await alice.client.trust.held(bob.name)) === 2, 'two held');
    expect(texts(alice)).not.toContain('held one');
    expect(await stored(alice, `dm:${bob.name}`)).toEqual(['before the reset']);
    expect(alice.notices.some((n) => n.code === 'HELD_KEY_CHANGE' && n.count === 2)).toBe(true);
    // Sending stays blocked until the key is accepted.
    await expect(alice.client.sendText(bob.name, 'blocked')).rejects.toMatchObject({
      code: 'KEY_CHANGED',
    });
    await alice.client.trust.acceptKeyChange(bob.name);
    await until(() => texts(alice).includes('held two'), 'released');
    expect(await stored(alice, `dm:${bob.name}`)).toEqual([
      'before the reset',
      'held one',
      'held two',
    ]);
    expect(await alice.client.trust.held(bob.name)).toBe(0);
    // Bob's outbox empties: the released messages were acknowledged.
    await until(
      async () => !(await bob.client.store.listOutbox()).some((e) => e.recipient === alice.name),
      'bob acknowledged',
    );
  });

  it('shows an unverified contact’s messages with a "safety number changed" line', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    await bob.client.sendText(alice.name, 'hi');
    await until(() => texts(alice).includes('hi'), 'first');
    await bob.client.resetIdentity(PASSWORD);
    await bob.client.sendText(alice.name, 'after reset');
    await until(() => texts(alice).includes('after reset'), 'shown at once');
    const kinds = (await alice.client.store.listMessages(`dm:${bob.name}`)).map((m) => m.kind);
    expect(kinds).toEqual(['text', 'notice', 'text']);
  });
});

describe('a device that was removed', () => {
  it("cannot keep speaking on its old session: a thief's RATCHET envelopes are dropped", async () => {
    // Alice re-reads directories at every check here, so the removal is seen at once (with the
    // default TTL a removed device's session counts for up to directoryTtlMs, PROTOCOL.md §6.7).
    const alice = pool.track(makeClient(server(), undefined, undefined, { directoryTtlMs: 0 }));
    const a = uname('alice');
    await alice.register(a, PASSWORD);
    await alice.start();
    const shown: string[] = [];
    const notices: SecurityNotice[] = [];
    alice.on('message', (m) => shown.push(String(m.body.text)));
    alice.on('securityNotice', (n) => notices.push(n));
    const bob = await person('bob');
    await bob.client.sendText(a, 'from bob');
    await until(() => shown.includes('from bob'), 'alice reads bob');
    await alice.sendText(bob.name, 'reply');
    await until(() => texts(bob).includes('reply'), 'bob reads alice');
    // Someone copies bob's device state (its session with alice); bob then logs that device out.
    const aliceDevice = alice.account!.deviceId;
    const stolen = (await bob.client.store.getSession(a, aliceDevice))!;
    await bob.client.logout();
    // The thief encrypts on the stolen session and publishes with an account of its own.
    const mallory = await attacker();
    const forgery = await openForgery({
      ...server(),
      attacker: mallory,
      victim: a,
      claimAs: mallory.username,
    });
    const session = Session.deserialize(stolen);
    try {
      const plain = pad(
        encodePayload({ kind: 'text', id: newMessageId(), ts: Date.now(), text: 'from the thief' }),
      );
      await forgery.publish(inboxTopic(a, aliceDevice), session.encrypt(plain));
      await until(
        () =>
          shown.includes('from the thief') ||
          notices.some((n) => n.code === 'UNLISTED_DEVICE' && n.user === bob.name),
        'the envelope handled',
      );
      expect(shown).not.toContain('from the thief');
      expect(notices.some((n) => n.code === 'UNLISTED_DEVICE' && n.user === bob.name)).toBe(true);
      expect(
        (await alice.store.listMessages(`dm:${bob.name}`))
          .filter((m) => !m.outgoing)
          .map((m) => m.body.text),
      ).toEqual(['from bob']);
    } finally {
      session.destroy();
      await forgery.close();
    }
  });
});
