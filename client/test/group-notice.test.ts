/**
 * A key server's `group-changed` notice with the record it accepted (PROTOCOL.md §7, §8.7), on
 * the group chain alone: a memory store, and in place of the key server's HTTP API a
 * `getGroup` that counts fetches and answers as a real key server would (404 to a non-member).
 * The notice itself is written by the test, which plays a key server that may lie in it. The
 * end-to-end path (a removed member's browser never fetches) is test/web/conversation-ux.test.ts.
 */
import {
  DEFAULT_GROUP_POLICY,
  applyMembershipRecord,
  createChange,
  createGenesis,
  encodeMembershipRecord,
  generateUserIdentity,
  ready,
  toBase64,
  type GroupState,
  type KeyPair,
  type MembershipRecord,
} from '@sotto/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { GroupChain } from '../src/internal/groups/chain.ts';
import type { ClientEvents, Ctx } from '../src/internal/context.ts';
import { Emitter } from '../src/internal/emitter.ts';
import { Mutex } from '../src/internal/lock.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { groupNoticeId, groupNotices } from '../src/internal/groups/timeline.ts';

const NOW = 1_700_000_000_000;
let uik: Record<'alice' | 'bob' | 'carol', KeyPair>;

beforeAll(async () => {
  await ready();
  uik = {
    alice: generateUserIdentity(),
    bob: generateUserIdentity(),
    carol: generateUserIdentity(),
  };
});

const ref = (name: 'alice' | 'bob' | 'carol') => ({ username: name, uik: uik[name].publicKey });
const bytes = (rec: MembershipRecord) => encodeMembershipRecord(rec);

/** Alice's group with Bob and Carol, then Alice removes Carol: [genesis, remove]. */
function removalChain(): { records: MembershipRecord[]; states: GroupState[] } {
  const genesis = createGenesis({
    groupId: 'g1',
    name: 'Club',
    creator: { username: 'alice', uik: uik.alice },
    members: [ref('bob'), ref('carol')],
    createdAt: NOW,
  });
  const s0 = applyMembershipRecord(null, genesis);
  const remove = createChange(s0, {
    actor: { username: 'alice', uik: uik.alice },
    createdAt: NOW + 1,
    op: 'remove',
    subject: ref('carol'),
  });
  return { records: [genesis, remove], states: [s0, applyMembershipRecord(s0, remove)] };
}

/** Carol's chain over a memory store holding the genesis; the "key server" serves `served`. */
async function carolsChain(served: () => MembershipRecord[] | 'not-member') {
  const store = createMemoryStore();
  const fetches: string[] = [];
  const subscribed: string[] = [];
  const ctx = {
    store,
    events: new Emitter<ClientEvents>(),
    lock: new Mutex(),
    now: () => NOW + 10,
    account: () => ({ username: 'carol', deviceId: 'd0', kind: 'user' }),
    subscribe: (t: string) => subscribed.push(`+${t}`),
    unsubscribe: (t: string) => subscribed.push(`-${t}`),
    http: {
      getGroup: (groupId: string) => {
        fetches.push(groupId);
        const chain = served();
        if (chain === 'not-member')
          return Promise.reject(Object.assign(new Error('not found'), { status: 404 }));
        return Promise.resolve({ groupId, records: chain.map((r) => toBase64(bytes(r))) });
      },
    },
  } as unknown as Ctx;
  const chain = new GroupChain(ctx);
  return { store, chain, fetches, subscribed };
}

describe('group-changed notices that carry the record', () => {
  it('adopts the removal from the notice and never fetches the chain it may no longer read', async () => {
    const { records } = removalChain();
    const { store, chain, fetches } = await carolsChain(() => 'not-member');
    // Holding nothing, the genesis notice is a hint: fetched (here the server says 404).
    await expect(chain.noticed('g1', 0, toBase64(bytes(records[0]!)))).rejects.toThrow('not found');
    expect(fetches).toEqual(['g1']);
    await store.batch([
      {
        op: 'putGroup',
        group: {
          groupId: 'g1',
          name: 'Club',
          chain: [bytes(records[0]!)],
          members: ['alice', 'bob', 'carol'],
          admins: ['alice'],
          updatedAt: NOW,
        },
      },
    ]);
    fetches.length = 0;
    await chain.noticed('g1', 1, toBase64(bytes(records[1]!)));
    const g = await store.getGroup('g1');
    expect(g?.members).toEqual(['alice', 'bob']);
    expect(g?.chain).toHaveLength(2);
    // The verified record leaves its line in Carol's timeline ("alice removed you").
    const line = await store.getMessage(groupNoticeId('g1', 1));
    expect(line).toMatchObject({
      conversationId: 'group:g1',
      kind: 'notice',
      timestamp: NOW + 1,
      body: { notice: 'group', op: 'remove', actor: 'alice', subject: 'carol' },
    });
    // The same notice again (a second device's copy, a redelivery): still nothing to fetch.
    await chain.noticed('g1', 1, toBase64(bytes(records[1]!)));
    expect(fetches).toEqual([]);
  });

  it('does not adopt a record the key server made up, and fetches the chain instead', async () => {
    const { records, states } = removalChain();
    const { store, chain, fetches } = await carolsChain(() => [records[0]!]);
    await store.batch([
      {
        op: 'putGroup',
        group: {
          groupId: 'g1',
          name: 'Club',
          chain: [bytes(records[0]!)],
          members: ['alice', 'bob', 'carol'],
          admins: ['alice'],
          updatedAt: NOW,
        },
      },
    ]);
    // Bob (no admin) "removes" Carol: well-formed, signed, but not by an admin of the chain
    // (made from a state where he is one, which the chain never said).
    const s0 = states[0]!;
    const asAdmin: GroupState = {
      ...s0,
      members: new Map(s0.members).set('bob', { ...s0.members.get('bob')!, admin: true }),
    };
    const forged = createChange(asAdmin, {
      actor: { username: 'bob', uik: uik.bob },
      createdAt: NOW + 2,
      op: 'remove',
      subject: ref('carol'),
    });
    await chain.noticed('g1', 1, toBase64(bytes(forged)));
    expect(fetches).toEqual(['g1']);
    const g = await store.getGroup('g1');
    expect(g?.members).toEqual(['alice', 'bob', 'carol']);
    expect(g?.chain).toHaveLength(1);
    // …and no timeline line says that Bob removed Carol.
    expect(await store.getMessage(groupNoticeId('g1', 1))).toBeNull();
    expect(await store.listMessages('group:g1', { limit: 10 })).toEqual([]);
    // A record for another position, or garbage: fetched as well, nothing adopted.
    await chain.noticed('g1', 1, 'AAAA');
    await chain.noticed('g1', 1, toBase64(bytes(records[0]!)));
    expect(fetches).toEqual(['g1', 'g1', 'g1']);
    expect((await store.getGroup('g1'))?.chain).toHaveLength(1);
  });

  it('fetches a re-add after a removal it holds', async () => {
    const { records, states } = removalChain();
    const readd = createChange(states[1]!, {
      actor: { username: 'alice', uik: uik.alice },
      createdAt: NOW + 3,
      op: 'add',
      subject: ref('carol'),
    });
    const { store, chain, fetches } = await carolsChain(() => [records[0]!, records[1]!, readd]);
    await store.batch([
      {
        op: 'putGroup',
        group: {
          groupId: 'g1',
          name: 'Club',
          chain: [bytes(records[0]!), bytes(records[1]!)],
          members: ['alice', 'bob'],
          admins: ['alice'],
          updatedAt: NOW,
        },
      },
    ]);
    // A notice without the record (an older key server): fetched, and Carol is back.
    await chain.noticed('g1', 2);
    expect(fetches).toEqual(['g1']);
    expect((await store.getGroup('g1'))?.members).toEqual(['alice', 'bob', 'carol']);
    expect((await store.getMessage(groupNoticeId('g1', 2)))?.body).toEqual({
      notice: 'group',
      op: 'add',
      actor: 'alice',
      subject: 'carol',
    });
  });
});

describe('timeline lines of a group', () => {
  it('start where this device came in and say only what a policy record changed', () => {
    const { records, states } = removalChain();
    const open = createChange(states[1]!, {
      actor: { username: 'alice', uik: uik.alice },
      createdAt: NOW + 5,
      op: 'policy',
      join: 'open',
      announce: true,
      listed: false,
      topic: '',
    });
    const s2 = applyMembershipRecord(states[1]!, open);
    const join = createChange(s2, {
      actor: { username: 'carol', uik: uik.carol },
      createdAt: NOW + 6,
      op: 'join',
      proof: null,
    });
    const chain = [...records, open, join].map(bytes);
    // Carol, new to the group: only her own join, not the room's past.
    const carol = groupNotices('g1', chain, null, DEFAULT_GROUP_POLICY, { username: 'carol' }, NOW);
    expect(carol.map((l) => l.body)).toEqual([
      { notice: 'group', op: 'join', actor: 'carol', viaInvite: false },
    ]);
    // Bob, holding the first two records: the policy change (two fields) and the join.
    const bob = groupNotices('g1', chain, 2, DEFAULT_GROUP_POLICY, { username: 'bob' }, NOW);
    expect(bob.map((l) => [l.id, l.body.op, l.body.changed])).toEqual([
      ['group-g1-2', 'policy', { join: 'open', announce: true }],
      ['group-g1-3', 'join', undefined],
    ]);
  });
});
