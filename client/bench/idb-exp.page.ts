import { Dexie } from 'dexie';
import { ready } from '@sotto/crypto';
import { createRecordCodec } from '../src/store/sealed.ts';
import { sealedRows } from '../src/store/rows.ts';
import { messageTerms } from '../src/store/common.ts';
import type { MessageRecord } from '../src/store/types.ts';

function message(i: number, conversationId: string): MessageRecord {
  return {
    conversationId, id: `m${String(i).padStart(7, '0')}`, sender: 'bob', senderDevice: 'd1',
    timestamp: 1_700_000_000_000 + i * 1000, receivedAt: 1_700_000_000_000 + i * 1000, kind: 'text',
    body: { text: `message number ${i} with a few more words to index` }, outgoing: false, unread: true,
    status: {}, edited: false, deleted: false, reactions: {},
  };
}
async function run(total: number) {
  await ready();
  const codec = createRecordCodec(crypto.getRandomValues(new Uint8Array(32)));
  const rows = sealedRows(codec);
  const msgs = Array.from({ length: total }, (_, i) => message(i, 'dm:bob'));
  let t0 = performance.now();
  const built = msgs.map((m) => {
    const { unread, ...row } = rows.message(m);
    const w = rows.searchKeys(messageTerms(m));
    return { ...row, unreadIn: row.c, w };
  });
  const sealMs = performance.now() - t0;
  const schemas: Record<string, string> = {
    full: 'id, c, [c+t], unreadIn, *w',
    noC: 'id, [c+t], unreadIn, *w',
    noW: 'id, c, [c+t], unreadIn',
    pkOnly: 'id',
    shortW: 'id, [c+t], unreadIn, *w',
  };
  const out: Record<string, number> = { sealMsPerK: (sealMs / total) * 1000, wPerMsg: built[0]!.w.length };
  for (const [name, schema] of Object.entries(schemas)) {
    const db = new Dexie('exp-' + name);
    db.version(1).stores({ m: schema });
    await db.open();
    const data = name === 'shortW' ? built.map((r) => ({ ...r, w: r.w.map((k) => k.slice(0, 12)) })) : built;
    t0 = performance.now();
    for (let i = 0; i < total; i += 500) {
      const slice = data.slice(i, i + 500);
      await db.transaction('rw', db.table('m'), () => db.table('m').bulkPut(slice));
    }
    out[name] = Math.round((total / (performance.now() - t0)) * 1000);
    db.close();
    await Dexie.delete('exp-' + name);
  }
  return out;
}
(window as unknown as { exp: unknown }).exp = { run };
