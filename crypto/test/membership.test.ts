import { beforeAll, describe, expect, it } from 'vitest';
import { ByteWriter } from '../src/bytes.ts';
import { ready } from '../src/sodium.ts';
import { isCryptoError, type CryptoErrorCode } from '../src/errors.ts';
import { ed25519KeyPair } from '../src/internal/groups-ed25519.ts';
import type { KeyPair } from '../src/keys.ts';
import {
  applyMembershipRecord,
  createChange,
  createGenesis,
  decodeMembershipRecord,
  detectFork,
  encodeMembershipRecord,
  hashMembershipRecord,
  signMembershipRecord,
  verifyMembershipChain,
  type GroupState,
  type MembershipRecord,
} from '../src/membership.ts';

interface User {
  username: string;
  uik: KeyPair;
}

let alice: User, bob: User, carol: User, dave: User, mallory: User;

function user(username: string, seedByte: number): User {
  return { username, uik: ed25519KeyPair(new Uint8Array(32).fill(seedByte)) };
}

function ref(u: User) {
  return { username: u.username, uik: u.uik.publicKey };
}

function expectCode(fn: () => unknown, code: CryptoErrorCode): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(isCryptoError(thrown), `expected CryptoError ${code}, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
}

/** alice creates with bob; adds carol; promotes bob. */
function basicChain(): { records: MembershipRecord[]; state: GroupState } {
  const genesis = createGenesis({
    groupId: 'grp_1',
    name: 'Climbing ⛰',
    creator: alice,
    members: [ref(bob)],
    createdAt: 1_700_000_000_000,
  });
  let state = applyMembershipRecord(null, genesis);
  const add = createChange(state, { op: 'add', actor: alice, subject: ref(carol), createdAt: 1 });
  state = applyMembershipRecord(state, add);
  const promote = createChange(state, {
    op: 'promote',
    actor: alice,
    subject: ref(bob),
    createdAt: 2,
  });
  state = applyMembershipRecord(state, promote);
  return { records: [genesis, add, promote], state };
}

beforeAll(async () => {
  await ready();
  alice = user('alice', 1);
  bob = user('bob', 2);
  carol = user('carol', 3);
  dave = user('dave', 4);
  mallory = user('mallory', 5);
});

describe('membership records', () => {
  it('round-trips a genesis record through its canonical encoding', () => {
    const { records } = basicChain();
    for (const rec of records) {
      const bytes = encodeMembershipRecord(rec);
      const back = decodeMembershipRecord(bytes);
      expect(back).toEqual(rec);
      expect(encodeMembershipRecord(back)).toEqual(bytes);
    }
  });

  it('makes the creator the only admin and lists every initial member', () => {
    const { records } = basicChain();
    const state = applyMembershipRecord(null, records[0]!);
    expect(state.seq).toBe(0);
    expect(state.name).toBe('Climbing ⛰');
    expect([...state.members.keys()].sort()).toEqual(['alice', 'bob']);
    expect(state.members.get('alice')!.admin).toBe(true);
    expect(state.members.get('bob')!.admin).toBe(false);
    expect(state.head).toEqual(hashMembershipRecord(records[0]!));
  });

  it('verifies a chain of add, promote, demote, remove and leave', () => {
    const { records, state: s0 } = basicChain();
    let state = s0;
    const more: MembershipRecord[] = [];
    const step = (rec: MembershipRecord) => {
      more.push(rec);
      state = applyMembershipRecord(state, rec);
    };
    step(createChange(state, { op: 'add', actor: bob, subject: ref(dave), createdAt: 3 }));
    step(createChange(state, { op: 'demote', actor: bob, subject: ref(alice), createdAt: 4 }));
    step(createChange(state, { op: 'remove', actor: bob, subject: ref(carol), createdAt: 5 }));
    step(createChange(state, { op: 'leave', actor: alice, createdAt: 6 }));
    const final = verifyMembershipChain([...records, ...more].map(encodeMembershipRecord));
    expect(final.seq).toBe(6);
    expect([...final.members.entries()].map(([n, m]) => [n, m.admin])).toEqual([
      ['bob', true],
      ['dave', false],
    ]);
    expect(final.head).toEqual(state.head);
  });

  it('does not modify the state it is given', () => {
    const { state } = basicChain();
    const before = structuredClone(state);
    applyMembershipRecord(
      state,
      createChange(state, { op: 'remove', actor: alice, subject: ref(carol), createdAt: 9 }),
    );
    expect(state).toEqual(before);
  });

  it('rejects a record forged by a member who is not an admin', () => {
    const { state } = basicChain();
    // carol is a plain member: she signs a valid-looking "add mallory".
    const forged = signMembershipRecord(
      {
        version: 1,
        groupId: state.groupId,
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'add',
        actor: ref(carol),
        subject: ref(mallory),
        createdAt: 7,
      },
      carol.uik,
    );
    expectCode(() => applyMembershipRecord(state, forged), 'NOT_AUTHORIZED');
    expectCode(
      () => createChange(state, { op: 'add', actor: carol, subject: ref(mallory), createdAt: 7 }),
      'NOT_AUTHORIZED',
    );
  });

  it('rejects a record by an outsider who claims an admin name with another key', () => {
    const { state } = basicChain();
    const fakeAlice = { username: 'alice', uik: mallory.uik };
    const forged = signMembershipRecord(
      {
        version: 1,
        groupId: state.groupId,
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'add',
        actor: ref(fakeAlice),
        subject: ref(mallory),
        createdAt: 7,
      },
      mallory.uik,
    );
    expectCode(() => applyMembershipRecord(state, forged), 'NOT_AUTHORIZED');
  });

  it('rejects a record whose signature does not verify', () => {
    const { state } = basicChain();
    const rec = createChange(state, { op: 'add', actor: alice, subject: ref(dave), createdAt: 8 });
    const bad = { ...rec, signature: rec.signature.slice() };
    bad.signature[10]! ^= 1;
    expectCode(() => applyMembershipRecord(state, bad), 'BAD_SIGNATURE');
    const otherSubject = { ...rec, subject: ref(mallory) } as MembershipRecord;
    expectCode(() => applyMembershipRecord(state, otherSubject), 'BAD_SIGNATURE');
  });

  it('refuses inconsistent changes: adding a member, removing or promoting a non-member', () => {
    const { state } = basicChain();
    const sign = (op: 'add' | 'remove' | 'promote' | 'demote', subject: User) =>
      signMembershipRecord(
        {
          version: 1,
          groupId: state.groupId,
          seq: state.seq + 1,
          prevHash: state.head,
          op,
          actor: ref(alice),
          subject: ref(subject),
          createdAt: 1,
        },
        alice.uik,
      );
    expectCode(() => applyMembershipRecord(state, sign('add', carol)), 'NOT_AUTHORIZED');
    expectCode(() => applyMembershipRecord(state, sign('remove', dave)), 'NOT_AUTHORIZED');
    expectCode(() => applyMembershipRecord(state, sign('promote', dave)), 'NOT_AUTHORIZED');
    expectCode(() => applyMembershipRecord(state, sign('promote', bob)), 'NOT_AUTHORIZED');
    expectCode(() => applyMembershipRecord(state, sign('demote', carol)), 'NOT_AUTHORIZED');
    expectCode(() => applyMembershipRecord(state, sign('remove', alice)), 'NOT_AUTHORIZED');
    // A member with the right name but a different UIK is not that member.
    const impostorCarol = { username: 'carol', uik: mallory.uik };
    expectCode(() => applyMembershipRecord(state, sign('remove', impostorCarol)), 'NOT_AUTHORIZED');
  });

  it('refuses a change that would leave members without an admin', () => {
    const genesis = createGenesis({
      groupId: 'g2',
      name: '',
      creator: alice,
      members: [ref(bob)],
      createdAt: 0,
    });
    const state = applyMembershipRecord(null, genesis);
    expectCode(
      () => createChange(state, { op: 'leave', actor: alice, createdAt: 1 }),
      'NOT_AUTHORIZED',
    );
    expectCode(
      () => createChange(state, { op: 'demote', actor: alice, subject: ref(alice), createdAt: 1 }),
      'NOT_AUTHORIZED',
    );
    // A plain member may leave.
    const leave = createChange(state, { op: 'leave', actor: bob, createdAt: 1 });
    expect([...applyMembershipRecord(state, leave).members.keys()]).toEqual(['alice']);
  });

  it('refuses a leave signed by anyone but the leaver', () => {
    const { state } = basicChain();
    const rec = signMembershipRecord(
      {
        version: 1,
        groupId: state.groupId,
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'leave',
        actor: ref(carol),
        createdAt: 1,
      },
      carol.uik,
    );
    const stolen = {
      ...rec,
      signature: signMembershipRecord({ ...rec, actor: ref(alice) }, alice.uik).signature,
    };
    expectCode(() => applyMembershipRecord(state, stolen), 'BAD_SIGNATURE');
    expect(applyMembershipRecord(state, rec).members.has('carol')).toBe(false);
  });

  it('rejects a genesis not signed by its creator or without the creator as member', () => {
    const genesis = createGenesis({
      groupId: 'g3',
      name: 'x',
      creator: alice,
      members: [ref(bob)],
      createdAt: 0,
    });
    const resigned = signMembershipRecord({ ...genesis, actor: ref(bob) }, bob.uik);
    // bob's key in the list is his own, so this is a valid genesis by bob (bob admin).
    expect(applyMembershipRecord(null, resigned).members.get('bob')!.admin).toBe(true);
    const noCreator = signMembershipRecord(
      { ...genesis, actor: ref(carol), members: [ref(alice), ref(bob)] },
      carol.uik,
    );
    expectCode(() => applyMembershipRecord(null, noCreator), 'NOT_AUTHORIZED');
    const badSig = { ...genesis, createdAt: 5 };
    expectCode(() => applyMembershipRecord(null, badSig), 'BAD_SIGNATURE');
    const notFirst = signMembershipRecord({ ...genesis, seq: 1 }, alice.uik);
    expectCode(() => applyMembershipRecord(null, notFirst), 'CHAIN_BROKEN');
  });

  it('rejects a broken chain: wrong prevHash, skipped seq, another group', () => {
    const { records, state } = basicChain();
    const base = {
      version: 1 as const,
      groupId: state.groupId,
      seq: state.seq + 1,
      prevHash: state.head,
      op: 'add' as const,
      actor: ref(alice),
      subject: ref(dave),
      createdAt: 1,
    };
    const wrongPrev = signMembershipRecord({ ...base, prevHash: new Uint8Array(32) }, alice.uik);
    expectCode(() => applyMembershipRecord(state, wrongPrev), 'CHAIN_BROKEN');
    const skip = signMembershipRecord({ ...base, seq: state.seq + 2 }, alice.uik);
    expectCode(() => applyMembershipRecord(state, skip), 'CHAIN_BROKEN');
    const other = signMembershipRecord({ ...base, groupId: 'other' }, alice.uik);
    expectCode(() => applyMembershipRecord(state, other), 'CHAIN_BROKEN');
    expectCode(() => applyMembershipRecord(null, records[1]!), 'CHAIN_BROKEN');
    expectCode(() => verifyMembershipChain([records[0]!, records[2]!]), 'CHAIN_BROKEN');
    expectCode(
      () => verifyMembershipChain([records[0]!, records[1]!, records[1]!]),
      'CHAIN_BROKEN',
    );
    expectCode(() => verifyMembershipChain([]), 'CHAIN_BROKEN');
  });

  it('detects a fork: two different records at the same seq', () => {
    const { records, state } = basicChain();
    const s1 = verifyMembershipChain(records.slice(0, 2));
    const fork = createChange(s1, { op: 'add', actor: alice, subject: ref(dave), createdAt: 3 });
    expect(detectFork(fork, records[2]!)).toBe(true);
    expect(detectFork(records[2]!, records[2]!)).toBe(false);
    expect(detectFork(records[1]!, records[2]!)).toBe(false);
    expectCode(() => applyMembershipRecord(state, fork), 'FORK');
    expectCode(() => verifyMembershipChain([...records, fork]), 'FORK');
    const forkAt1 = createChange(verifyMembershipChain(records.slice(0, 1)), {
      op: 'add',
      actor: alice,
      subject: ref(dave),
      createdAt: 3,
    });
    expectCode(() => verifyMembershipChain([...records, forkAt1]), 'FORK');
  });

  it('decodes strictly: trailing bytes, truncation, unknown op, bad version, unsorted members', () => {
    const { records } = basicChain();
    const bytes = encodeMembershipRecord(records[0]!);
    expectCode(() => decodeMembershipRecord(new Uint8Array([...bytes, 0])), 'MALFORMED');
    expectCode(() => decodeMembershipRecord(bytes.subarray(0, bytes.length - 1)), 'MALFORMED');
    expectCode(() => decodeMembershipRecord(new Uint8Array(0)), 'MALFORMED');
    const v2 = bytes.slice();
    v2[0] = 2;
    expectCode(() => decodeMembershipRecord(v2), 'UNSUPPORTED_VERSION');
    const add = encodeMembershipRecord(records[1]!);
    const opOffset = 1 + 1 + 'grp_1'.length + 4 + 32;
    expect(add[opOffset]).toBe(2);
    const badOp = add.slice();
    badOp[opOffset] = 42;
    expectCode(() => decodeMembershipRecord(badOp), 'UNKNOWN_TYPE');
    // Swap the two member entries of the genesis (alice, bob → bob, alice) keeping lengths valid.
    const g = records[0] as Extract<MembershipRecord, { op: 'create' }>;
    expect(() => encodeMembershipRecord({ ...g, members: [...g.members].reverse() })).toThrow(
      RangeError,
    );
    const w = new ByteWriter()
      .u8(1)
      .string8(g.groupId)
      .u32(0)
      .raw(g.prevHash)
      .u8(1)
      .string8('alice')
      .raw(alice.uik.publicKey)
      .string8(g.name)
      .u16(2)
      .string8('bob')
      .raw(bob.uik.publicKey)
      .string8('alice')
      .raw(alice.uik.publicKey)
      .u64(0)
      .raw(new Uint8Array(64));
    expectCode(() => decodeMembershipRecord(w.finish()), 'MALFORMED');
  });
});
