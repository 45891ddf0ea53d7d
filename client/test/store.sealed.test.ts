/**
 * Encryption at rest of the durable stores (issue 15, PROTOCOL.md §14), read as a thief of the
 * device would: the raw SQLite file bytes and the raw IndexedDB records hold no message text,
 * no key, no token and no contact name; a changed or swapped record is a typed error, never
 * garbage; a passphrase-locked store opens only with its passphrase.
 */
import 'fake-indexeddb/auto';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Dexie } from 'dexie';
import { afterAll, describe, expect, it } from 'vitest';
import { isClientError, type ClientErrorCode } from '../src/errors.ts';
import type { AccountRecord, ClientStore, MessageRecord } from '../src/store/types.ts';
import {
  createDexieStore,
  isDexieStoreLocked,
  setDexieStorePassphrase,
} from '../src/stores/dexie.ts';
import { createSqliteStore } from '../src/stores/sqlite.ts';
import { ready } from '@sotto/crypto';
import { createRecordCodec, SEARCH_CANDIDATES, WORD_CACHE } from '../src/store/sealed.ts';
import { dumpIndexedDb, secretsIn, type Secrets } from './support/raw-scan.ts';

const dir = mkdtempSync(join(tmpdir(), 'sotto-sealed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Distinctive secrets to look for in the raw bytes. */
function secrets(): Secrets & { account: AccountRecord; message: MessageRecord } {
  const key = new Uint8Array(randomBytes(32));
  const account: AccountRecord = {
    username: 'alice',
    deviceId: 'dev1',
    kind: 'user',
    accessToken: `access.${randomBytes(12).toString('hex')}`,
    refreshToken: `refresh-${randomBytes(12).toString('hex')}`,
    uik: { publicKey: new Uint8Array(randomBytes(32)), secretKey: key },
    signing: { publicKey: new Uint8Array(32), secretKey: new Uint8Array(randomBytes(64)) },
    identity: { publicKey: new Uint8Array(32), secretKey: new Uint8Array(randomBytes(32)) },
    certificate: null,
    signedPrekeyAt: 1,
    createdAt: 1,
  };
  const message: MessageRecord = {
    conversationId: 'dm:zebedee',
    id: 'msg1',
    sender: 'zebedee',
    senderDevice: 'zd1',
    timestamp: 1000,
    receivedAt: 1000,
    kind: 'text',
    body: { text: 'the treasure is under the old oak tree' },
    outgoing: false,
    unread: true,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  };
  return {
    account,
    message,
    // A word alone too: a search index in clear would hold words, not the sentence.
    texts: [
      'treasure is under',
      'treasure',
      account.accessToken!,
      account.refreshToken!,
      'zebedee',
    ],
    keys: [key, account.signing.secretKey, account.identity.secretKey],
  };
}

/** A conversation's worth of writes. */
async function fill(store: ClientStore, s: ReturnType<typeof secrets>): Promise<void> {
  await store.batch([
    { op: 'putAccount', account: s.account },
    { op: 'putSession', user: 'zebedee', device: 'zd1', state: s.keys[2]! },
    { op: 'putMessage', message: s.message },
    {
      op: 'putContact',
      contact: { username: 'zebedee', uik: null, verified: false, pendingUik: null, updatedAt: 1 },
    },
    { op: 'setSetting', key: 'drafts', value: { 'dm:zebedee': 'a draft' } },
  ]);
}

async function rejectsWith(p: Promise<unknown>, code: ClientErrorCode): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isClientError(err, code), `expected ClientError ${code}, got ${String(err)}`).toBe(true);
}

describe('sealed SQLite store', () => {
  it('leaves no message text, key, token or contact name in the file bytes', async () => {
    const path = join(dir, 'scan.sqlite');
    const s = secrets();
    const store = createSqliteStore({ path });
    await fill(store, s);
    expect((await store.search('treas')).map((h) => h.message.id)).toEqual(['msg1']);
    await store.close();
    const bytes = [path, `${path}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => new Uint8Array(readFileSync(f)));
    for (const b of bytes) expect(secretsIn(b, s)).toEqual([]);
    // …and the data is all there (the scan looked at real content).
    const again = createSqliteStore({ path });
    expect((await again.getAccount())?.uik.secretKey).toEqual(s.keys[0]);
    expect((await again.getMessage('msg1'))?.body).toEqual(s.message.body);
    // The access token lives in memory only: a reopened store has none.
    expect((await again.getAccount())?.accessToken).toBeNull();
    expect((await again.getAccount())?.refreshToken).toBe(s.account.refreshToken);
    await again.close();
  });

  it('refuses a flipped byte and records swapped between rows with STORE_TAMPERED', async () => {
    const path = join(dir, 'tamper.sqlite');
    const s = secrets();
    const store = createSqliteStore({ path });
    await fill(store, s);
    await store.batch([
      { op: 'putMessage', message: { ...s.message, id: 'msg2', timestamp: 2000 } },
    ]);
    await store.close();

    const raw = new Database(path);
    const v = (id: string) =>
      raw.prepare<[string], { v: Buffer }>('SELECT v FROM sealed_messages WHERE id = ?').get(id)!.v;
    const [v1, v2] = [v('msg1'), v('msg2')];
    raw.prepare('UPDATE sealed_messages SET v = ? WHERE id = ?').run(v2, 'msg1');
    raw.prepare('UPDATE sealed_messages SET v = ? WHERE id = ?').run(v1, 'msg2');
    const flipped = Buffer.from(v('msg1'));
    flipped[flipped.length - 20]! ^= 1;
    raw.close();

    const again = createSqliteStore({ path });
    await rejectsWith(again.getMessage('msg1'), 'STORE_TAMPERED');
    await rejectsWith(again.getMessage('msg2'), 'STORE_TAMPERED');
    await again.close();

    const raw2 = new Database(path);
    raw2.prepare('UPDATE sealed_messages SET v = ? WHERE id = ?').run(v1, 'msg1');
    const contact = raw2.prepare<[], { v: Buffer }>('SELECT v FROM sealed_contacts').get()!.v;
    const bad = Buffer.from(contact);
    bad[bad.length - 1]! ^= 0x80;
    raw2.prepare('UPDATE sealed_contacts SET v = ?').run(bad);
    raw2.close();
    const third = createSqliteStore({ path });
    expect((await third.getMessage('msg1'))?.body).toEqual(s.message.body);
    await rejectsWith(third.getContact('zebedee'), 'STORE_TAMPERED');
    await third.close();
  });

  it('opens a passphrase-locked file only with its passphrase; a wrong one changes nothing', async () => {
    const path = join(dir, 'locked.sqlite');
    const s = secrets();
    const store = createSqliteStore({ path, passphrase: 'correct horse' });
    await fill(store, s);
    await store.close();
    const key = () =>
      new Database(path, { readonly: true })
        .prepare<[], { json: string }>('SELECT json FROM storage_key')
        .get()!.json;
    const before = key();
    expect(before).toContain('"mode":"passphrase"');

    const none = createSqliteStore({ path });
    await rejectsWith(none.getAccount(), 'STORE_LOCKED');
    await none.close();
    const wrong = createSqliteStore({ path, passphrase: 'battery staple' });
    await rejectsWith(wrong.getMessage('msg1'), 'WRONG_PASSPHRASE');
    await wrong.close();
    expect(key()).toBe(before);
    const right = createSqliteStore({ path, passphrase: 'correct horse' });
    expect((await right.getMessage('msg1'))?.body).toEqual(s.message.body);
    await right.close();
  });

  it('takes a passphrase given for a file that had none', async () => {
    const path = join(dir, 'later.sqlite');
    const s = secrets();
    const plain = createSqliteStore({ path });
    await fill(plain, s);
    await plain.close();
    const locking = createSqliteStore({ path, passphrase: 'now locked' });
    expect((await locking.getMessage('msg1'))?.body).toEqual(s.message.body);
    await locking.close();
    const none = createSqliteStore({ path });
    await rejectsWith(none.getMessage('msg1'), 'STORE_LOCKED');
    await none.close();
  });

  it('seals a file written before encryption at rest on first open and keeps no clear page', async () => {
    const path = join(dir, 'legacy.sqlite');
    const s = secrets();
    const legacy = new Database(path);
    legacy.exec(`
      CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE sessions (user TEXT NOT NULL, device TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY (user, device));
      CREATE TABLE messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, timestamp INTEGER NOT NULL, unread INTEGER NOT NULL, json TEXT NOT NULL);
      CREATE TABLE terms (token TEXT NOT NULL, message_id TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (token, message_id)) WITHOUT ROWID;
    `);
    const b64 = (b: Uint8Array) => ({ $b: Buffer.from(b).toString('base64url') });
    const account = JSON.stringify(s.account, (_k, v: unknown) =>
      v instanceof Uint8Array ? b64(v) : v,
    );
    legacy.prepare('INSERT INTO kv VALUES (?, ?)').run('account', account);
    legacy
      .prepare('INSERT INTO sessions VALUES (?, ?, ?)')
      .run('zebedee', 'zd1', Buffer.from(s.keys[2]!));
    legacy
      .prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?)')
      .run('msg1', 'dm:zebedee', 1000, 1, JSON.stringify(s.message));
    legacy.prepare('INSERT INTO terms VALUES (?, ?, ?)').run('treasure', 'msg1', 1);
    legacy.close();

    const store = createSqliteStore({ path });
    expect((await store.getAccount())?.identity.secretKey).toEqual(s.keys[2]);
    expect(await store.getSession('zebedee', 'zd1')).toEqual(s.keys[2]);
    expect((await store.search('treasure')).map((h) => h.message.id)).toEqual(['msg1']);
    expect((await store.listConversations())[0]?.unread).toBe(1);
    await store.close();
    const left = { ...s, texts: s.texts.filter((t) => !t.startsWith('access.')) };
    for (const f of [path, `${path}-wal`].filter((x) => existsSync(x))) {
      expect(secretsIn(new Uint8Array(readFileSync(f)), left)).toEqual([]);
    }
  });
});

describe('sealed Dexie store', () => {
  it('leaves no message text, key, token or contact name in any IndexedDB record', async () => {
    const s = secrets();
    const store = createDexieStore({ name: 'sealed-scan' });
    await fill(store, s);
    await store.close();
    const dump = await dumpIndexedDb(indexedDB, 'sealed-scan');
    expect(Object.keys(dump)).toContain('sealedMessages');
    // The search index (per-batch postings) was scanned too, not empty.
    expect(dump.postings?.length ?? 0).toBeGreaterThan(0);
    for (const [table, bytes] of Object.entries(dump)) {
      expect(secretsIn(bytes, s), `object store ${table}`).toEqual([]);
    }
    const again = createDexieStore({ name: 'sealed-scan' });
    expect((await again.getAccount())?.uik.secretKey).toEqual(s.keys[0]);
    expect((await again.listContacts()).map((c) => c.username)).toEqual(['zebedee']);
    await again.close();
  });

  it('refuses message rows of a burst swapped or changed in raw IndexedDB with STORE_TAMPERED', async () => {
    const name = 'sealed-tamper';
    const s = secrets();
    const store = createDexieStore({ name });
    await fill(store, s);
    // A burst of new messages: written without a read (`addMessages`).
    await store.batch(
      ['msg2', 'msg3', 'msg4'].map((id, i) => ({
        op: 'putMessage' as const,
        message: { ...s.message, id, timestamp: 2000 + i },
      })),
    );
    await store.close();

    const raw = await new Dexie(name).open();
    const rows = raw.table<{ id: string; v: Uint8Array }, string>('sealedMessages');
    const [r2, r3, r4] = (await rows.bulkGet(['msg2', 'msg3', 'msg4'])) as { v: Uint8Array }[];
    await rows.update('msg2', { v: r3!.v });
    await rows.update('msg3', { v: r2!.v });
    const flipped = Uint8Array.from(r4!.v);
    flipped[flipped.length - 20]! ^= 1;
    await rows.update('msg4', { v: flipped });
    raw.close();

    const again = createDexieStore({ name });
    for (const id of ['msg2', 'msg3', 'msg4'])
      await rejectsWith(again.getMessage(id), 'STORE_TAMPERED');
    await rejectsWith(again.listMessages(s.message.conversationId), 'STORE_TAMPERED');
    expect((await again.getMessage('msg1'))?.body).toEqual(s.message.body);
    await again.close();
  });

  it('turns the app lock on and off only with the right passphrase', async () => {
    const name = 'sealed-lock';
    const s = secrets();
    const store = createDexieStore({ name });
    await fill(store, s);
    await store.close();
    expect(await isDexieStoreLocked(name)).toBe(false);
    await setDexieStorePassphrase(name, undefined, 'open sesame');
    expect(await isDexieStoreLocked(name)).toBe(true);

    const none = createDexieStore({ name });
    await rejectsWith(none.getAccount(), 'STORE_LOCKED');
    await none.close();
    const wrong = createDexieStore({ name, passphrase: 'open barley' });
    await rejectsWith(wrong.getAccount(), 'WRONG_PASSPHRASE');
    await wrong.close();
    await rejectsWith(setDexieStorePassphrase(name, 'open barley', undefined), 'WRONG_PASSPHRASE');
    expect(await isDexieStoreLocked(name)).toBe(true);

    const right = createDexieStore({ name, passphrase: 'open sesame' });
    expect((await right.getMessage('msg1'))?.body).toEqual(s.message.body);
    await right.close();
    await setDexieStorePassphrase(name, 'open sesame', undefined);
    expect(await isDexieStoreLocked(name)).toBe(false);
    const unlocked = createDexieStore({ name });
    expect((await unlocked.getMessage('msg1'))?.body).toEqual(s.message.body);
    await unlocked.close();
  });
});

describe('search over the sealed index', () => {
  const text = (id: string, t: number, body: string): MessageRecord => ({
    conversationId: t % 2 === 0 ? 'dm:bob' : 'dm:eve',
    id,
    sender: 'bob',
    senderDevice: 'd1',
    timestamp: t,
    receivedAt: t,
    kind: 'text',
    body: { text: body },
    outgoing: false,
    unread: false,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  });
  const stores: [string, () => ClientStore][] = [
    [
      'SQLite',
      () => createSqliteStore({ path: join(dir, `search-${randomBytes(4).toString('hex')}.db`) }),
    ],
    ['Dexie', () => createDexieStore({ name: `search-${randomBytes(4).toString('hex')}` })],
  ];
  for (const [kind, open] of stores) {
    it(`${kind}: a query matching more than ${SEARCH_CANDIDATES} messages ranks the newest ${SEARCH_CANDIDATES}; a rarer word still finds old ones`, async () => {
      const store = open();
      const old = 50;
      const ops = [
        // The oldest messages say "common" three times: the best score, but too old to rank.
        ...Array.from({ length: old }, (_, i) => text(`old${i}`, i, 'common common common')),
        text('rare', old, 'common rarity'),
        ...Array.from({ length: SEARCH_CANDIDATES }, (_, i) =>
          text(`new${i}`, old + 1 + i, `common ${i}`),
        ),
      ].map((message) => ({ op: 'putMessage' as const, message }));
      for (let i = 0; i < ops.length; i += 500) await store.batch(ops.slice(i, i + 500));
      const newest = (n: number) =>
        Array.from({ length: n }, (_, i) => `new${SEARCH_CANDIDATES - 1 - i}`);
      expect((await store.search('common', { limit: 5 })).map((h) => h.message.id)).toEqual(
        newest(5),
      );
      expect((await store.search('c', { limit: 3 })).map((h) => h.message.id)).toEqual(newest(3));
      expect((await store.search('common rar')).map((h) => h.message.id)).toEqual(['rare']);
      expect((await store.search('rarity')).map((h) => h.message.id)).toEqual(['rare']);
      // Inside one conversation, its own candidates: half the messages, under the cap, so all
      // are ranked and the old triple mentions (even timestamps: bob's) come first.
      const inBob = await store.search('common', { limit: 2, conversationId: 'dm:bob' });
      expect(inBob.map((h) => h.message.id)).toEqual(['old48', 'old46']);
      await store.close();
    });
  }
});

describe('search key blinds', () => {
  it('blinds each word and its prefixes the same way before, inside and after the word cache', async () => {
    await ready();
    const codec = createRecordCodec(new Uint8Array(32).fill(7));
    const blindsOf = (word: string) =>
      ['=' + word, ...[1, 2, 3].map((n) => `^${word.slice(0, n)}`)].map((k) =>
        codec.blind('term', k),
      );
    const terms = (...words: string[]) => new Map(words.map((w) => [w, 1]));
    const first = codec.blindTerms({ terms: terms('hello', 'help'), stale: [] });
    // "hello" and "help" share ^h, ^he, ^hel: each blind once.
    expect(first.keys).toEqual([...new Set([...blindsOf('hello'), ...blindsOf('help')])]);
    expect(first.keys).toHaveLength(5);
    // More distinct words than the cache holds, then the first ones again.
    for (let i = 0; i < WORD_CACHE + 10; i++)
      codec.blindTerms({ terms: terms(`w${i}`), stale: [] });
    const again = codec.blindTerms({ terms: terms('help', 'world'), stale: ['hello', 'help'] });
    expect(again.keys).toEqual([...new Set([...blindsOf('help'), ...blindsOf('world')])]);
    expect(again.stale).toEqual([codec.blind('term', '=hello')]);
    expect(again.added).toEqual(blindsOf('world'));
  });
});
