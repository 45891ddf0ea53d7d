/**
 * A session's slot and the directory's verdict must agree (PROTOCOL.md §6.7): a session in a
 * device's held slot decrypts only while the directory says the device's key is held (a verified
 * contact's new, not accepted key), and a session in the device's own slot only while the
 * directory vouches for it. The rule in `decryptPairwise` is two checks — which slots an envelope
 * is tried on, and after a decrypt whether the verdict matches the slot — so a session that sits in
 * the wrong slot (a store written by older code, a promotion cut short) can neither put a held
 * key's messages into the conversation nor quarantine a vouched device's. Each test moves a real
 * session into the wrong slot of a real engine's store, then the peer sends. Dropping the verdict
 * check fails the first test, dropping the slot rule the second (a false "unlisted device"
 * notice), dropping both lets a held key's message into the conversation.
 */
import { describe, expect, it } from 'vitest';
import { heldSlot } from '../src/internal/sessions.ts';
import { person as watched, serverFixture, type Person } from './support/fixture.ts';
import { until } from './support/server.ts';

const PASSWORD = 'correct horse battery';
const { pool } = serverFixture();

const person = (prefix: string): Promise<Person> => watched(pool, prefix, PASSWORD);

/**
 * Every message the two have sent acknowledged: each one's outbox is empty only once the other's
 * `delivered` receipt came back and was committed with the session it was decrypted on — so no
 * receipt is left to decrypt or send that would write a session after this returns.
 */
async function quiet(...people: Person[]): Promise<void> {
  for (const p of people)
    await until(async () => (await p.client.store.listOutbox()).length === 0, 'acknowledged');
}

/** Move `user`'s session with `device` from slot `from` to slot `to` of `store`. */
async function moveSession(
  store: Person['client']['store'],
  user: string,
  from: string,
  to: string,
): Promise<void> {
  const state = await store.getSession(user, from);
  expect(state, `a session in slot ${from}`).not.toBeNull();
  await store.batch([
    { op: 'deleteSession', user, device: from },
    { op: 'putSession', user, device: to, state: state! },
  ]);
}

describe("a session in the wrong slot for the directory's verdict", () => {
  it('refuses a vouched device whose session sits in the held slot (nothing held, nothing shown)', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const bobDevice = bob.client.account!.deviceId;
    // Both ways, so that Bob has heard back and sends plain RATCHET envelopes (no certificate:
    // the verdict is asked for the session's own certificate after the decrypt).
    await bob.client.sendText(alice.name, 'one');
    await until(() => alice.texts().includes('one'), 'first message');
    await alice.client.sendText(bob.name, 'reply');
    await until(() => bob.texts().includes('reply'), 'the reply');
    await alice.client.trust.setVerified(bob.name, true);
    // Every receipt exchanged first: a receipt decrypted or sent after the move would write the
    // session back into the device's slot (the store is changed here behind the engine's back).
    await quiet(alice, bob);

    await moveSession(alice.client.store, bob.name, bobDevice, heldSlot(bobDevice));
    await bob.client.sendText(alice.name, 'into the wrong slot');
    await until(
      () => alice.notices.some((n) => n.code === 'UNLISTED_DEVICE' && n.user === bob.name),
      'the envelope refused',
    );
    expect(alice.texts()).not.toContain('into the wrong slot');
    // Without the check the held session decrypted it into the held queue: a vouched device's
    // message quarantined as if its key had changed.
    expect(await alice.client.trust.held(bob.name)).toBe(0);
    const contact = await alice.client.trust.contact(bob.name);
    expect(contact!.pendingUik).toBeNull();
    // Positive control: back in its own slot, the same session decrypts Bob's resend.
    await moveSession(alice.client.store, bob.name, heldSlot(bobDevice), bobDevice);
    await bob.client.sendText(alice.name, 'back in place');
    await until(() => alice.texts().includes('back in place'), 'the session in its own slot');
  });

  it("refuses a held key's session that sits in the device's own slot (nothing shown in the conversation)", async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    await bob.client.sendText(alice.name, 'before the reset');
    await until(() => alice.texts().includes('before the reset'), 'first message');
    await alice.client.trust.setVerified(bob.name, true);
    await quiet(alice, bob);
    await bob.client.resetIdentity(PASSWORD);
    const newDevice = bob.client.account!.deviceId;
    await bob.client.sendText(alice.name, 'held one');
    await until(async () => (await alice.client.trust.held(bob.name)) === 1, 'held');

    // The held key's session moved into the device's own slot, as if it had been accepted.
    await moveSession(alice.client.store, bob.name, heldSlot(newDevice), newDevice);
    const noticesBefore = alice.notices.length;
    const errorsBefore = alice.errors.length;
    await bob.client.sendText(alice.name, 'not accepted');
    // Bob has not heard back (a held session never sends): his envelope carries his new
    // certificate, which the directory answers `held`; it must not decrypt on the device's slot.
    // With the slot rule it is tried on no session and its handshake finds the one-time prekeys
    // spent (an error); with only the verdict check it is refused (a notice); with neither it
    // was shown as Bob's.
    await until(
      () =>
        alice.errors.length > errorsBefore ||
        alice.notices.slice(noticesBefore).some((n) => n.code === 'UNLISTED_DEVICE') ||
        alice.texts().includes('not accepted'),
      'the envelope handled',
    );
    expect(alice.texts()).not.toContain('not accepted');
    // Nor is Bob's device called unlisted: it is listed, under the key Alice has not accepted.
    // The slot rule never tries the misplaced session (only the verdict check would refuse it).
    expect(alice.notices.slice(noticesBefore).map((n) => n.code)).not.toContain('UNLISTED_DEVICE');
    expect(
      (await alice.client.store.listMessages(`dm:${bob.name}`)).map((m) => m.body.text),
    ).toEqual(['before the reset']);
    const contact = await alice.client.trust.contact(bob.name);
    expect(contact!.verified).toBe(true);
    expect(contact!.pendingUik).not.toBeNull();
  });
});
