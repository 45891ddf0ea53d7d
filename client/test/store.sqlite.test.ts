/** Runs the abstract ClientStore suite on the SQLite store, plus its file-level guarantees. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ready } from '@sotto/crypto';
import { createRecordCodec } from '../src/store/sealed.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { createSqliteStore } from '../src/stores/sqlite.ts';
import { message, storeSuite } from './store.suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'sotto-store-'));
let n = 0;
const paths = new WeakMap<object, string>();

afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeSuite('sqlite', {
  async open() {
    n += 1;
    const path = join(dir, `db${n}.sqlite`);
    const store = createSqliteStore({ path });
    paths.set(store, path);
    return store;
  },
  async reopen(store) {
    const path = paths.get(store)!;
    await store.close();
    return createSqliteStore({ path });
  },
});

describe('sqlite store file', () => {
  it('is created with mode 0600 because it holds private keys', async () => {
    const path = join(dir, 'mode.sqlite');
    const store = createSqliteStore({ path });
    await store.setSetting('x', 1);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it('syncs every commit to disk (synchronous = FULL): a batch holds the states of published ciphertexts', async () => {
    // In WAL mode NORMAL may lose the last commits to a power loss; a session state rolled back
    // behind a published ciphertext would make the next message reuse its key. The setting is
    // per connection, so it is read on the store's own connection.
    const set: string[] = [];
    const pragma = Database.prototype.pragma;
    Database.prototype.pragma = function (this: Database.Database, ...args) {
      const out = pragma.apply(this, args);
      if (/^synchronous/.test(args[0]))
        set.push(String(pragma.call(this, 'synchronous', { simple: true })));
      return out;
    };
    try {
      const store = createSqliteStore({ path: join(dir, 'sync.sqlite') });
      await store.setSetting('x', 1);
      await store.close();
    } finally {
      Database.prototype.pragma = pragma;
    }
    // 2 = FULL (1 = NORMAL).
    expect(set).toEqual(['2']);
  });
});

function text(id: string, t: number, body: string): MessageRecord {
  return message({ id, timestamp: t, receivedAt: t, body: { text: body } });
}

describe('sqlite search postings (issue 23)', () => {
  const burst = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => text(`q${from + i}`, from + i, `queued word ${from + i}`));
  const ids = async (store: ReturnType<typeof createSqliteStore>, query: string) =>
    (await store.search(query, { limit: 500 })).map((h) => h.message.id);

  it('writes a batch of messages as one postings row per blinded key, not one per key and message', async () => {
    const path = join(dir, 'postings.sqlite');
    const store = createSqliteStore({ path });
    await store.batch(burst(0, 100).map((message) => ({ op: 'putMessage', message })));
    await store.close();
    const raw = new Database(path, { readonly: true });
    // 100 messages × 10 keys each ("=queued", "^q"…, "=word", "^w"…, "=N", "^N"…): 1,000
    // rows when each key and message had its own; the batch shares all but "=N" and "^NN".
    const rows = raw.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM sealed_postings').get()!;
    raw.close();
    expect(rows.n).toBeLessThanOrEqual(8 + 10 + 100 + 100);
  });

  it('finds edited and deleted messages as before across batches, and after a reopen', async () => {
    const path = join(dir, 'postings-edit.sqlite');
    const store = createSqliteStore({ path });
    await store.batch(burst(0, 50).map((message) => ({ op: 'putMessage', message })));
    await store.batch(burst(50, 50).map((message) => ({ op: 'putMessage', message })));
    await store.batch([
      { op: 'editMessage', messageId: 'q7', body: { text: 'rewritten entirely' }, editedAt: 500 },
      { op: 'deleteMessage', messageId: 'q60' },
      // Written twice in one batch: only the second version's words stay indexed.
      { op: 'putMessage', message: text('x1', 900, 'first draft') },
      { op: 'putMessage', message: text('x1', 900, 'second thought') },
    ]);
    expect(await ids(store, 'queued')).toHaveLength(98);
    expect(await ids(store, 'rewritten')).toEqual(['q7']);
    expect(await ids(store, '7 queued')).toEqual([]);
    expect(await ids(store, '60 queued')).toEqual([]);
    expect(await ids(store, 'draft')).toEqual([]);
    expect(await ids(store, 'thought')).toEqual(['x1']);
    await store.close();
    // Search re-matches its candidates on their text, so stale postings would not show there:
    // count them in the file. Each of these texts has 2 words, each indexed under 4 keys.
    const raw = new Database(path, { readonly: true });
    const keysOf = raw.prepare<[string], { n: number }>(
      'SELECT COUNT(*) AS n FROM sealed_postings p, json_each(p.ids) j WHERE j.value = ?',
    );
    expect([keysOf.get('q7')!.n, keysOf.get('q60')!.n, keysOf.get('x1')!.n]).toEqual([8, 0, 8]);
    raw.close();
    const again = createSqliteStore({ path });
    expect(await ids(again, '99 wor')).toEqual(['q99']);
    expect(await ids(again, 'queued')).toHaveLength(98);
    await again.close();
  });

  it('packs the search rows of a file written before (one per key and message) on open', async () => {
    const path = join(dir, 'postings-old.sqlite');
    const store = createSqliteStore({ path });
    await store.batch(burst(0, 30).map((message) => ({ op: 'putMessage', message })));
    await store.batch([{ op: 'deleteMessage', messageId: 'q3' }]);
    const before = await ids(store, 'queued');
    await store.close();
    // The previous format: the same blinds and ids, a row per key and message.
    const raw = new Database(path);
    raw.exec(`CREATE TABLE sealed_terms (k TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (k, id)) WITHOUT ROWID;
      INSERT INTO sealed_terms SELECT p.k, j.value FROM sealed_postings p, json_each(p.ids) j;
      DROP TABLE sealed_postings;`);
    raw.close();
    const again = createSqliteStore({ path });
    expect(await ids(again, 'queued')).toEqual(before);
    expect(await ids(again, '12 que')).toEqual(['q12']);
    await again.batch([{ op: 'deleteMessage', messageId: 'q12' }]);
    expect(await ids(again, '12 que')).toEqual([]);
    await again.close();
    const check = new Database(path, { readonly: true });
    const old = check.prepare("SELECT name FROM sqlite_master WHERE name = 'sealed_terms'").get();
    check.close();
    expect(old).toBeUndefined();
  });
});

describe('record sealing', () => {
  it('gives every sealed record its own nonce (nonces drawn from a pool are used once)', async () => {
    await ready();
    const codec = createRecordCodec(new Uint8Array(32).fill(9));
    const nonces = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const sealed = codec.seal('messages', 'same', { same: 'value' });
      nonces.add(Buffer.from(sealed.subarray(1, 25)).toString('hex'));
    }
    expect(nonces.size).toBe(2000);
  });
});
