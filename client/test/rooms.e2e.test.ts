/**
 * Rooms people join themselves (issue 17, PROTOCOL.md §8.1 "Join policies and invites"), end to
 * end with the real key server and broker: a joiner with an invite link reads what every member
 * sends after the join and nothing from before; an open, listed room is found in the directory
 * and joined; an announcement-only room refuses other members' posts, and its members' clients
 * drop such a post should a misbehaving broker deliver one; and a key server that slips a forged
 * join into the chain (no invite) is not believed by the members' clients.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeMembershipRecord,
  fromBase64,
  peekGroupEnvelope,
  signMembershipRecord,
  toBase64,
  verifyMembershipChain,
} from '@sotto/crypto';
import type { SottoClient } from '../src/engine.ts';
import { inviteLink, parseInviteLink } from '../src/invite-link.ts';
import type { ClientStore } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { startHostileProxy, type HostileProxy } from './support/hostile-proxy.ts';
import { makeClient, startServer, uname, until, type TestServer } from './support/server.ts';

const PW = 'correct horse battery';
let srv: TestServer;
let proxy: HostileProxy;
const clients: SottoClient[] = [];

interface Member {
  c: SottoClient;
  name: string;
  store: ClientStore;
  texts: string[];
}

async function member(
  prefix: string,
  hostile = false,
  wrap?: (c: MqttClient) => MqttClient,
): Promise<Member> {
  const name = uname(prefix);
  const store = createMemoryStore();
  const c = makeClient(hostile ? { httpUrl: proxy.url, mqttUrl: srv.mqttUrl } : srv, store, wrap);
  clients.push(c);
  const m: Member = { c, name, store, texts: [] };
  c.on('message', (msg) => {
    if (msg.conversationId.startsWith('group:')) m.texts.push(msg.body.text as string);
  });
  await c.register(name, PW, { kind: 'bot' });
  await c.start();
  return m;
}

/** The `code` of whatever typed error `p` rejects with (ClientError, ApiError, CryptoError). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    throw err;
  }
  return 'resolved';
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

describe('joining rooms', () => {
  it('joins by invite link and reads the next message of every member, none from before', async () => {
    const alice = await member('alice');
    const bob = await member('bob');
    const carol = await member('carol');
    const dave = await member('dave');
    const groupId = await alice.c.groups.create('Climbing', [bob.name]);
    const conv = `group:${groupId}`;
    await until(async () => !!(await bob.store.getGroup(groupId)), 'bob learns the group');
    await alice.c.sendText(conv, 'before carol');
    await until(() => bob.texts.includes('before carol'), 'bob reads the early message');

    const created = await alice.c.groups.createInvite(groupId, { maxUses: 1 });
    const link = inviteLink('http://chat.example:8080/some/path', groupId, created.secret);
    expect(link).toMatch(
      new RegExp(`^http://chat\\.example:8080/#/join/${groupId}/[A-Za-z0-9_-]{43}$`),
    );
    const parsed = parseInviteLink(link);
    expect(await carol.c.groups.preview(parsed.groupId, parsed.secret)).toMatchObject({
      name: 'Climbing',
      memberCount: 2,
      join: 'invite',
      member: false,
    });
    // Without the secret the room is invisible to a non-member.
    expect(await codeOf(carol.c.groups.preview(groupId))).toBe('GROUP_NOT_FOUND');

    await carol.c.groups.join(parsed.groupId, parsed.secret);
    expect((await carol.store.getGroup(groupId))?.members).toContain(carol.name);
    // Every member learns of the join from the key server, verifies it, and hands its
    // sender key to carol's device with its next message.
    await until(
      async () => (await bob.store.getGroup(groupId))?.members.includes(carol.name) ?? false,
      'bob adopts the join',
    );
    await until(
      async () => (await alice.store.getGroup(groupId))?.members.includes(carol.name) ?? false,
      'alice adopts the join',
    );
    await alice.c.sendText(conv, 'welcome carol');
    await bob.c.sendText(conv, 'hi from bob');
    await until(
      () => carol.texts.includes('welcome carol') && carol.texts.includes('hi from bob'),
      'carol reads both members',
    );
    expect(carol.texts).not.toContain('before carol');

    const [inv] = await alice.c.groups.listInvites(groupId);
    expect(inv).toMatchObject({ id: created.id, uses: 1, maxUses: 1, revoked: false });
    // Used up: the key server refuses even the preview a join starts with.
    expect(await codeOf(dave.c.groups.join(groupId, parsed.secret))).toBe('INVITE_USED_UP');
    // A second invite, revoked: the key server refuses even the preview.
    const second = await alice.c.groups.createInvite(groupId);
    await alice.c.groups.revokeInvite(groupId, second.id);
    expect(await codeOf(dave.c.groups.preview(groupId, second.secret))).toBe('INVITE_REVOKED');
    expect((await alice.c.groups.listInvites(groupId))[0]).toMatchObject({ revoked: true });
    // Not an admin: bob cannot make invites.
    expect(await codeOf(bob.c.groups.createInvite(groupId))).toBe('NOT_ADMIN');
  });

  it('finds an open listed room in the directory and joins it; announcement-only refuses members’ posts', async () => {
    const alice = await member('alice');
    const bob = await member('bob');
    const erin = await member('erin');
    const groupId = await alice.c.groups.create(`Boulder ${erin.name}`, [bob.name]);
    await alice.c.groups.setPolicy(groupId, { join: 'open', listed: true, topic: 'Leipzig' });
    const found = await erin.c.groups.directory(erin.name);
    expect(found).toEqual([
      { groupId, name: `Boulder ${erin.name}`, topic: 'Leipzig', memberCount: 2 },
    ]);
    await erin.c.groups.join(groupId);
    await until(
      async () => (await bob.store.getGroup(groupId))?.members.includes(erin.name) ?? false,
      'bob adopts the open join',
    );

    await alice.c.groups.setPolicy(groupId, { announce: true });
    await until(
      async () => (await bob.store.getGroup(groupId))?.policy?.announce === true,
      'bob learns the room is announcement-only',
    );
    expect(await codeOf(bob.c.sendText(`group:${groupId}`, 'may I?'))).toBe('NOT_ADMIN');
    await alice.c.sendText(`group:${groupId}`, 'announcement');
    await until(
      () => bob.texts.includes('announcement') && erin.texts.includes('announcement'),
      'members read the announcement',
    );
  });

  it('drops a non-admin post in an announcement-only room that a misbehaving broker delivers', async () => {
    // erin's "broker": her engine's MQTT client, whose PUBLISH handler the test stands between.
    // It holds bob's group envelopes back while asked to and can deliver them later, as a broker
    // that ignored [ACL-2] would.
    let mqttClient: MqttClient | null = null;
    const erin = await member('erin', false, (c) => (mqttClient = c));
    const alice = await member('alice');
    const bob = await member('bob');
    const groupId = await alice.c.groups.create('Notices', [bob.name, erin.name]);
    const conv = `group:${groupId}`;
    const errors: string[] = [];
    erin.c.on('error', (e) => errors.push((e as { code?: string }).code ?? String(e)));
    await until(async () => !!(await erin.store.getGroup(groupId)), 'erin learns the group');
    await bob.c.sendText(conv, 'bob says hi');
    await until(() => erin.texts.includes('bob says hi'), 'erin reads bob');
    // Nothing of bob's first message may be re-sent while the test holds his posts: the outbox
    // re-sends a group message to a member who acknowledges the sender key after it (she may have
    // got the message before the key), so a re-send of 'bob says hi' could be held instead.
    await until(async () => (await bob.store.listOutbox()).length === 0, "bob's outbox empties");

    const client = mqttClient! as MqttClient & {
      handleMessage: (p: IPublishPacket, cb: () => void) => void;
    };
    const deliver = client.handleMessage.bind(client);
    const held: IPublishPacket[] = [];
    client.handleMessage = (packet, cb) => {
      const fromBob =
        packet.topic.startsWith('sotto/v1/group/') &&
        peekGroupEnvelope(new Uint8Array(packet.payload as Buffer)).username === bob.name;
      if (!fromBob) return deliver(packet, cb);
      held.push(packet);
      cb();
    };
    // Sent while bob may still post: the real broker lets it through to erin's connection.
    await bob.c.sendText(conv, 'sneaked in');
    // Its first delivery; the outbox re-sends it every 3 s while erin does not acknowledge it.
    await until(() => held.length >= 1, "bob's post reaches erin's connection");
    await alice.c.groups.setPolicy(groupId, { announce: true });
    await until(
      async () => (await erin.store.getGroup(groupId))?.policy?.announce === true,
      'erin learns the room is announcement-only',
    );
    // The misbehaving broker delivers bob's post now, then alice's announcement as the marker.
    client.handleMessage = deliver;
    deliver({ ...held[0]!, qos: 0 }, () => undefined);
    await alice.c.sendText(conv, 'after the switch');
    await until(() => erin.texts.includes('after the switch'), "erin reads alice's announcement");
    expect(erin.texts).not.toContain('sneaked in');
    expect(errors).toContain('NOT_ADMIN');
  });

  it('does not believe a key server that slips a join without an invite into the chain', async () => {
    const alice = await member('alice');
    const bob = await member('bob', true);
    const mallory = await member('mall');
    const groupId = await alice.c.groups.create('Private', [bob.name]);
    await alice.c.groups.setPolicy(groupId, { join: 'invite' });
    await bob.c.groups.refresh(groupId);
    const held = await bob.store.getGroup(groupId);
    expect(held?.policy?.join).toBe('invite');

    // The key server's chain plus mallory's self-signed join with no invite.
    const chain = held!.chain;
    const state = verifyMembershipChain(chain);
    const account = await mallory.store.getAccount();
    const forged = signMembershipRecord(
      {
        version: 1,
        groupId,
        seq: state.seq + 1,
        prevHash: state.head,
        op: 'join',
        actor: { username: mallory.name, uik: account!.uik.publicKey },
        proof: null,
        createdAt: Date.now(),
      },
      account!.uik,
    );
    const records = [...chain.map((r) => toBase64(r)), toBase64(encodeMembershipRecord(forged))];
    const off = proxy.use((req, res) =>
      req.method === 'GET' && req.path.split('?')[0] === `/v1/groups/${groupId}`
        ? { status: 200, headers: res.headers, body: { groupId, records } }
        : undefined,
    );
    try {
      expect(await codeOf(bob.c.groups.refresh(groupId))).toBe('NOT_AUTHORIZED');
      const after = await bob.store.getGroup(groupId);
      expect(after?.members).not.toContain(mallory.name);
      expect(after?.chain.map((r) => toBase64(r))).toEqual(chain.map((r) => toBase64(r)));
      // bob's next message reaches alice, and its sender key went to no device of mallory.
      await bob.c.sendText(`group:${groupId}`, 'still private');
      const own = await bob.store.getOwnSenderKey(groupId);
      expect(own?.distributedTo.some((d) => d.startsWith(`${mallory.name}:`))).toBe(false);
      expect(own?.distributedTo.some((d) => d.startsWith(`${alice.name}:`))).toBe(true);
    } finally {
      off();
    }
    expect(fromBase64(records[0]!)).toEqual(chain[0]);
  });
});
