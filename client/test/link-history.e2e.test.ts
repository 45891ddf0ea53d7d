/**
 * Message history copied to a newly linked device (PROTOCOL.md §13 "History"),
 * against a real key server and broker: Alice's second device shows her DMs
 * and group with the right senders, order, reaction, edit and file, finds an
 * old message by search and keeps receiving; a blob altered on its way from
 * the key server ends in a linked device with HISTORY_NOT_IMPORTED; opting
 * out copies nothing; a small bound sends the most recent messages and counts
 * the rest; an unused blob is deleted when the link expires.
 */
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLinkCode, encodeLinkCode } from '@sotto/crypto';
import { createClient, type SottoClient } from '../src/engine.ts';
import { isApiError } from '../src/http.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { clientPool, startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const pool = clientPool(() => srv);
const client = pool.client;
const servers: Server[] = [];
const PW = 'correct horse battery';

/** A device whose key-server traffic passes a proxy that flips the last byte of every blob. */
async function clientBehindTamperingProxy(): Promise<SottoClient> {
  const target = new URL(srv.httpUrl);
  const proxy = createServer((req, res) => {
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          if (req.method === 'GET' && req.url?.startsWith('/v1/blobs/') && body.length > 0) {
            body[body.length - 1]! ^= 0x01;
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(body);
        });
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  servers.push(proxy);
  const { port } = proxy.address() as { port: number };
  const c = createClient({
    store: createMemoryStore(),
    http: { baseUrl: `http://127.0.0.1:${port}` },
    mqttConnect: (o) => mqtt.connect(srv.mqttUrl, { ...o, reconnectPeriod: 200 }),
  });
  pool.track(c);
  return c;
}

/** Every message of every conversation, oldest first per conversation. */
async function history(c: SottoClient): Promise<Map<string, MessageRecord[]>> {
  const out = new Map<string, MessageRecord[]>();
  for (const conv of await c.store.listConversations()) {
    out.set(conv.conversationId, await c.store.listMessages(conv.conversationId, { limit: 1000 }));
  }
  return out;
}

/** What a user sees of a message (not this device's own bookkeeping). */
function shown(m: MessageRecord): unknown {
  return {
    id: m.id,
    sender: m.sender,
    timestamp: m.timestamp,
    kind: m.kind,
    body: m.body,
    outgoing: m.outgoing,
    edited: m.edited,
    deleted: m.deleted,
    reactions: m.reactions,
  };
}

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  await pool.closeAll();
  for (const s of servers) s.close();
  await srv?.close();
});

/** Alice with DMs to Bob and Carol and a group with both; returns the started engines. */
async function aliceWithHistory(): Promise<{
  a: string;
  b: string;
  alice1: SottoClient;
  bob: SottoClient;
  groupId: string;
  file: Uint8Array;
}> {
  const a = uname('alice');
  const b = uname('bob');
  const c = uname('carol');
  const alice1 = client();
  const bob = client();
  const carol = client();
  await alice1.register(a, PW);
  await bob.register(b, PW);
  await carol.register(c, PW);
  await Promise.all([alice1.start(), bob.start(), carol.start()]);
  const aliceGot: MessageRecord[] = [];
  alice1.on('message', (m) => aliceGot.push(m));
  const bobGot: MessageRecord[] = [];
  bob.on('message', (m) => bobGot.push(m));

  const old = await alice1.sendText(b, 'the zeppelin leaves at noon');
  await until(() => bobGot.length === 1, 'bob receives');
  await bob.sendText(a, 'see you there', { replyTo: old.id });
  await until(() => aliceGot.length === 1, 'alice receives the reply');
  await bob.react(a, old.id, '👍');
  const typo = await alice1.sendText(b, 'bring an umbrela');
  await alice1.edit(b, typo.id, 'bring an umbrella');
  const file = new TextEncoder().encode('boarding pass');
  await alice1.sendFile(b, file, { name: 'pass.txt', mime: 'text/plain', caption: 'ticket' });
  await until(
    async () => (await alice1.store.getMessage(old.id))?.reactions[b] === '👍',
    'the reaction reaches alice',
  );
  await alice1.sendText(c, 'hi carol');
  await carol.sendText(a, 'hi alice');
  await until(() => aliceGot.length === 2, 'alice receives carol');
  const groupId = await alice1.groups.create('trip', [b, c]);
  await alice1.sendText(`group:${groupId}`, 'group plan');
  await until(() => bobGot.some((m) => m.body.text === 'group plan'), 'bob gets the group text');
  await bob.sendText(`group:${groupId}`, 'group answer');
  await until(() => aliceGot.length === 3, 'alice receives the group answer');
  return { a, b, alice1, bob, groupId, file };
}

/** The newly linked device connects and writes to Bob, who receives it. */
async function helloFromNewDevice(
  alice2: SottoClient,
  bob: SottoClient,
  a: string,
  b: string,
): Promise<void> {
  await alice2.start();
  await alice2.sendText(b, 'hello from the new laptop');
  await until(
    async () =>
      (await bob.store.listMessages(`dm:${a}`)).at(-1)?.body.text === 'hello from the new laptop',
    'bob receives from the new device',
  );
}

describe('linking copies the message history', () => {
  it('shows every conversation on the new device; search finds old text; new messages flow', async () => {
    const { a, b, alice1, bob, groupId, file } = await aliceWithHistory();
    const before = await history(alice1);
    const total = [...before.values()].reduce((n, ms) => n + ms.length, 0);
    expect(before.size).toBe(3);

    const alice2 = client();
    const progress: { done: number; total: number }[] = [];
    const imported: unknown[] = [];
    alice2.on('historyProgress', (p) => progress.push(p));
    alice2.on('historyImported', (i) => imported.push(i));
    const session = await alice2.link.begin(a, PW);
    const approved = await alice1.link.approve(session.code);
    const linked = await session.linked;
    expect(approved.history).toEqual({ count: total, omitted: 0 });
    expect(linked.history).toEqual({ status: 'imported', imported: total, skipped: 0, omitted: 0 });
    expect(imported).toEqual([{ imported: total, skipped: 0, omitted: 0 }]);
    expect(progress.at(-1)).toEqual({ done: total, total });

    // Same conversations, same messages, same order, senders, reaction, edit and file.
    const after = await history(alice2);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [conv, ms] of before) expect(after.get(conv)!.map(shown)).toEqual(ms.map(shown));
    const dm = after.get(`dm:${b}`)!;
    expect(dm.map((m) => m.body.text ?? m.body.caption)).toEqual([
      'the zeppelin leaves at noon',
      'see you there',
      'bring an umbrella',
      'ticket',
    ]);
    expect(dm[0]!.reactions).toEqual({ [b]: '👍' });
    expect(dm[1]).toMatchObject({ sender: b, outgoing: false, kind: 'reply' });
    expect(dm[2]).toMatchObject({ sender: a, outgoing: true, edited: true });
    expect(await alice2.downloadFile(dm[3]!)).toEqual(file);
    expect(after.get(`group:${groupId}`)!.map((m) => [m.sender, m.body.text ?? m.body.op])).toEqual(
      [
        [a, 'create'],
        [a, 'group plan'],
        [b, 'group answer'],
      ],
    );
    const hits = await alice2.store.search('zeppelin');
    expect(hits.map((h) => h.message.id)).toEqual([dm[0]!.id]);

    // New messages keep flowing to the new device, next to the copied ones.
    // (The new device writes first: Bob's client then refetches Alice's devices, §13 step 4.)
    await helloFromNewDevice(alice2, bob, a, b);
    await bob.sendText(a, 'after linking');
    await until(
      async () =>
        (await alice2.store.listMessages(`dm:${b}`)).at(-1)?.body.text === 'after linking',
      'the new device receives a new message',
    );
    expect(await alice2.store.listMessages(`dm:${b}`)).toHaveLength(6);
  });

  it('links without history when the blob was altered on the way (HISTORY_NOT_IMPORTED)', async () => {
    const { a, b, alice1, bob } = await aliceWithHistory();
    const alice2 = await clientBehindTamperingProxy();
    const session = await alice2.link.begin(a, PW);
    const approved = await alice1.link.approve(session.code);
    expect(approved.history?.count).toBeGreaterThan(0);
    const linked = await session.linked;
    expect(linked.history.status).toBe('failed');
    const { error } = linked.history as { status: 'failed'; error: Error & { code: string } };
    expect(error.code).toBe('HISTORY_NOT_IMPORTED');
    expect((error.cause as { code?: string }).code).toBe('HISTORY_INVALID');
    expect(await alice2.store.listConversations()).toEqual([]);
    // The device is linked all the same.
    await helloFromNewDevice(alice2, bob, a, b);
    await bob.sendText(a, 'still reaches you');
    await until(
      async () => (await alice2.store.listMessages(`dm:${b}`)).length === 2,
      'the new device receives',
    );
  });

  it('copies nothing when the approving device opts out', async () => {
    const { a, alice1 } = await aliceWithHistory();
    const alice2 = client();
    const session = await alice2.link.begin(a, PW);
    const approved = await alice1.link.approve(session.code, { history: false });
    expect(approved.history).toBeNull();
    expect((await session.linked).history).toEqual({ status: 'none' });
    expect(await alice2.store.listConversations()).toEqual([]);
  });

  it('sends the most recent messages that fit a small bound and counts the rest', async () => {
    const { a, alice1, groupId } = await aliceWithHistory();
    const alice2 = client();
    const session = await alice2.link.begin(a, PW);
    const approved = await alice1.link.approve(session.code, { historyMaxBytes: 1500 });
    const linked = await session.linked;
    const { count, omitted } = approved.history!;
    expect(count).toBeGreaterThan(0);
    expect(omitted).toBeGreaterThan(0);
    expect(linked.history).toEqual({ status: 'imported', imported: count, skipped: 0, omitted });
    // The newest message (the group answer) made it; the oldest did not.
    const group = await alice2.store.listMessages(`group:${groupId}`);
    expect(group.at(-1)?.body.text).toBe('group answer');
    expect(await alice2.store.search('zeppelin')).toEqual([]);
  });

  it('deletes the history blob when nobody completes the link', async () => {
    const a = uname('alice');
    const b = uname('bob');
    const alice1 = client();
    const bob = client();
    await alice1.register(a, PW);
    await bob.register(b, PW);
    await alice1.start();
    await alice1.sendText(b, 'something to copy');
    const blobs = join(srv.dataDir, 'blobs');
    const alice2 = client();
    const session = await alice2.link.begin(a, PW, { ttlMs: 3000 });
    const tampered = decodeLinkCode(session.code);
    tampered.secret = tampered.secret.map((x) => x ^ 0x55);
    const uploaded: string[] = [];
    const origUpload = alice1.http.uploadBlob.bind(alice1.http);
    alice1.http.uploadBlob = async (bytes) => {
      const r = await origUpload(bytes);
      uploaded.push(r.id);
      return r;
    };
    await expect(alice1.link.approve(encodeLinkCode(tampered))).rejects.toMatchObject({
      code: 'LINK_EXPIRED',
    });
    expect(uploaded).toHaveLength(1);
    await until(
      async () =>
        !existsSync(join(blobs, uploaded[0]!.slice(0, 2), uploaded[0]!)) &&
        (await alice1.http.downloadBlob(uploaded[0]!).then(
          () => false,
          (e: unknown) => isApiError(e, 'BLOB_NOT_FOUND'),
        )),
      'the unused blob is deleted',
    );
  });
});
