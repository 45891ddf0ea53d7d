/**
 * @sotto/crypto — the Sotto protocol library (docs/PROTOCOL.md).
 *
 * Pure TypeScript on libsodium: no I/O, no clock, no DOM, no `node:*`; runs
 * unchanged in browsers and in Node. Await {@link ready} once before use.
 */
export { ready } from './sodium.ts';
export { CryptoError, isCryptoError, type CryptoErrorCode } from './errors.ts';
export {
  toBase64,
  fromBase64,
  toHex,
  fromHex,
  concat,
  equalBytes,
  utf8,
  fromUtf8,
} from './bytes.ts';
export type { KeyPair } from './keys.ts';
// The wire contract (topics, conversation ids, notices): also importable alone as `@sotto/crypto/wire`.
export * from './wire/index.ts';
export {
  EnvelopeType,
  EnvelopeTypeName,
  ENVELOPE_VERSION,
  MAX_ENVELOPE_BYTES,
  type EnvelopeTypeValue,
  unframeEnvelope,
} from './envelope.ts';
// Owned by the crypto-core work: identities, prekeys, PQXDH, Double Ratchet, pairwise sessions.
export * from './identity.ts';
export * from './prekeys.ts';
export * from './session.ts';
// Owned by the crypto-groups work: sender keys, membership chain, safety numbers, attachments, padding, Merkle log.
export * from './senderkeys.ts';
export * from './membership.ts';
export * from './safety.ts';
export * from './attachment.ts';
export * from './padding.ts';
export * from './merkle.ts';
// A guest's move to a username of its choice (PROTOCOL.md §3.3).
export * from './rename.ts';
// Device linking (PROTOCOL.md §13).
export * from './link.ts';
// Encryption at rest of the client's local database (PROTOCOL.md §14).
export * from './storage.ts';
