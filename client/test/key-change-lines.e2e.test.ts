/**
 * "Your safety number with carol changed" as a timeline line (issue 17) against a real key
 * server and broker: when the trust layer sees a contact's new identity key, it writes one line
 * into their DM and into every group this account shares with them — not into a group without
 * them — kept in the store with the history. A member cannot write such a line: a payload of
 * kind `notice` sent into a group is kept as `unknown`, never as a line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMessageId } from '../src/payload.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { clientPool, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const pool = clientPool(() => srv);
const PW = 'correct horse battery';

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  await pool.closeAll();
  await srv?.close();
});

async function user(prefix: string) {
  const name = uname(prefix);
  const c = pool.client();
  await c.register(name, PW);
  await c.start();
  return { name, c };
}

const isKeyLine = (m: MessageRecord, about: string) =>
  m.kind === 'notice' && m.body.notice === 'keyChange' && m.body.user === about;

describe('safety number changes as timeline lines', () => {
  it('writes one line in the DM and in each shared group, none elsewhere, and none a member sends', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    const shared = await alice.c.groups.create('Shared', [carol.name, bob.name]);
    const quiet = await alice.c.groups.create('Quiet', [carol.name]);
    const without = await alice.c.groups.create('Without carol', [bob.name]);
    const got: MessageRecord[] = [];
    alice.c.on('message', (m) => got.push(m));
    await carol.c.sendText(`dm:${alice.name}`, 'hi alice');
    await carol.c.sendText(`group:${shared}`, 'hi room');
    await until(
      () =>
        got.some((m) => m.body.text === 'hi alice') && got.some((m) => m.body.text === 'hi room'),
      'alice reads carol in the DM and the room',
    );

    await carol.c.resetIdentity(PW);
    await alice.c.trust.refresh(carol.name);
    const lines = async (conversation: string) =>
      (await alice.c.store.listMessages(conversation, { limit: 500 })).filter((m) =>
        isKeyLine(m, carol.name),
      );
    expect(await lines(`dm:${carol.name}`)).toHaveLength(1);
    expect(await lines(`group:${shared}`)).toHaveLength(1);
    expect(await lines(`group:${quiet}`)).toHaveLength(1);
    expect(await lines(`group:${without}`)).toHaveLength(0);
    // The line is not a message of carol's: no device, not unread, local id outside payload ids.
    const [line] = await lines(`group:${shared}`);
    expect(line).toMatchObject({ senderDevice: '', unread: false, outgoing: false });
    expect(line!.id).toMatch(/^notice-[0-9a-f]{16}$/);
    // Seen again, the same key writes nothing more.
    await alice.c.trust.refresh(carol.name);
    expect(await lines(`group:${shared}`)).toHaveLength(1);

    // Bob, a member of the room, sends a payload of kind `notice` claiming carol's key changed
    // again, then a marker: alice keeps the first as `unknown`, and no second line appears.
    await bob.c.send(`group:${shared}`, {
      kind: 'unknown',
      originalKind: 'notice',
      raw: {
        v: 1,
        id: newMessageId(),
        ts: Date.now(),
        kind: 'notice',
        notice: 'keyChange',
        user: carol.name,
      },
    });
    await bob.c.sendText(`group:${shared}`, 'marker after the forged line');
    await until(
      () => got.some((m) => m.body.text === 'marker after the forged line'),
      'alice reads the marker',
    );
    expect(await lines(`group:${shared}`)).toHaveLength(1);
    const fromBob = (await alice.c.store.listMessages(`group:${shared}`, { limit: 500 })).filter(
      (m) => m.sender === bob.name,
    );
    expect(fromBob.map((m) => m.kind).sort()).toEqual(['text', 'unknown']);
  });
});
