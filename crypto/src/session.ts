/**
 * Pairwise device-to-device sessions (PROTOCOL.md §6): the public surface of
 * `session/`. Dependencies point one way: `handshake.ts` (PQXDH, creates a
 * session) → `session.ts` (the Double Ratchet session object) → `envelope.ts`
 * (the PREKEY, RATCHET and SENDER_KEY bodies, defined once).
 *
 * Decryption is transactional: when it throws, the session is unchanged.
 */
export {
  type DeviceAddress,
  type PairwiseEnvelopeInfo,
  peekEnvelope,
  peekPairwiseEnvelope,
} from './session/envelope.ts';
export {
  MAX_SKIP,
  MAX_SKIPPED_KEYS,
  type RandomSource,
  Session,
  SESSION_STATE_VERSION,
  type SessionOptions,
} from './session/session.ts';
export {
  type AcceptedSession,
  acceptSession,
  initiateSession,
  type LocalDevice,
  type PrekeySecrets,
} from './session/handshake.ts';
