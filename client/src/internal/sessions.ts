/**
 * Pairwise sessions on top of the store (PROTOCOL.md §6): start a session from
 * a claimed bundle, encrypt for one device, and decrypt an inbox envelope —
 * accepting a new session from a PREKEY envelope when needed. Callers hold
 * `ctx.lock`; every function returns the store ops that persist the new state,
 * so the caller commits them atomically with whatever else the message changes.
 */
import {
  acceptSession,
  CryptoError,
  decodePrekeyBundle,
  fromBase64,
  initiateSession,
  isCryptoError,
  peekPairwiseEnvelope,
  Session,
  type DeviceCertificate,
  type PairwiseEnvelopeInfo,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import type { BundleResponse } from '../http.ts';
import type { StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import type { Directory, Vouch } from './trust.ts';

/**
 * Store slot of the previous session with a device. `#` never occurs in a
 * device id (PROTOCOL.md §7), so the slot cannot collide with a real device.
 */
export function previousSlot(deviceId: string): string {
  return `${deviceId}#prev`;
}

/** Result of {@link encryptFor}. */
export interface Encrypted {
  envelope: Uint8Array;
  ops: StoreOp[];
}

/**
 * Encrypt `plaintext` (padded) for one remote device, starting a session if
 * needed. `stored` is the device's session state when the caller has read it
 * already (null: none), so the store is not asked again.
 */
export async function encryptFor(
  ctx: Ctx,
  user: string,
  deviceId: string,
  plaintext: Uint8Array,
  options: {
    senderKey?: boolean;
    expectedUik?: Uint8Array;
    bundle?: BundleResponse;
    stored?: Uint8Array | null;
  } = {},
): Promise<Encrypted> {
  const stored =
    options.stored !== undefined ? options.stored : await ctx.store.getSession(user, deviceId);
  let session: Session;
  if (stored) {
    session = Session.deserialize(stored);
  } else {
    const b = options.bundle ?? (await ctx.http.claimBundle(user, deviceId));
    // initiateSession verifies the bundle (certificate, both prekey signatures, every key).
    const bundle = decodePrekeyBundle({
      certificate: fromBase64(b.certificate),
      signedPrekey: fromBase64(b.signedPrekey),
      kemPrekey: fromBase64(b.kemPrekey),
      oneTimePrekey: b.oneTimePrekey ? fromBase64(b.oneTimePrekey) : null,
    });
    session = initiateSession(ctx.local(), bundle, {
      expected: {
        username: user,
        deviceId,
        ...(options.expectedUik ? { uik: options.expectedUik } : {}),
      },
    });
  }
  try {
    const envelope = session.encrypt(plaintext, options.senderKey ? { senderKey: true } : {});
    return {
      envelope,
      ops: [{ op: 'putSession', user, device: deviceId, state: session.serialize() }],
    };
  } finally {
    session.destroy();
  }
}

/** Result of {@link decryptPairwise}. */
export interface Decrypted {
  user: string;
  device: string;
  certificate: DeviceCertificate;
  plaintext: Uint8Array;
  carriesSenderKey: boolean;
  /** True when this envelope started a new session (the peer re-keyed). */
  newSession: boolean;
  /**
   * True when the sender is a verified contact whose new, not yet accepted UIK certifies the
   * device: the plaintext goes to the held queue (held.ts), never to the conversation, and the
   * session lives in the device's held slot, never used for sending.
   */
  held: boolean;
  ops: StoreOp[];
}

/**
 * Store slot of a session with a device of a verified contact whose new key is not accepted
 * yet (PROTOCOL.md §6.7): decrypts into the held queue only; promoted to the device's slot
 * when the user accepts the key. `#` never occurs in a device id.
 */
export function heldSlot(deviceId: string): string {
  return `${deviceId}#held`;
}

/**
 * The deserialised sessions of one receive batch, each under the state bytes it serialised to
 * (the very object staged as that slot's state): the next envelope from the same device in the
 * batch decrypts on it instead of parsing the state again — a session's construction (two
 * certificates decoded, its associated data built) was 12 % of a queued burst's CPU (issue 23).
 * Only a session whose decrypt succeeded is kept (a failed decrypt leaves a session as it was,
 * but it is simply dropped). {@link SessionCache.clear} wipes them all; the batch calls it when
 * it ends or its staged states are dropped.
 *
 * It also remembers which peer certificates the directory vouched for (`ok`) since the batch's
 * last commit: a RATCHET envelope's session must still be listed, and asking the directory
 * again for every envelope of a burst from one device (its cached entry, the contact's trusted
 * key, a byte comparison of the certificate) was ~3 % of a queued burst's CPU. Within a run
 * between commits the answer cannot change — the batch holds the receive lock, reads each
 * contact once per run, and the directory answers from its cache (minutes) — and every commit
 * forgets the verdicts ({@link SessionCache.forgetVouches}), as it forgets the contacts read.
 */
export class SessionCache {
  readonly #live = new Map<Uint8Array, Session>();
  /** Sessions whose peer certificate was vouched `ok` since the last commit. */
  readonly #vouched = new Set<Session>();

  /** Whether `session`'s peer certificate (it never changes) was vouched `ok` since the last commit. */
  vouched(session: Session): boolean {
    return this.#vouched.has(session);
  }

  /** The directory vouched `ok` for `session`'s peer certificate. */
  vouch(session: Session): void {
    this.#vouched.add(session);
  }

  /** Forget the verdicts (at every commit of the batch: contacts may change after it). */
  forgetVouches(): void {
    this.#vouched.clear();
  }

  /** Take out the session whose state is `state` (this exact object), if kept. */
  take(state: Uint8Array): Session | undefined {
    const session = this.#live.get(state);
    if (session !== undefined) this.#live.delete(state);
    return session;
  }

  /** Keep `session`, whose serialised state is `state`. */
  keep(state: Uint8Array, session: Session): void {
    this.#live.get(state)?.destroy();
    this.#live.set(state, session);
  }

  /** Wipe and forget every session kept, and every verdict. */
  clear(): void {
    for (const session of this.#live.values()) session.destroy();
    // A destroyed session is never decrypted on again; the verdicts go with the sessions.
    this.#live.clear();
    this.#vouched.clear();
  }
}

/**
 * An envelope from a sender the key directory does not vouch for (PROTOCOL.md §6.7): dropped
 * before any key agreement, never stored, never a session. `own` when it claimed to be one of
 * our own devices.
 */
export class UntrustedSenderError extends ClientError {
  constructor(
    readonly user: string,
    readonly device: string,
    readonly own: boolean,
  ) {
    super(
      'UNTRUSTED_SENDER',
      `dropped an envelope claiming to be ${user}/${device}: the key directory does not list that device`,
    );
  }
}

/**
 * Decrypt an inbox envelope, enforcing the acceptance rules of PROTOCOL.md §6.7:
 * - a PREKEY envelope's sender certificate must be one the key directory lists for the
 *   claimed (user, device) and the log includes, under the UIK we trust for that user
 *   (first contact: the directory's UIK, never the envelope's) — checked before any key
 *   agreement; otherwise {@link UntrustedSenderError} and nothing changes;
 * - a RATCHET envelope is decrypted on the device's existing session (current, previous or
 *   held slot), and the session's peer certificate must still be listed;
 * - a device of a verified contact under a new, not accepted UIK decrypts with `held: true`.
 * An existing session is tried first; a PREKEY envelope of another handshake replaces it
 * (the peer started over, or both sides started at once).
 *
 * With `handshake: false` a PREKEY envelope that no existing session decrypts is left alone:
 * the result is `null`, nothing was read beyond sessions and the directory, and the caller
 * decrypts it again with the handshake allowed once what it staged is committed (the handshake
 * reads prekeys from the store and consumes a one-time prekey, so it must not run on staged
 * state). A sender keeps attaching its handshake until it hears back from us, so a whole burst
 * from a new contact is PREKEY envelopes that the first one's session decrypts.
 */
export async function decryptPairwise(
  ctx: Ctx,
  directory: Directory,
  envelope: Uint8Array,
): Promise<Decrypted>;
export async function decryptPairwise(
  ctx: Ctx,
  directory: Directory,
  envelope: Uint8Array,
  options: { handshake: false; cache?: SessionCache; info?: PairwiseEnvelopeInfo },
): Promise<Decrypted | null>;
export async function decryptPairwise(
  ctx: Ctx,
  directory: Directory,
  envelope: Uint8Array,
  options: { handshake: boolean; cache?: SessionCache; info?: PairwiseEnvelopeInfo } = {
    handshake: true,
  },
): Promise<Decrypted | null> {
  const { store } = ctx;
  // The caller's peek of this very envelope, when it made one (it routes by the sender).
  const info = options.info ?? peekPairwiseEnvelope(envelope);
  const { username: user, deviceId: device } = info.sender;
  const own = user === ctx.account().username;
  const refuse = (): never => {
    throw new UntrustedSenderError(user, device, own);
  };
  // Current session first, then the previous one (kept when the peer re-keyed or both sides
  // started a session at once, until one of them wins), then a held one. The three are read
  // together and while the directory is asked: on a page each read's answer waits for a turn of
  // the main thread, and reads one after another took a turn each (issue 23).
  const prevSlot = previousSlot(device);
  const holdSlot = heldSlot(device);
  const slots = Promise.all([
    store.getSession(user, device),
    store.getSession(user, prevSlot),
    store.getSession(user, holdSlot),
  ]);
  slots.catch(() => undefined); // awaited below unless the sender is refused first
  // A PREKEY envelope names its certificate: ask the directory before any DH or KEM work.
  let verdict: Vouch | null = null;
  if (info.certificate) {
    verdict = await directory.vouch(user, device, info.certificate, store);
    if (verdict === 'unlisted') refuse();
  }
  const [current, previous, heldState] = await slots;
  const candidates: { slot: string; state: Uint8Array }[] = [];
  if (current && verdict !== 'held') candidates.push({ slot: device, state: current });
  if (previous && verdict !== 'held') candidates.push({ slot: prevSlot, state: previous });
  if (heldState && verdict !== 'ok') candidates.push({ slot: holdSlot, state: heldState });
  let firstError: unknown = null;
  for (const c of candidates) {
    const session = options.cache?.take(c.state) ?? Session.deserialize(c.state);
    let kept = false;
    try {
      const plaintext = session.decrypt(envelope);
      const certificate = session.remoteCertificate;
      // The session was vouched for when it began; the device must still be listed (a removed
      // or replaced device's sessions stop counting).
      const cache = options.cache;
      const now =
        verdict ??
        (cache?.vouched(session) === true
          ? 'ok'
          : await directory.vouch(user, device, certificate, store));
      const held = c.slot === holdSlot;
      if (now === 'unlisted' || (now === 'held') !== held) refuse();
      if (now === 'ok') cache?.vouch(session);
      const state = session.serialize();
      const ops: StoreOp[] = [{ op: 'putSession', user, device: held ? holdSlot : device, state }];
      // The previous session decrypted: promote it, demote the current one.
      if (c.slot === prevSlot && current)
        ops.push({ op: 'putSession', user, device: prevSlot, state: current });
      if (options.cache) {
        options.cache.keep(state, session);
        kept = true;
      }
      return {
        user,
        device,
        certificate,
        plaintext,
        carriesSenderKey: info.carriesSenderKey,
        newSession: false,
        held,
        ops,
      };
    } catch (err) {
      if (err instanceof UntrustedSenderError) throw err;
      firstError ??= err;
    } finally {
      if (!kept) session.destroy();
    }
  }
  if (firstError && !(info.type === 1 && isCryptoError(firstError, 'NO_SESSION'))) {
    throw firstError instanceof Error ? firstError : new Error('session decrypt failed');
  }
  if (!info.certificate) {
    // A RATCHET envelope with no session at all.
    throw firstError instanceof Error
      ? firstError
      : new CryptoError('NO_SESSION', `no session with ${user}/${device}`);
  }
  if (!options.handshake) return null;
  // PREKEY envelope: load the secrets it names (the store is async, crypto is not).
  const ids = info.prekeyIds;
  const spk = ids ? await store.getPrekey('signed', ids.signedPrekeyId) : null;
  const kem = ids
    ? ((await store.getPrekey('kem-onetime', ids.kemPrekeyId)) ??
      (await store.getPrekey('kem', ids.kemPrekeyId)))
    : null;
  const otk =
    ids?.oneTimePrekeyId != null ? await store.getPrekey('onetime', ids.oneTimePrekeyId) : null;
  const accepted = acceptSession(
    ctx.local(),
    {
      signedPrekey: (id) => (spk && spk.id === id ? spk.secretKey : undefined),
      kemPrekey: (id) =>
        kem && kem.id === id
          ? { secretKey: kem.secretKey, lastResort: kem.kind === 'kem' }
          : undefined,
      oneTimePrekey: (id) => (otk && otk.id === id ? otk.secretKey : undefined),
    },
    envelope,
    // The certificate must verify under the UIK the directory vouched for (it equals the listed one).
    { expected: { username: user, deviceId: device, uik: info.certificate.uik } },
  );
  const certificate = accepted.session.remoteCertificate;
  const held = verdict === 'held';
  const ops: StoreOp[] = [
    {
      op: 'putSession',
      user,
      device: held ? holdSlot : device,
      state: accepted.session.serialize(),
    },
  ];
  if (current && !held) ops.push({ op: 'putSession', user, device: prevSlot, state: current });
  if (accepted.consumed.oneTimePrekeyId !== null) {
    ops.push({ op: 'deletePrekey', kind: 'onetime', id: accepted.consumed.oneTimePrekeyId });
  }
  if (accepted.consumed.kemPrekeyId !== null) {
    ops.push({ op: 'deletePrekey', kind: 'kem-onetime', id: accepted.consumed.kemPrekeyId });
  }
  accepted.session.destroy();
  return {
    user,
    device,
    certificate,
    plaintext: accepted.plaintext,
    carriesSenderKey: accepted.carriesSenderKey,
    newSession: !held,
    held,
    ops,
  };
}
