/**
 * Sealing of a SQLite store file written before encryption at rest (issue 15): on the first
 * open its clear tables are read, written again through the sealed store's own applier (as
 * the StoreOps that make them) and dropped, in one transaction; then the file is vacuumed so
 * no clear page is left in it.
 *
 * Runtime: Node only.
 */
import type Database from 'better-sqlite3';
import { ACCOUNT_KEY } from '../store/apply.ts';
import { decodeJson } from '../store/sealed.ts';
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

/** The clear tables of the earlier schema. */
const LEGACY_TABLES = [
  'kv',
  'prekeys',
  'sessions',
  'own_sender_keys',
  'sender_keys',
  'messages',
  'terms',
  'outbox',
  'contacts',
  'groups',
] as const;

const SETTING_PREFIX = 'setting:';

/** Seal the clear tables of `db`, if it has any, with `apply` (the sealed batch), then drop them. */
export function migrateLegacySqlite(
  db: Database.Database,
  apply: (ops: readonly StoreOp[]) => void,
): void {
  const present = new Set(
    db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((r) => r.name),
  );
  const legacy = LEGACY_TABLES.filter((t) => present.has(t));
  if (legacy.length === 0) return;
  const all = <T>(table: string, column = 'json'): T[] =>
    present.has(table)
      ? db
          .prepare<[], { json: string }>(`SELECT ${column} AS json FROM ${table}`)
          .all()
          .map((r) => decodeJson<T>(r.json))
      : [];
  db.transaction(() => {
    const ops: StoreOp[] = [];
    if (present.has('kv')) {
      const kv = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM kv').all();
      for (const { key, value } of kv) {
        if (key === ACCOUNT_KEY) {
          ops.push({ op: 'putAccount', account: decodeJson<AccountRecord>(value) });
        } else if (key.startsWith(SETTING_PREFIX)) {
          const name = key.slice(SETTING_PREFIX.length);
          ops.push({ op: 'setSetting', key: name, value: decodeJson<unknown>(value) });
        }
      }
    }
    const prekeys = all<PrekeySecretRecord>('prekeys');
    if (prekeys.length) ops.push({ op: 'putPrekeys', prekeys });
    if (present.has('sessions')) {
      const sessions = db
        .prepare<[], { user: string; device: string; state: Buffer }>(
          'SELECT user, device, state FROM sessions',
        )
        .all();
      for (const s of sessions) {
        ops.push({
          op: 'putSession',
          user: s.user,
          device: s.device,
          state: new Uint8Array(s.state),
        });
      }
    }
    for (const record of all<OwnSenderKeyRecord>('own_sender_keys')) {
      ops.push({ op: 'putOwnSenderKey', record });
    }
    for (const record of all<SenderKeyRecord>('sender_keys'))
      ops.push({ op: 'putSenderKey', record });
    for (const message of all<MessageRecord>('messages')) ops.push({ op: 'putMessage', message });
    const outbox = all<OutboxEntry>('outbox');
    if (outbox.length) ops.push({ op: 'putOutbox', entries: outbox });
    for (const contact of all<ContactRecord>('contacts')) ops.push({ op: 'putContact', contact });
    for (const group of all<GroupRecord>('groups')) ops.push({ op: 'putGroup', group });
    apply(ops);
    for (const table of legacy) db.exec(`DROP TABLE ${table}`);
  })();
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
}
