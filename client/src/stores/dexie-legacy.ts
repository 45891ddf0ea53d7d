/**
 * Sealing of a database written before encryption at rest (schema v1/v2, issue 15): on the
 * first open its clear rows are read, written again through the sealed store's own applier
 * (as the StoreOps that make them) and the clear tables emptied, all in one transaction — the
 * database is either still entirely as it was or entirely sealed.
 *
 * Runtime: browser (or Node with `fake-indexeddb` in tests).
 */
import type { Dexie } from 'dexie';
import { ACCOUNT_KEY } from '../store/apply.ts';
import type {
  AccountRecord,
  ContactRecord,
  GroupRecord,
  MessageRecord,
  OutboxEntry,
  OwnSenderKeyRecord,
  PrekeySecretRecord,
  SenderKeyRecord,
  StoreOp,
} from '../store/types.ts';

/** The clear tables of schema v1/v2. */
const LEGACY_TABLES: readonly string[] = [
  'kv',
  'prekeys',
  'sessions',
  'ownSenderKeys',
  'senderKeys',
  'messages',
  'terms',
  'outbox',
  'contacts',
  'groups',
];

const SETTING_PREFIX = 'setting:';

/** Seal whatever the clear tables of `db` hold with `apply` (the sealed applier), then empty them. */
export async function migrateLegacy(
  db: Dexie,
  apply: (ops: readonly StoreOp[]) => Promise<void>,
): Promise<void> {
  const table = <T>(name: string) => db.table<T>(name);
  const counts = await Promise.all(LEGACY_TABLES.map((name) => table(name).count()));
  if (counts.every((n) => n === 0)) return;
  await db.transaction('rw', db.tables, async () => {
    const ops: StoreOp[] = [];
    for (const { key, value } of await table<{ key: string; value: unknown }>('kv').toArray()) {
      if (key === ACCOUNT_KEY) ops.push({ op: 'putAccount', account: value as AccountRecord });
      else if (key.startsWith(SETTING_PREFIX)) {
        ops.push({ op: 'setSetting', key: key.slice(SETTING_PREFIX.length), value });
      }
    }
    const prekeys = await table<PrekeySecretRecord>('prekeys').toArray();
    if (prekeys.length) ops.push({ op: 'putPrekeys', prekeys });
    for (const s of await table<{ user: string; device: string; state: Uint8Array }>(
      'sessions',
    ).toArray()) {
      ops.push({ op: 'putSession', user: s.user, device: s.device, state: s.state });
    }
    for (const record of await table<OwnSenderKeyRecord>('ownSenderKeys').toArray()) {
      ops.push({ op: 'putOwnSenderKey', record });
    }
    for (const record of await table<SenderKeyRecord>('senderKeys').toArray()) {
      ops.push({ op: 'putSenderKey', record });
    }
    for (const row of await table<MessageRecord & { unreadIn?: string }>('messages').toArray()) {
      const { unreadIn: _u, ...message } = row;
      ops.push({ op: 'putMessage', message });
    }
    const outbox = await table<OutboxEntry & { key?: string }>('outbox').toArray();
    if (outbox.length) {
      ops.push({ op: 'putOutbox', entries: outbox.map(({ key: _k, ...entry }) => entry) });
    }
    for (const contact of await table<ContactRecord>('contacts').toArray()) {
      ops.push({ op: 'putContact', contact });
    }
    for (const group of await table<GroupRecord>('groups').toArray()) {
      ops.push({ op: 'putGroup', group });
    }
    await apply(ops);
    for (const name of LEGACY_TABLES) await table(name).clear();
  });
}
