/**
 * Sender Keys for groups (PROTOCOL.md §8.2–8.4; Signal's Sender Keys as the model).
 *
 * Each member device has, per group, a sender chain (a 32-byte chain key that
 * advances one symmetric KDF step per message, an iteration counter and a key
 * id) and an Ed25519 signing key. It hands the chain's current position and
 * the signing public key to every other member device as a
 * {@link SenderKeyDistribution} inside the pairwise sessions (a SENDER_KEY
 * envelope whose plaintext is {@link encodeSenderKeyDistribution}). A group
 * message is encrypted once with the chain's message key (XChaCha20-Poly1305)
 * and signed with the signing key, so a member cannot forge another member's
 * messages even though all members share the chain.
 *
 * States are plain mutable objects: {@link groupEncrypt} and
 * {@link groupDecrypt} advance them in place, and only on success: a failing
 * call leaves its state exactly as it was (transactional).
 *
 * Dependencies point one way: `sender-key.ts` (create, rotate, receive) and
 * `group-message.ts` (encrypt, decrypt) and `persistence.ts` build on
 * `distribution.ts` and `state.ts`.
 *
 * Runtime: any.
 */
export * from './senderkeys/state.ts';
export * from './senderkeys/distribution.ts';
export * from './senderkeys/sender-key.ts';
export * from './senderkeys/group-message.ts';
export * from './senderkeys/persistence.ts';
