/**
 * Announcement-only groups ([ACL-2], PROTOCOL.md §8.1 `policy`): only the admins
 * publish to the group topic; every member still subscribes and receives. A
 * policy change reaches the broker as a `group-changed` event and applies at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collect,
  connect,
  startTestBroker,
  subscribe,
  tryPublish,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

let t: TestBroker;
const tok = (u: string, d: string) => t.tokens.token(u, d);

beforeAll(async () => {
  t = await startTestBroker({ presence: false });
  t.store.addUser('alice', 'a1').addUser('bob', 'b1');
});
afterAll(async () => {
  await t.close();
});

describe('announcement-only groups', () => {
  it('refuses a non-admin member’s publish while admins post and everyone receives', async () => {
    t.store.setGroup('news', ['alice', 'bob']);
    const topic = 'sotto/v1/group/news';
    const alice = await connect(t.tcpUrl, 'alice:a1', tok('alice', 'a1'));
    const bob = await connect(t.tcpUrl, 'bob:b1', tok('bob', 'b1'));
    expect(await subscribe(bob, topic)).toEqual([1]);
    expect(await subscribe(alice, topic)).toEqual([1]);
    const gotAlice = collect(alice);
    const gotBob = collect(bob);
    // Everyone posts before the switch; bob's publish is cached as allowed.
    expect(await tryPublish(bob, topic, 'before')).toBe(true);
    await waitFor(() => gotAlice.length === 1, { what: "bob's message before the switch" });

    t.store.posters.set('news', new Set(['alice']));
    await t.events.publish({ type: 'group-changed', groupId: 'news', removed: [], added: [] });
    expect(await tryPublish(alice, topic, 'announcement')).toBe(true);
    await waitFor(() => gotBob.some((m) => m.payload === 'announcement'), {
      what: 'the announcement at bob',
    });
    // bob's cached permission was dropped by the event: refused (the broker closes the connection).
    expect(await tryPublish(bob, topic, 'after')).toBe(false);
    expect(gotAlice.map((m) => m.payload)).not.toContain('after');

    // Back to a normal group: bob posts again.
    t.store.posters.delete('news');
    await t.events.publish({ type: 'group-changed', groupId: 'news', removed: [], added: [] });
    const bob2 = await connect(t.tcpUrl, 'bob:b1', tok('bob', 'b1'));
    expect(await tryPublish(bob2, topic, 'again')).toBe(true);
    await waitFor(() => gotAlice.some((m) => m.payload === 'again'), {
      what: "bob's message after the switch back",
    });
    bob2.end(true);
    alice.end(true);
    bob.end(true);
  });
});
