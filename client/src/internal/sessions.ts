/**
 * Pairwise sessions on top of the store (PROTOCOL.md §6): start a session from
 * a claimed bundle, encrypt for one device, and decrypt an inbox envelope —
 * accepting a new session from a PREKEY envelope when needed. Callers hold
 * `ctx.lock`; every function returns the store ops that persist the new state,
 * so the caller commits them atomically with whatever else the message changes.
 */
import {
  acceptSession,
  decodePrekeyBundle,
  fromBase64,
  initiateSession,
  isCryptoError,
  peekPairwiseEnvelope,
  Session,
  type DeviceCertificate,
} from '@sotto/crypto';
import type { BundleResponse } from '../http.ts';
import type { StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import type { Directory } from './trust.ts';

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
  ops: StoreOp[];
}

/**
 * Decrypt an inbox envelope. An existing session is tried first; a PREKEY
 * envelope of another handshake replaces it (the peer started over, or both
 * sides started at once). The sender certificate's UIK is trust-checked.
 */
export async function decryptPairwise(
  ctx: Ctx,
  directory: Directory,
  envelope: Uint8Array,
): Promise<Decrypted> {
  const { store } = ctx;
  const info = peekPairwiseEnvelope(envelope);
  const { username: user, deviceId: device } = info.sender;
  // Current session first, then the previous one (kept when the peer re-keyed
  // or both sides started a session at once, until one of them wins).
  const prevSlot = previousSlot(device);
  const candidates: { slot: string; state: Uint8Array }[] = [];
  const current = await store.getSession(user, device);
  if (current) candidates.push({ slot: device, state: current });
  const previous = await store.getSession(user, prevSlot);
  if (previous) candidates.push({ slot: prevSlot, state: previous });
  let firstError: unknown = null;
  for (const c of candidates) {
    const session = Session.deserialize(c.state);
    try {
      const plaintext = session.decrypt(envelope);
      const ops: StoreOp[] = [{ op: 'putSession', user, device, state: session.serialize() }];
      // The previous session decrypted: promote it, demote the current one.
      if (c.slot === prevSlot && current)
        ops.push({ op: 'putSession', user, device: prevSlot, state: current });
      return {
        user,
        device,
        certificate: session.remoteCertificate,
        plaintext,
        carriesSenderKey: info.carriesSenderKey,
        newSession: false,
        ops,
      };
    } catch (err) {
      firstError ??= err;
    } finally {
      session.destroy();
    }
  }
  if (firstError && !(info.type === 1 && isCryptoError(firstError, 'NO_SESSION'))) {
    throw firstError instanceof Error ? firstError : new Error('session decrypt failed');
  }
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
  );
  const certificate = accepted.session.remoteCertificate;
  await directory.checkUik(user, certificate.uik);
  const ops: StoreOp[] = [{ op: 'putSession', user, device, state: accepted.session.serialize() }];
  if (current) ops.push({ op: 'putSession', user, device: prevSlot, state: current });
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
    newSession: true,
    ops,
  };
}
