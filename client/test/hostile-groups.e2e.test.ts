/**
 * Groups against a hostile key server (issue 14, PROTOCOL.md §8.7), end to end with the real key
 * server and broker: the member under attack reaches the key server through a proxy whose
 * answers the test rewrites (support/hostile-proxy.ts). A forked chain freezes the group and no
 * sender key reaches the intruder; a withheld removal is still applied from the members'
 * end-to-end `group-change` record; a forged record is dropped and reported; a device that
 * leaves a member's device list no longer gets the sender key.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createChange,
  createGenesis,
  deserializeReceiverState,
  encodeMembershipRecord,
  fromBase64,
  groupDecrypt,
  groupTopic,
  hashMembershipRecord,
  MEMBERSHIP_RECORD_VERSION,
  peekGroupEnvelope,
  signMembershipRecord,
  toBase64,
  verifyMembershipChain,
  type MemberRef,
  type MembershipRecord,
} from '@sotto/crypto';
import type { SottoClient } from '../src/engine.ts';
import type { SecurityNotice } from '../src/internal/context.ts';
import type { ClientStore } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { startHostileProxy, type HostileProxy, type Rewriter } from './support/hostile-proxy.ts';
import {
  makeClient,
  startServer,
  uname,
  until,
  type TestServer,
  codeOf,
} from './support/server.ts';

const PW = 'correct horse battery';
let srv: TestServer;
let proxy: HostileProxy;
const clients: SottoClient[] = [];

interface Member {
  c: SottoClient;
  name: string;
  store: ClientStore;
  texts: string[];
  notices: SecurityNotice[];
  /** Raw envelopes that reached this engine's MQTT client on group topics. */
  groupEnvelopes: { topic: string; payload: Uint8Array }[];
}

function wrapCapture(groupEnvelopes: Member['groupEnvelopes']) {
  return (c: MqttClient): MqttClient => {
    c.on('message', (topic, payload) => {
      if (topic.startsWith('sotto/v1/group/'))
        groupEnvelopes.push({ topic, payload: new Uint8Array(payload) });
    });
    return c;
  };
}

function track(c: SottoClient, name: string, store: ClientStore, envs: Member['groupEnvelopes']) {
  clients.push(c);
  const m: Member = { c, name, store, texts: [], notices: [], groupEnvelopes: envs };
  c.on('message', (msg) => {
    if (msg.conversationId.startsWith('group:')) m.texts.push(msg.body.text as string);
  });
  c.on('securityNotice', (n) => m.notices.push(n));
  if (process.env.DEBUG_E2E) c.on('error', (e) => console.log(name, 'ERR', e));
  return m;
}

/** A registered, started member; `hostile` sends its key-server traffic through the proxy. */
async function member(prefix: string, hostile = false): Promise<Member> {
  const name = uname(prefix);
  const store = createMemoryStore();
  const envs: Member['groupEnvelopes'] = [];
  const c = makeClient(
    hostile ? { httpUrl: proxy.url, mqttUrl: srv.mqttUrl } : srv,
    store,
    wrapCapture(envs),
  );
  const m = track(c, name, store, envs);
  await c.register(name, PW, { kind: 'bot' });
  await c.start();
  return m;
}

async function refOf(
  m: Member,
): Promise<{ ref: MemberRef; uik: { publicKey: Uint8Array; secretKey: Uint8Array } }> {
  const account = await m.store.getAccount();
  if (!account) throw new Error(`${m.name} has no account`);
  return { ref: { username: m.name, uik: account.uik.publicKey }, uik: account.uik };
}

/**
 * A chain for `groupId` that the intruder started: a new genesis with the intruder as the only
 * admin and `others` as members, then `extra` promote/demote records so it is longer than the
 * real one (the old code adopted any longer chain on the sender-key path).
 */
async function forkedChain(groupId: string, intruder: Member, others: Member[], extra: number) {
  const me = await refOf(intruder);
  const refs = await Promise.all(others.map(refOf));
  const genesis = createGenesis({
    groupId,
    name: 'hijacked',
    creator: { username: me.ref.username, uik: me.uik },
    members: refs.map((r) => r.ref),
    createdAt: Date.now(),
  });
  const records: MembershipRecord[] = [genesis];
  let state = verifyMembershipChain([encodeMembershipRecord(genesis)]);
  for (let i = 0; i < extra; i++) {
    const rec = createChange(state, {
      actor: { username: me.ref.username, uik: me.uik },
      createdAt: Date.now(),
      op: i % 2 === 0 ? 'promote' : 'demote',
      subject: refs[0]!.ref,
    });
    records.push(rec);
    state = verifyMembershipChain(records.map((r) => encodeMembershipRecord(r)));
  }
  return records.map((r) => toBase64(encodeMembershipRecord(r)));
}

/** Serve `records` for `GET /v1/groups/{groupId}` instead of the key server's chain. */
function serveChain(groupId: string, records: () => string[]): Rewriter {
  return (req, res) =>
    req.method === 'GET' && req.path.split('?')[0] === `/v1/groups/${groupId}`
      ? { status: 200, headers: res.headers, body: { groupId, records: records() } }
      : undefined;
}

beforeAll(async () => {
  srv = await startServer();
  proxy = await startHostileProxy(srv.httpUrl);
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await proxy?.close();
  await srv?.close();
});

describe('groups against a hostile key server', () => {
  it('freezes a group whose chain the key server forks on refresh, after adopting a legitimate extension', async () => {
    const alice = await member('alice');
    const bob = await member('bob', true);
    const dave = await member('dave');
    const intruder = await member('intr');
    const groupId = await alice.c.groups.create('Home', [bob.name]);
    const conv = `group:${groupId}`;
    await until(async () => !!(await bob.store.getGroup(groupId)), 'bob learns the group');

    // Positive control: a legitimate extension through the same proxy is adopted.
    await alice.c.groups.add(groupId, dave.name);
    await bob.c.groups.refresh(groupId);
    const extended = await bob.store.getGroup(groupId);
    expect(extended?.members).toContain(dave.name);
    expect(extended?.chain.length).toBe(2);
    expect(extended?.frozen).toBeUndefined();
    await bob.c.sendText(conv, 'before the fork');
    await until(() => alice.texts.includes('before the fork'), 'alice reads bob');

    const forged = await forkedChain(groupId, intruder, [alice, bob, dave], 3);
    const off = proxy.use(serveChain(groupId, () => forged));
    try {
      const after = await bob.c.groups.refresh(groupId);
      expect(after?.frozen?.reason).toBe('forked');
      const stored = await bob.store.getGroup(groupId);
      expect(stored?.frozen?.reason).toBe('forked');
      expect(stored?.members).not.toContain(intruder.name);
      expect(stored?.chain.map((r) => toBase64(r))).toEqual(
        extended?.chain.map((r) => toBase64(r)),
      );
      expect((await bob.c.groups.list()).find((g) => g.groupId === groupId)?.frozen).toEqual(
        stored?.frozen,
      );
      expect(bob.notices).toContainEqual(
        expect.objectContaining({
          code: 'GROUP_FORKED',
          user: bob.name,
          device: null,
          conversationId: conv,
          groupId,
          message: "this group's history was rewritten by the server",
        }),
      );
      // Frozen: nothing is sent, no sender key is handed out, the fork is never adopted later.
      expect(await codeOf(bob.c.sendText(conv, 'after the fork'))).toBe('GROUP_FROZEN');
      expect((await bob.c.groups.refresh(groupId))?.members).not.toContain(intruder.name);
      const own = await bob.store.getOwnSenderKey(groupId);
      expect(own?.distributedTo.some((a) => a.startsWith(`${intruder.name}:`))).toBe(false);
    } finally {
      off();
    }
  });

  it('freezes the group when a forked chain comes on the sender-key path, and the intruder never gets our sender key', async () => {
    const alice = await member('alice');
    const bob = await member('bob', true);
    // The intruder's engine sees the forked chain too (it goes through the same proxy), so it
    // hands bob a sender key for "its" group: bob meets the fork on the unknown-sender path.
    const intruder = await member('intr', true);
    const groupId = await alice.c.groups.create('Home', [bob.name]);
    const conv = `group:${groupId}`;
    await until(async () => !!(await bob.store.getGroup(groupId)), 'bob learns the group');
    await bob.c.sendText(conv, 'honest');
    await until(() => alice.texts.includes('honest'), 'alice reads bob');
    const before = await bob.store.getOwnSenderKey(groupId);
    expect(before).not.toBeNull();

    const forged = await forkedChain(groupId, intruder, [alice, bob], 3);
    const off = proxy.use(serveChain(groupId, () => forged));
    try {
      // The intruder "sends" to the forked group: its sender key goes to bob pairwise (the broker
      // refuses its group publish, which does not matter here).
      await intruder.c.sendText(conv, 'psst').catch(() => undefined);
      await until(
        async () => !!(await bob.store.getGroup(groupId))?.frozen,
        'bob freezes the group',
      );
      const stored = await bob.store.getGroup(groupId);
      expect(stored?.frozen?.reason).toBe('forked');
      expect(stored?.members).toEqual([alice.name, bob.name].sort());
      expect(bob.notices.map((n) => n.code)).toContain('GROUP_FORKED');
      expect(await codeOf(bob.c.sendText(conv, 'to the fork'))).toBe('GROUP_FROZEN');

      // Bob's sender key never went to the intruder: not in its distribution list, not in the
      // intruder's store (its engine would have accepted it: the forked chain names bob). The
      // marker: a DM bob sends the intruder now; a sender key of his would have taken the same
      // path (bob's publishes to the intruder's inbox, in order) before it.
      await bob.c.sendText(intruder.name, 'marker after the freeze');
      await until(
        async () =>
          (await intruder.store.listMessages(`dm:${bob.name}`)).some(
            (m) => m.body.text === 'marker after the freeze',
          ),
        'the intruder gets the marker DM',
      );
      const own = await bob.store.getOwnSenderKey(groupId);
      expect(own?.distributedTo.some((a) => a.startsWith(`${intruder.name}:`))).toBe(false);
      const bobDevice = bob.c.account!.deviceId;
      expect(await intruder.store.getSenderKey(groupId, bob.name, bobDevice, before!.keyId)).toBe(
        null,
      );
      if (own && own.keyId !== before!.keyId)
        expect(await intruder.store.getSenderKey(groupId, bob.name, bobDevice, own.keyId)).toBe(
          null,
        );
    } finally {
      off();
    }
  });

  it('applies a removal the key server withholds from the E2E group-change record, rotates, and freezes on the rollback', async () => {
    const alice = await member('alice');
    const bob = await member('bob', true);
    const carol = await member('carol');
    const groupId = await alice.c.groups.create('Home', [bob.name, carol.name]);
    const conv = `group:${groupId}`;
    await until(
      async () => !!(await bob.store.getGroup(groupId)) && !!(await carol.store.getGroup(groupId)),
      'bob and carol learn the group',
    );
    await bob.c.sendText(conv, 'one');
    await until(() => carol.texts.includes('one') && alice.texts.includes('one'), 'all read one');
    const firstKey = (await bob.store.getOwnSenderKey(groupId))!.keyId;

    // From now on the key server keeps serving bob the chain without the removal.
    const old = (await alice.c.http.getGroup(groupId)).records;
    const off = proxy.use(serveChain(groupId, () => old));
    try {
      await alice.c.groups.remove(groupId, carol.name);
      await until(
        async () => !(await bob.store.getGroup(groupId))?.members.includes(carol.name),
        "bob applies carol's removal end to end",
      );
      const g = await bob.store.getGroup(groupId);
      expect(g?.frozen).toBeUndefined();
      expect(g?.chain.length).toBe(2);
      expect(await bob.store.getOwnSenderKey(groupId)).toBeNull();
      expect(
        await bob.store.getSenderKey(groupId, carol.name, carol.c.account!.deviceId, 0),
      ).toBeNull();

      await bob.c.sendText(conv, 'two');
      await until(() => alice.texts.includes('two'), 'alice reads two');
      const second = (await bob.store.getOwnSenderKey(groupId))!;
      expect(second.keyId).not.toBe(firstKey);
      expect(second.distributedTo.some((a) => a.startsWith(`${carol.name}:`))).toBe(false);
      // The marker: a DM bob sends carol after 'two'; a sender key for 'two' would have reached
      // carol's inbox before it (bob's publishes to one inbox go out in order).
      await bob.c.sendText(carol.name, 'marker after two');
      await until(
        async () =>
          (await carol.store.listMessages(`dm:${bob.name}`)).some(
            (m) => m.body.text === 'marker after two',
          ),
        'carol gets the marker DM',
      );
      expect(carol.texts).not.toContain('two');
      expect(
        await carol.store.getSenderKey(groupId, bob.name, bob.c.account!.deviceId, second.keyId),
      ).toBeNull();

      // A later answer without the record we hold is a rollback: frozen.
      const after = await bob.c.groups.refresh(groupId);
      expect(after?.frozen?.reason).toBe('rolled-back');
      expect(after?.members).not.toContain(carol.name);
      expect(bob.notices.map((n) => n.code)).toContain('GROUP_FORKED');
      expect(await codeOf(bob.c.sendText(conv, 'three'))).toBe('GROUP_FROZEN');
    } finally {
      off();
    }
  });

  it('drops a group-change record signed by a member who is not an admin, and reports it', async () => {
    const alice = await member('alice');
    const bob = await member('bob');
    const mallory = await member('mall');
    const groupId = await alice.c.groups.create('Home', [bob.name, mallory.name]);
    await until(
      async () =>
        !!(await bob.store.getGroup(groupId)) && !!(await mallory.store.getGroup(groupId)),
      'bob and mallory learn the group',
    );
    const held = (await bob.store.getGroup(groupId))!;
    const state = verifyMembershipChain(held.chain);
    const m = await refOf(mallory);
    const a = await refOf(alice);
    // Mallory, not an admin, signs "remove alice" as the next record (createChange would refuse).
    const next = signMembershipRecord(
      {
        version: MEMBERSHIP_RECORD_VERSION,
        groupId,
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'remove',
        actor: m.ref,
        subject: a.ref,
        createdAt: Date.now(),
      },
      m.uik,
    );
    await mallory.c.send(`dm:${bob.name}`, {
      kind: 'group-change',
      groupId,
      record: toBase64(encodeMembershipRecord(next)),
    });
    await until(
      () => bob.notices.some((n) => n.code === 'FORGED_GROUP_CHANGE'),
      'bob reports the forged change',
    );
    expect(bob.notices.find((n) => n.code === 'FORGED_GROUP_CHANGE')).toMatchObject({
      user: mallory.name,
      device: mallory.c.account!.deviceId,
      conversationId: `group:${groupId}`,
      groupId,
    });

    // Nor can a member freeze the group with a record of their own at a position we hold.
    const genesis = fromBase64(toBase64(held.chain[0]!));
    const rival = signMembershipRecord(
      {
        version: MEMBERSHIP_RECORD_VERSION,
        groupId,
        seq: 1,
        prevHash: hashMembershipRecord(genesis),
        op: 'leave',
        actor: m.ref,
        createdAt: Date.now(),
      },
      m.uik,
    );
    // Applied first by a real change, so position 1 is held when the rival arrives.
    await alice.c.groups.promote(groupId, bob.name);
    await until(
      async () => (await bob.store.getGroup(groupId))?.admins.includes(bob.name) ?? false,
      'bob learns the promotion',
    );
    await mallory.c.send(`dm:${bob.name}`, {
      kind: 'group-change',
      groupId,
      record: toBase64(encodeMembershipRecord(rival)),
    });
    await until(
      () => bob.notices.filter((n) => n.code === 'FORGED_GROUP_CHANGE').length === 2,
      'bob reports the second forged change',
    );
    const after = await bob.store.getGroup(groupId);
    expect(after?.frozen).toBeUndefined();
    expect(after?.members).toEqual([alice.name, bob.name, mallory.name].sort());
    expect(after?.chain.length).toBe(2);
    expect(bob.notices.map((n) => n.code)).not.toContain('GROUP_FORKED');
    await bob.c.sendText(`group:${groupId}`, 'still fine');
    await until(() => alice.texts.includes('still fine'), 'alice reads bob');

    // An admin's record that competes with the one bob holds at that position is a fork: frozen.
    const promoted = verifyMembershipChain(after!.chain.slice(0, 1));
    const fork = createChange(promoted, {
      actor: { username: a.ref.username, uik: a.uik },
      createdAt: Date.now(),
      op: 'promote',
      subject: m.ref,
    });
    await alice.c.send(`dm:${bob.name}`, {
      kind: 'group-change',
      groupId,
      record: toBase64(encodeMembershipRecord(fork)),
    });
    await until(
      async () => (await bob.store.getGroup(groupId))?.frozen?.reason === 'forked',
      "bob freezes on an admin's competing record",
    );
    expect(bob.notices.map((n) => n.code)).toContain('GROUP_FORKED');
    expect((await bob.store.getGroup(groupId))?.admins).toEqual([alice.name, bob.name].sort());
  });

  it.each([
    ['logs out', 'logout'],
    ['is removed on the devices page of another', 'removed'],
  ] as const)(
    "starts a new sender key when a member's device %s; the removed device never gets it",
    async (_how, how) => {
      const alice = await member('alice');
      const bob1 = await member('bob');
      const bob2Store = createMemoryStore();
      const bob2 = track(makeClient(srv, bob2Store, wrapCapture([])), bob1.name, bob2Store, []);
      const session = await bob2.c.link.begin(bob1.name, PW);
      await bob1.c.link.approve(session.code);
      await session.linked;
      await bob2.c.start();
      const groupId = await alice.c.groups.create('Home', [bob1.name]);
      const conv = `group:${groupId}`;
      await until(
        async () => !!(await bob1.store.getGroup(groupId)) && !!(await bob2Store.getGroup(groupId)),
        'both of bob’s devices learn the group',
      );
      await alice.c.trust.refresh(bob1.name);
      await alice.c.sendText(conv, 'one');
      await until(() => bob1.texts.includes('one') && bob2.texts.includes('one'), 'both read one');
      const first = (await alice.store.getOwnSenderKey(groupId))!;
      const bob2Device = bob2.c.account!.deviceId;
      expect(first.distributedTo).toContain(`${bob1.name}:${bob2Device}`);

      if (how === 'logout') await bob2.c.logout();
      // the devices page: bob1 (who just logged in, so within the step-up window) removes bob2
      else await (await bob1.c.security()).removeDevice(bob2Device);
      await alice.c.trust.refresh(bob1.name);
      bob1.groupEnvelopes.length = 0;
      await alice.c.sendText(conv, 'two');
      await until(() => bob1.texts.includes('two'), 'bob1 reads two');
      const second = (await alice.store.getOwnSenderKey(groupId))!;
      expect(second.keyId).not.toBe(first.keyId);
      expect(second.distributedTo).not.toContain(`${bob1.name}:${bob2Device}`);
      expect(second.distributedTo).toContain(`${bob1.name}:${bob1.c.account!.deviceId}`);

      // The envelope bob1 got is on the new key: the logged-out device holds only the old one.
      const env = bob1.groupEnvelopes.find(
        (e) =>
          e.topic === groupTopic(groupId) && peekGroupEnvelope(e.payload).username === alice.name,
      );
      expect(env).toBeDefined();
      expect(peekGroupEnvelope(env!.payload).keyId).toBe(second.keyId);
      const aliceDevice = alice.c.account!.deviceId;
      expect(
        await bob2Store.getSenderKey(groupId, alice.name, aliceDevice, second.keyId),
      ).toBeNull();
      const oldState = await bob2Store.getSenderKey(groupId, alice.name, aliceDevice, first.keyId);
      expect(oldState).not.toBeNull();
      expect(() =>
        groupDecrypt(deserializeReceiverState(oldState!.state), env!.payload, groupId),
      ).toThrow();
    },
  );
});
