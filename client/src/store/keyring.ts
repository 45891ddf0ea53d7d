/**
 * The storage key of a durable store and how it is kept (PROTOCOL.md §14.2): a random 32-byte
 * key, held at rest in one {@link KeyRecord} beside the data, in one of three forms:
 *
 * - `device` (browser default): wrapped with AES-GCM by a non-extractable WebCrypto key that is
 *   itself stored in IndexedDB — script (an XSS, an extension) cannot read the key out, but a
 *   copy of the whole browser profile carries both.
 * - `passphrase` (app lock, CLI `--passphrase-file`): wrapped with AES-GCM by a key derived from
 *   a passphrase with PBKDF2-SHA-256, {@link PBKDF2_ITERATIONS} iterations and a random salt.
 *   PBKDF2 rather than Argon2id: WebCrypto has it in every browser and in Node, so it costs no
 *   bundle bytes (Argon2id needs libsodium's sumo build, about twice the size of the one the web
 *   client loads) and both stores derive it the same way; SECURITY.md says what that trades.
 * - `plain` (Node store without a passphrase): the key as is; the file's 0600 mode is then the
 *   only protection, as before.
 *
 * A wrong passphrase fails the AES-GCM tag: `ClientError('WRONG_PASSPHRASE')`, nothing changed.
 *
 * Runtime: any with WebCrypto (`globalThis.crypto.subtle`: browsers, Node ≥ 19).
 */
import { generateStorageKey } from '@sotto/crypto';
import { ClientError } from '../errors.ts';

/** PBKDF2-SHA-256 iterations for new passphrase-wrapped keys (OWASP's 2023 floor). */
export const PBKDF2_ITERATIONS = 600_000;

/** Fewest iterations a stored record may ask for (a record with fewer is refused as tampered). */
const MIN_ITERATIONS = 100_000;

/** The stored form of a storage key. */
export type KeyRecord =
  | { v: 1; mode: 'device'; kek: CryptoKey; iv: Uint8Array; wrapped: Uint8Array }
  | {
      v: 1;
      mode: 'passphrase';
      salt: Uint8Array;
      iterations: number;
      iv: Uint8Array;
      wrapped: Uint8Array;
    }
  | { v: 1; mode: 'plain'; key: Uint8Array };

/** Where a store keeps its {@link KeyRecord}. */
export interface KeySlot {
  load(): Promise<KeyRecord | undefined>;
  /** Store the first record; false (and nothing written) when one is already there. */
  add(record: KeyRecord): Promise<boolean>;
  /** Replace the record. */
  save(record: KeyRecord): Promise<void>;
}

/** How a new store keeps its key when no passphrase is given. */
export type DefaultKeyMode = 'device' | 'plain';

/** Associated data of every wrapped storage key. */
const WRAP_AD = new TextEncoder().encode('Sotto_v1_StorageKeyWrap');

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/** Fresh random bytes from the platform. */
function random(n: number): Uint8Array<ArrayBuffer> {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** A copy backed by a plain ArrayBuffer (what WebCrypto's typings accept). */
const buf = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

async function wrap(
  kek: CryptoKey,
  key: Uint8Array,
): Promise<{ iv: Uint8Array; wrapped: Uint8Array }> {
  const iv = random(12);
  const wrapped = await subtle().encrypt(
    { name: 'AES-GCM', iv, additionalData: WRAP_AD },
    kek,
    buf(key),
  );
  return { iv, wrapped: new Uint8Array(wrapped) };
}

async function unwrap(
  kek: CryptoKey,
  iv: Uint8Array,
  wrapped: Uint8Array,
): Promise<Uint8Array | null> {
  try {
    const key = await subtle().decrypt(
      { name: 'AES-GCM', iv: buf(iv), additionalData: WRAP_AD },
      kek,
      buf(wrapped),
    );
    return new Uint8Array(key);
  } catch {
    return null;
  }
}

/** The AES-GCM key PBKDF2 derives from `passphrase`. */
async function passphraseKek(
  passphrase: string,
  salt: Uint8Array,
  iterations: number,
): Promise<CryptoKey> {
  const material = await subtle().importKey(
    'raw',
    new TextEncoder().encode(passphrase.normalize('NFC')),
    'PBKDF2',
    false,
    ['deriveKey'],
  );
  return subtle().deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: buf(salt), iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** `key` wrapped under `passphrase`. */
async function wrapWithPassphrase(key: Uint8Array, passphrase: string): Promise<KeyRecord> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new TypeError('passphrase must be a non-empty string');
  }
  const salt = random(16);
  const kek = await passphraseKek(passphrase, salt, PBKDF2_ITERATIONS);
  return {
    v: 1,
    mode: 'passphrase',
    salt,
    iterations: PBKDF2_ITERATIONS,
    ...(await wrap(kek, key)),
  };
}

/** `key` in the store's default form. */
async function wrapDefault(key: Uint8Array, mode: DefaultKeyMode): Promise<KeyRecord> {
  if (mode === 'plain') return { v: 1, mode: 'plain', key };
  const kek = await subtle().generateKey({ name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
  return { v: 1, mode: 'device', kek, ...(await wrap(kek, key)) };
}

const tampered = (what: string): ClientError =>
  new ClientError('STORE_TAMPERED', `the stored storage key does not open: ${what}`);

/** The storage key of `record`, or the typed reason it cannot be had. */
async function keyOf(record: KeyRecord, passphrase: string | undefined): Promise<Uint8Array> {
  switch (record.mode) {
    case 'plain':
      return record.key;
    case 'device': {
      const key = await unwrap(record.kek, record.iv, record.wrapped);
      if (key === null) throw tampered('the device key does not unwrap it');
      return key;
    }
    case 'passphrase': {
      if (passphrase === undefined) {
        throw new ClientError('STORE_LOCKED', 'the local database is locked: enter its passphrase');
      }
      if (!Number.isInteger(record.iterations) || record.iterations < MIN_ITERATIONS) {
        throw tampered(`${record.iterations} PBKDF2 iterations`);
      }
      const kek = await passphraseKek(passphrase, record.salt, record.iterations);
      const key = await unwrap(kek, record.iv, record.wrapped);
      if (key === null) throw new ClientError('WRONG_PASSPHRASE', 'wrong passphrase');
      return key;
    }
  }
}

/**
 * The storage key of the store behind `slot`: made (and saved) on first use — wrapped under
 * `passphrase` when one is given, else in the `fresh` form — and unwrapped afterwards.
 * A passphrase given for a store that has none sets it (the CLI's way to turn the lock on).
 *
 * @throws ClientError `STORE_LOCKED` (passphrase needed), `WRONG_PASSPHRASE`, `STORE_TAMPERED`.
 */
export async function openStorageKey(
  slot: KeySlot,
  options: { passphrase?: string | undefined; fresh: DefaultKeyMode },
): Promise<Uint8Array> {
  let record = await slot.load();
  if (record === undefined) {
    const key = generateStorageKey();
    const { passphrase } = options;
    const made =
      passphrase !== undefined
        ? await wrapWithPassphrase(key, passphrase)
        : await wrapDefault(key, options.fresh);
    if (await slot.add(made)) return key;
    // Another connection (a second tab) made the key first: use that one.
    record = await slot.load();
    if (record === undefined) throw tampered('the key record vanished while it was made');
  }
  const key = await keyOf(record, options.passphrase);
  if (record.mode !== 'passphrase' && options.passphrase !== undefined) {
    await slot.save(await wrapWithPassphrase(key, options.passphrase));
  }
  return key;
}

/** Whether the store behind `slot` needs a passphrase to open. */
export async function isPassphraseLocked(slot: KeySlot): Promise<boolean> {
  return (await slot.load())?.mode === 'passphrase';
}

/**
 * Set, change or remove (`next` undefined) the passphrase of the store behind `slot`;
 * `current` must open it first. Without a passphrase the key goes back to the `fresh` form.
 *
 * @throws ClientError `WRONG_PASSPHRASE` (nothing changed), `STORE_LOCKED`, `STORE_TAMPERED`.
 */
export async function changePassphrase(
  slot: KeySlot,
  current: string | undefined,
  next: string | undefined,
  fresh: DefaultKeyMode,
): Promise<void> {
  const record = await slot.load();
  if (record === undefined) throw new ClientError('NOT_REGISTERED', 'no local database yet');
  const key = await keyOf(record, current);
  await slot.save(
    next !== undefined ? await wrapWithPassphrase(key, next) : await wrapDefault(key, fresh),
  );
}
