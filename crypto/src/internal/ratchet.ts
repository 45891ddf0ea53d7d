/**
 * The Double Ratchet (Signal's specification, PROTOCOL.md §6.3–6.5): state,
 * encryption, transactional decryption and the state's binary encoding.
 *
 * Decryption never mutates the state until the AEAD has authenticated the
 * message: every derived key is computed into temporaries and committed only
 * on success, so a failed decrypt leaves the state exactly as it was. Keys
 * that are replaced or used are wiped.
 */
import type { ByteReader, ByteWriter } from '../bytes.ts';
import { equalBytes, wipe } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { chainStep, kdf, LABELS } from '../kdf.ts';
import type { KeyPair } from '../keys.ts';
import { sodium } from '../sodium.ts';
import { aeadOpen, aeadSeal } from './aead.ts';
import { generateX25519KeyPair, x25519 } from './x25519.ts';

/** Most message keys one chain may skip in one step (Signal's MAX_SKIP). */
export const MAX_SKIP = 1000;
/** Most skipped message keys one session stores; the oldest are evicted first. */
export const MAX_SKIPPED_KEYS = 2000;
/** How many earlier receiving chains we remember, to report duplicates on them. */
const MAX_PREVIOUS_CHAINS = 8;
/** Largest message counter (u32 on the wire). */
const MAX_COUNTER = 0xffffffff;

/** Source of randomness for new ratchet keys: `length` random bytes. */
export type RandomSource = (length: number) => Uint8Array;

/** The ratchet header of one message (authenticated, not encrypted). */
export interface RatchetHeader {
  /** Sender's current ratchet public key. */
  dh: Uint8Array;
  /** Number of messages in the sender's previous sending chain. */
  pn: number;
  /** Message number in the current sending chain. */
  n: number;
}

interface SkippedKey {
  dh: Uint8Array;
  n: number;
  mk: Uint8Array;
}

/** Full ratchet state of one session side. */
export interface RatchetState {
  rootKey: Uint8Array;
  dhs: KeyPair;
  dhr: Uint8Array | null;
  cks: Uint8Array | null;
  ns: number;
  ckr: Uint8Array | null;
  nr: number;
  pn: number;
  /** Skipped message keys in insertion (= eviction) order, keyed by `hex(dh):n`. */
  skipped: Map<string, SkippedKey>;
  /** Earlier receiving chains and how far they were read, for duplicate detection. */
  previous: { dh: Uint8Array; nr: number }[];
}

function skippedId(dh: Uint8Array, n: number): string {
  return `${sodium().to_hex(dh)}:${n}`;
}

/** KDF_RK: (root key, DH output) → (new root key, chain key). */
export function rootStep(
  rootKey: Uint8Array,
  dhOut: Uint8Array,
): { rootKey: Uint8Array; chainKey: Uint8Array } {
  const k = sodium().crypto_generichash_BYTES;
  const out = kdf(dhOut, rootKey, LABELS.ratchetRoot, 2 * k);
  const result = { rootKey: out.slice(0, k), chainKey: out.slice(k, 2 * k) };
  wipe(out);
  return result;
}

/** Message key → XChaCha20-Poly1305 key and nonce (label `messageKeys`). */
export function messageKeys(mk: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const s = sodium();
  const keyLen = s.crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
  const out = kdf(
    mk,
    null,
    LABELS.messageKeys,
    keyLen + s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
  );
  const result = { key: out.slice(0, keyLen), nonce: out.slice(keyLen) };
  wipe(out);
  return result;
}

function newKeyPair(random: RandomSource | undefined): KeyPair {
  if (!random) return generateX25519KeyPair();
  const seed = random(sodium().crypto_box_SEEDBYTES);
  const kp = generateX25519KeyPair(seed);
  wipe(seed);
  return kp;
}

/**
 * Initiator's state after the handshake: a fresh ratchet key and a first
 * sending chain from DH(new key, responder's signed prekey).
 */
export function initInitiator(
  sk: Uint8Array,
  remoteRatchetKey: Uint8Array,
  random?: RandomSource,
): RatchetState {
  const dhs = newKeyPair(random);
  const dhOut = x25519(dhs.secretKey, remoteRatchetKey);
  const { rootKey, chainKey } = rootStep(sk, dhOut);
  wipe(dhOut);
  return {
    rootKey,
    dhs,
    dhr: remoteRatchetKey.slice(),
    cks: chainKey,
    ns: 0,
    ckr: null,
    nr: 0,
    pn: 0,
    skipped: new Map(),
    previous: [],
  };
}

/** Responder's state after the handshake: its signed prekey is its first ratchet key. */
export function initResponder(sk: Uint8Array, signedPrekey: KeyPair): RatchetState {
  return {
    rootKey: sk.slice(),
    dhs: { publicKey: signedPrekey.publicKey.slice(), secretKey: signedPrekey.secretKey.slice() },
    dhr: null,
    cks: null,
    ns: 0,
    ckr: null,
    nr: 0,
    pn: 0,
    skipped: new Map(),
    previous: [],
  };
}

/**
 * Encrypt one message. `buildAd(header)` returns the associated data for this
 * header (the caller binds envelope bytes and addresses). Returns the header
 * and the ciphertext; the state advances only after sealing.
 */
export function ratchetEncrypt(
  state: RatchetState,
  plaintext: Uint8Array,
  buildAd: (header: RatchetHeader) => Uint8Array,
): { header: RatchetHeader; ciphertext: Uint8Array } {
  if (!state.cks) throw new CryptoError('NO_SESSION', 'session has no sending chain yet');
  if (state.ns >= MAX_COUNTER) throw new CryptoError('OVERSIZED', 'sending chain exhausted');
  const header: RatchetHeader = { dh: state.dhs.publicKey, pn: state.pn, n: state.ns };
  const { messageKey, nextChainKey } = chainStep(state.cks);
  const { key, nonce } = messageKeys(messageKey);
  let ciphertext: Uint8Array;
  try {
    ciphertext = aeadSeal(key, nonce, plaintext, buildAd(header));
  } finally {
    wipe(messageKey, key, nonce);
  }
  wipe(state.cks);
  state.cks = nextChainKey;
  state.ns += 1;
  return { header, ciphertext };
}

function open(mk: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  const { key, nonce } = messageKeys(mk);
  try {
    return aeadOpen(key, nonce, ciphertext, ad);
  } finally {
    wipe(key, nonce);
  }
}

/**
 * Walk `chainKey` from counter `from` to `until` (exclusive), collecting the
 * message keys into `out`; returns the chain key at `until`. Intermediate chain
 * keys are wiped, the input chain key is not (it still belongs to the state).
 */
function skipChain(
  chainKey: Uint8Array,
  dh: Uint8Array,
  from: number,
  until: number,
  out: SkippedKey[],
): Uint8Array {
  let ck = chainKey;
  for (let n = from; n < until; n++) {
    const { messageKey, nextChainKey } = chainStep(ck);
    if (ck !== chainKey) wipe(ck);
    out.push({ dh, n, mk: messageKey });
    ck = nextChainKey;
  }
  return ck;
}

function storeSkipped(state: RatchetState, keys: SkippedKey[]): void {
  for (const k of keys) state.skipped.set(skippedId(k.dh, k.n), k);
  while (state.skipped.size > MAX_SKIPPED_KEYS) {
    const oldest = state.skipped.keys().next().value as string;
    wipe(state.skipped.get(oldest)?.mk);
    state.skipped.delete(oldest);
  }
}

/**
 * Decrypt one message, transactionally: on any `CryptoError` the state is
 * unchanged. Errors: DUPLICATE_MESSAGE (counter already used on a chain we
 * know), TOO_MANY_SKIPPED, INVALID_KEY (bad ratchet key), DECRYPT_FAILED.
 */
export function ratchetDecrypt(
  state: RatchetState,
  header: RatchetHeader,
  ciphertext: Uint8Array,
  ad: Uint8Array,
  random?: RandomSource,
): Uint8Array {
  // 1. A key we skipped earlier.
  const id = state.skipped.size > 0 ? skippedId(header.dh, header.n) : '';
  const stored = id ? state.skipped.get(id) : undefined;
  if (stored) {
    const plaintext = open(stored.mk, ciphertext, ad);
    wipe(stored.mk);
    state.skipped.delete(id);
    return plaintext;
  }

  // 2. The current receiving chain.
  if (state.dhr && equalBytes(header.dh, state.dhr)) {
    if (!state.ckr)
      throw new CryptoError('DECRYPT_FAILED', 'no receiving chain for this ratchet key');
    if (header.n < state.nr)
      throw new CryptoError('DUPLICATE_MESSAGE', `message ${header.n} was already received`);
    if (header.n - state.nr > MAX_SKIP) {
      throw new CryptoError(
        'TOO_MANY_SKIPPED',
        `message ${header.n} would skip more than ${MAX_SKIP} keys`,
      );
    }
    const skipped: SkippedKey[] = [];
    const ck = skipChain(state.ckr, header.dh, state.nr, header.n, skipped);
    const { messageKey, nextChainKey } = chainStep(ck);
    if (ck !== state.ckr) wipe(ck);
    let plaintext: Uint8Array;
    try {
      plaintext = open(messageKey, ciphertext, ad);
    } catch (err) {
      wipe(nextChainKey, ...skipped.map((k) => k.mk));
      throw err;
    } finally {
      wipe(messageKey);
    }
    wipe(state.ckr);
    state.ckr = nextChainKey;
    state.nr = header.n + 1;
    storeSkipped(state, skipped);
    return plaintext;
  }

  // 3. An earlier chain: anything not among the skipped keys was used already.
  for (const prev of state.previous) {
    if (equalBytes(prev.dh, header.dh) && header.n < prev.nr) {
      throw new CryptoError(
        'DUPLICATE_MESSAGE',
        `message ${header.n} of an earlier chain was already received`,
      );
    }
  }

  // 4. A new ratchet key from the peer: DH ratchet step.
  if (state.ckr && header.pn - state.nr > MAX_SKIP) {
    throw new CryptoError(
      'TOO_MANY_SKIPPED',
      `previous chain would skip more than ${MAX_SKIP} keys`,
    );
  }
  if (header.n > MAX_SKIP) {
    throw new CryptoError(
      'TOO_MANY_SKIPPED',
      `message ${header.n} would skip more than ${MAX_SKIP} keys`,
    );
  }
  const skipped: SkippedKey[] = [];
  let oldChainEnd: Uint8Array | null = null;
  if (state.ckr && state.dhr && header.pn > state.nr) {
    oldChainEnd = skipChain(state.ckr, state.dhr, state.nr, header.pn, skipped);
  }
  if (oldChainEnd && oldChainEnd !== state.ckr) wipe(oldChainEnd);
  let dhOut: Uint8Array;
  try {
    dhOut = x25519(state.dhs.secretKey, header.dh);
  } catch (err) {
    wipe(...skipped.map((k) => k.mk));
    throw err;
  }
  const recv = rootStep(state.rootKey, dhOut);
  wipe(dhOut);
  const ck = skipChain(recv.chainKey, header.dh, 0, header.n, skipped);
  const { messageKey, nextChainKey } = chainStep(ck);
  if (ck !== recv.chainKey) wipe(ck);
  wipe(recv.chainKey);
  let plaintext: Uint8Array;
  try {
    plaintext = open(messageKey, ciphertext, ad);
  } catch (err) {
    wipe(recv.rootKey, nextChainKey, ...skipped.map((k) => k.mk));
    throw err;
  } finally {
    wipe(messageKey);
  }

  // Authenticated: commit, then turn our own ratchet.
  const newDhs = newKeyPair(random);
  const dhOut2 = x25519(newDhs.secretKey, header.dh);
  const send = rootStep(recv.rootKey, dhOut2);
  wipe(dhOut2, recv.rootKey);

  if (state.dhr) {
    state.previous.unshift({ dh: state.dhr, nr: Math.max(state.nr, header.pn) });
    state.previous.length = Math.min(state.previous.length, MAX_PREVIOUS_CHAINS);
  }
  wipe(state.rootKey, state.ckr, state.cks, state.dhs.secretKey);
  state.pn = state.ns;
  state.ns = 0;
  state.nr = header.n + 1;
  state.dhr = header.dh.slice();
  state.ckr = nextChainKey;
  state.rootKey = send.rootKey;
  state.cks = send.chainKey;
  state.dhs = newDhs;
  storeSkipped(state, skipped);
  return plaintext;
}

/** Zero every secret in the state. */
export function wipeRatchet(state: RatchetState): void {
  wipe(state.rootKey, state.cks, state.ckr, state.dhs.secretKey);
  for (const k of state.skipped.values()) wipe(k.mk);
  state.skipped.clear();
}

function optional(w: ByteWriter, value: Uint8Array | null): void {
  if (value) w.u8(1).raw(value);
  else w.u8(0);
}

function readOptional(r: ByteReader, length: number, what: string): Uint8Array | null {
  const flag = r.u8(what);
  if (flag === 0) return null;
  if (flag !== 1) throw new CryptoError('MALFORMED', `${what} presence flag must be 0 or 1`);
  return r.raw(length, what);
}

/**
 * Ratchet state encoding (PROTOCOL.md §6.6): `rootKey[32] ‖ dhsPub[32] ‖
 * dhsSec[32] ‖ opt(dhr) ‖ opt(cks) ‖ u32 ns ‖ opt(ckr) ‖ u32 nr ‖ u32 pn ‖
 * u8 previousCount ‖ (dh[32] ‖ u32 nr)* ‖ u16 skippedCount ‖ (dh[32] ‖ u32 n ‖ mk[32])*`
 * where `opt(x)` is `u8 0` or `u8 1 ‖ x[32]`.
 */
export function writeRatchet(w: ByteWriter, state: RatchetState): void {
  w.raw(state.rootKey).raw(state.dhs.publicKey).raw(state.dhs.secretKey);
  optional(w, state.dhr);
  optional(w, state.cks);
  w.u32(state.ns);
  optional(w, state.ckr);
  w.u32(state.nr).u32(state.pn);
  w.u8(state.previous.length);
  for (const p of state.previous) w.raw(p.dh).u32(p.nr);
  w.u16(state.skipped.size);
  for (const k of state.skipped.values()) w.raw(k.dh).u32(k.n).raw(k.mk);
}

/** Inverse of {@link writeRatchet}; MALFORMED on any inconsistency. */
export function readRatchet(r: ByteReader): RatchetState {
  const s = sodium();
  const K = s.crypto_generichash_BYTES; // root, chain and message keys
  const P = s.crypto_scalarmult_BYTES; // ratchet public keys
  const rootKey = r.raw(K, 'root key');
  const dhs = {
    publicKey: r.raw(P, 'ratchet public key'),
    secretKey: r.raw(s.crypto_scalarmult_SCALARBYTES, 'ratchet secret key'),
  };
  const dhr = readOptional(r, P, 'remote ratchet key');
  const cks = readOptional(r, K, 'sending chain key');
  const ns = r.u32('ns');
  const ckr = readOptional(r, K, 'receiving chain key');
  const nr = r.u32('nr');
  const pn = r.u32('pn');
  const previousCount = r.u8('previous chain count');
  if (previousCount > MAX_PREVIOUS_CHAINS)
    throw new CryptoError('MALFORMED', 'too many previous chains');
  const previous: RatchetState['previous'] = [];
  for (let i = 0; i < previousCount; i++)
    previous.push({ dh: r.raw(P, 'previous key'), nr: r.u32('previous nr') });
  const skippedCount = r.u16('skipped count');
  if (skippedCount > MAX_SKIPPED_KEYS) throw new CryptoError('MALFORMED', 'too many skipped keys');
  const skipped = new Map<string, SkippedKey>();
  for (let i = 0; i < skippedCount; i++) {
    const k: SkippedKey = {
      dh: r.raw(P, 'skipped key dh'),
      n: r.u32('skipped n'),
      mk: r.raw(K, 'skipped mk'),
    };
    skipped.set(skippedId(k.dh, k.n), k);
  }
  if (skipped.size !== skippedCount) throw new CryptoError('MALFORMED', 'duplicate skipped key');
  return { rootKey, dhs, dhr, cks, ns, ckr, nr, pn, skipped, previous };
}
