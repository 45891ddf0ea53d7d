/**
 * The one sealing layer of the durable stores (PROTOCOL.md §14, issue 15): what the SQLite and
 * Dexie backends write at rest, defined once.
 *
 * - Every record is JSON (binary fields tagged, {@link encodeJson}) sealed by
 *   `@sotto/crypto`'s record sealer under the device's storage key, with its table and primary
 *   key as associated data ({@link RecordCodec.seal}): a record swapped into another row or
 *   table, or changed by one byte, fails with `ClientError('STORE_TAMPERED')`.
 * - Values a backend must look rows up by — usernames, device ids, conversation and group ids,
 *   setting names, outbox keys, search tokens — are stored as blinds (a keyed hash,
 *   {@link RecordCodec.blind}). What stays in clear: message ids (random), timestamps, whether a
 *   message is unread, prekey kinds and ids, sender-key ids, outbox creation times and the ids
 *   and times of the seen-envelope log; SECURITY.md lists them.
 * - The search index holds, per message, the blind of each distinct word and of its first
 *   {@link PREFIX_CHARS} prefixes; a query intersects those and ranks on the decrypted messages
 *   ({@link sealedSearch}), with the same results as the clear index had.
 * - The access token is never written: the account is sealed with `accessToken: null` and the
 *   token kept in this codec's memory for the life of the open store.
 *
 * Runtime: any (browser and Node).
 */
import {
  createRecordSealer,
  fromBase64,
  fromUtf8,
  isCryptoError,
  toBase64,
  toHex,
  utf8,
  type RecordSealer,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import { ACCOUNT_KEY, type TermChange } from './apply.ts';
import { messageTerms, parseQuery, rankMatches } from './common.ts';
import type { AccountRecord, MessageRecord, SearchHit, SearchOptions } from './types.ts';

/**
 * JSON with `Uint8Array` values encoded as `{"$b": base64url}`.
 *
 * @throws TypeError for what JSON would silently drop or change (a function, a symbol,
 *   `undefined` as the whole value), as IndexedDB's structured clone refuses it.
 */
export function encodeJson(value: unknown): string {
  const text = JSON.stringify(value, storable) as string | undefined;
  if (text === undefined) throw new TypeError('cannot store undefined');
  return text;
}

/**
 * {@link encodeJson}'s replacer, made once: a function created per call costs more than the call
 * under tsx, which names every function it creates (the CLI and bots run through it).
 */
function storable(key: string, v: unknown): unknown {
  if (typeof v === 'function' || typeof v === 'symbol') {
    throw new TypeError(`cannot store a ${typeof v} (at ${JSON.stringify(key)})`);
  }
  return v instanceof Uint8Array ? { $b: toBase64(v) } : v;
}

/** Inverse of {@link encodeJson}. */
export function decodeJson<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$b === 'string' && Object.keys(o).length === 1) return fromBase64(o.$b);
    }
    return v;
  }) as T;
}

/** The tables whose records are sealed; each name is bound into its records' associated data. */
export type SealedTable =
  | 'kv'
  | 'prekeys'
  | 'sessions'
  | 'ownSenderKeys'
  | 'senderKeys'
  | 'messages'
  | 'outbox'
  | 'contacts'
  | 'groups';

/** What a blind stands for; the domain is hashed with the value, so blinds of different kinds never collide. */
export type BlindDomain = 'user' | 'device' | 'conversation' | 'group' | 'kv' | 'outbox' | 'term';

/** Words are indexed under their first 1…PREFIX_CHARS characters too, for prefix queries. */
export const PREFIX_CHARS = 3;

/** Row key of a sealed record from its key parts (the associated data names the row). */
export function rowKey(...parts: readonly (string | number)[]): string {
  return parts.join('\u0000');
}

/** Seals and opens one store's records; see the module comment. */
export interface RecordCodec {
  /** Seal `value` for the row of `table` whose stored primary key is `key`. */
  seal(table: SealedTable, key: string, value: unknown): Uint8Array;
  /** Open the sealed record of the row `key` of `table`; throws `ClientError('STORE_TAMPERED')`. */
  open<T>(table: SealedTable, key: string, sealed: Uint8Array): T;
  /** The blind of `value` as a lookup key (hex). */
  blind(domain: BlindDomain, value: string): string;
  /** Seal key-value entry `key` (stored under `row`); the account is sealed without its access token. */
  sealKv(key: string, row: string, value: unknown): Uint8Array;
  /** Open key-value entry `key` (stored under `row`); the account gets back the access token held in memory. */
  openKv<T>(key: string, row: string, sealed: Uint8Array): T;
  /**
   * A search-term change of a message as blinded index keys: all of the new version's
   * (`keys`), the old version's it lacks (`stale`) and the new version's the old one lacked
   * (`added`).
   */
  blindTerms(change: TermChange): { keys: string[]; stale: string[]; added: string[] };
}

/** Index keys (unblinded) of one word: the word itself and its first prefixes. */
function wordKeys(word: string): string[] {
  const keys = [`=${word}`];
  const chars = [...word];
  const n = Math.min(PREFIX_CHARS, chars.length);
  for (let i = 1; i <= n; i++) keys.push(`^${chars.slice(0, i).join('')}`);
  return keys;
}

/** Blinds remembered per open store (words and ids recur: most blinds are look-ups). */
const BLIND_CACHE = 50_000;

/**
 * Words whose search keys' blinds an open store remembers, least recently used dropped first: a
 * burst repeats most of its words, and blinding a word's ~4 keys one by one (key strings built,
 * looked up, hashed on a miss) was most of the store's own CPU in a browser burst (issue 15).
 */
export const WORD_CACHE = 20_000;

/**
 * A map of at most `limit` entries that forgets the least recently used ones first, in two
 * generations: hits in the newer one cost one look-up (moving an entry on every hit cost more
 * than the blinds it saved), hits in the older one move there, and when the newer one is full
 * the older one is dropped.
 */
function lruCache<K, V>(
  limit: number,
): { get(key: K): V | undefined; set(key: K, value: V): void } {
  let recent = new Map<K, V>();
  let older = new Map<K, V>();
  const cache = {
    get(key: K): V | undefined {
      const value = recent.get(key);
      if (value !== undefined) return value;
      const old = older.get(key);
      if (old !== undefined) cache.set(key, old);
      return old;
    },
    set(key: K, value: V): void {
      if (recent.size >= limit / 2) {
        older = recent;
        recent = new Map();
      }
      recent.set(key, value);
    },
  };
  return cache;
}

/** Bytes of platform randomness drawn at once for nonces. */
const RANDOM_POOL = 4096;

/**
 * Nonces from the platform (WebCrypto's `getRandomValues`: browsers, Node ≥ 19), drawn
 * {@link RANDOM_POOL} bytes at a time and handed out once each: one call per record cost more
 * than the record's AEAD in a burst of thousands (issue 23). A nonce is public (stored beside its
 * ciphertext), so holding the next ones in memory gives nothing away.
 */
function pooledRandom(): (length: number) => Uint8Array {
  let pool = new Uint8Array(0);
  let used = 0;
  return (length) => {
    if (length > RANDOM_POOL) return globalThis.crypto.getRandomValues(new Uint8Array(length));
    if (used + length > pool.length) {
      pool = globalThis.crypto.getRandomValues(new Uint8Array(RANDOM_POOL));
      used = 0;
    }
    used += length;
    return pool.slice(used - length, used);
  };
}

/** A codec over `storageKey` (32 bytes). Await `@sotto/crypto`'s `ready()` first. */
export function createRecordCodec(storageKey: Uint8Array): RecordCodec {
  const sealer: RecordSealer = createRecordSealer(storageKey, pooledRandom());
  const blinds = new Map<string, string>();
  const words = lruCache<string, readonly string[]>(WORD_CACHE);
  /** The blinds of a word's search keys (the word, its first prefixes), remembered. */
  const wordBlinds = (word: string): readonly string[] => {
    let out = words.get(word);
    if (out === undefined) {
      out = wordKeys(word).map((k) => codec.blind('term', k));
      words.set(word, out);
    }
    return out;
  };
  let accessToken: string | null = null;
  const ad = (table: SealedTable, key: string): Uint8Array => utf8(`${table}\u0000${key}`);

  const codec: RecordCodec = {
    seal(table, key, value) {
      return sealer.seal(ad(table, key), utf8(encodeJson(value)));
    },
    open<T>(table: SealedTable, key: string, sealed: Uint8Array): T {
      try {
        return decodeJson<T>(fromUtf8(sealer.open(ad(table, key), sealed)));
      } catch (cause) {
        if (!isCryptoError(cause) && !(cause instanceof SyntaxError)) throw cause;
        throw new ClientError(
          'STORE_TAMPERED',
          `the stored ${table} record ${JSON.stringify(key)} does not open: changed, moved or sealed under another key`,
          { cause },
        );
      }
    },
    blind(domain, value) {
      const input = `${domain}\u0000${value}`;
      let out = blinds.get(input);
      if (out === undefined) {
        out = toHex(sealer.blind(utf8(input)));
        if (blinds.size >= BLIND_CACHE) blinds.clear();
        blinds.set(input, out);
      }
      return out;
    },
    sealKv(key, row, value) {
      if (key !== ACCOUNT_KEY) return codec.seal('kv', row, value);
      const account = value as AccountRecord;
      accessToken = account.accessToken;
      return codec.seal('kv', row, { ...account, accessToken: null });
    },
    openKv<T>(key: string, row: string, sealed: Uint8Array): T {
      const value = codec.open<T>('kv', row, sealed);
      if (key !== ACCOUNT_KEY) return value;
      return { ...(value as AccountRecord), accessToken } as T;
    },
    blindTerms(change) {
      // Distinct keys have distinct blinds, so sets of blinds compare as sets of keys would.
      const keys = new Set<string>();
      for (const word of change.terms.keys()) for (const k of wordBlinds(word)) keys.add(k);
      const all = [...keys];
      if (change.stale.length === 0) return { keys: all, stale: [], added: all };
      const old = new Set<string>();
      for (const word of change.stale) for (const k of wordBlinds(word)) old.add(k);
      return {
        keys: all,
        stale: [...old].filter((k) => !keys.has(k)),
        added: all.filter((k) => !old.has(k)),
      };
    },
  };
  return codec;
}

/**
 * Most candidates a search opens: a query that matches more messages (a one-letter prefix in a
 * long history) ranks only the newest this many, so typing the first letter of a search costs
 * what opening a few thousand messages costs, not the whole history (PROTOCOL.md §14).
 */
export const SEARCH_CANDIDATES = 2000;

/** What {@link sealedSearch} needs from a backend. */
export interface SearchBackend {
  /** Ids of the messages indexed under a blinded term key, newest first (by clear timestamp). */
  postings(key: string): Promise<string[]> | string[];
  /** Ids of a conversation's messages, newest first (for a search inside one conversation). */
  conversation(conversationId: string): Promise<string[]> | string[];
  /** The (opened) messages with these ids; absent ones left out. */
  load(ids: string[]): Promise<MessageRecord[]> | MessageRecord[];
}

/**
 * {@link ClientStore.search} over a blinded index: candidates are the messages indexed under
 * every whole query word and under the last word's prefix (cut to {@link PREFIX_CHARS}); the
 * newest {@link SEARCH_CANDIDATES} of them are opened and matched and ranked on their own text,
 * as the clear index did.
 */
export async function sealedSearch(
  codec: RecordCodec,
  backend: SearchBackend,
  query: string,
  options: SearchOptions,
): Promise<SearchHit[]> {
  const parsed = parseQuery(query);
  if (!parsed) return [];
  const prefixKey = `^${[...parsed.prefix].slice(0, PREFIX_CHARS).join('')}`;
  const keys = [...parsed.exact.map((w) => `=${w}`), prefixKey];
  const lists: string[][] = [];
  for (const key of keys) {
    const ids = await backend.postings(codec.blind('term', key));
    if (ids.length === 0) return [];
    lists.push(ids);
  }
  if (options.conversationId !== undefined)
    lists.push(await backend.conversation(options.conversationId));
  // The shortest list, newest first, filtered by the others: the newest candidates come first.
  lists.sort((a, b) => a.length - b.length);
  const [base, ...others] = lists as [string[], ...string[][]];
  const sets = others.map((ids) => new Set(ids));
  const candidates: string[] = [];
  for (const id of base) {
    if (!sets.every((s) => s.has(id))) continue;
    candidates.push(id);
    if (candidates.length === SEARCH_CANDIDATES) break;
  }
  if (candidates.length === 0) return [];
  const loaded = new Map<string, MessageRecord>();
  const matches = [...parsed.exact, parsed.prefix].map(() => new Map<string, number>());
  for (const m of await backend.load(candidates)) {
    loaded.set(m.id, m);
    const terms = messageTerms(m);
    parsed.exact.forEach((w, i) => {
      const n = terms.get(w);
      if (n !== undefined) matches[i]!.set(m.id, n);
    });
    let prefixed = 0;
    for (const [w, n] of terms) if (w.startsWith(parsed.prefix)) prefixed += n;
    if (prefixed > 0) matches[parsed.exact.length]!.set(m.id, prefixed);
  }
  return rankMatches(matches, (id) => loaded.get(id), options);
}
