/**
 * `@sotto/crypto/wire` — the wire contract between key server, brokers and clients
 * (docs/PROTOCOL.md §7): MQTT topics and client ids, conversation ids, control notices, presence
 * and ACL events, and the encrypted payload codec (the JSON inside every ciphertext). Each format
 * is built and parsed only here; the routing decoders throw only {@link WireError}, the payload
 * decoder its own {@link PayloadError} (PROTOCOL.md §12). Dependency-free (no libsodium, no I/O,
 * no randomness of its own), so the broker can import it without loading the rest of the
 * protocol library.
 */
export { WireError, isWireError, type WireErrorCode } from './errors.ts';
export * from './topics.ts';
export * from './client-ids.ts';
export * from './conversations.ts';
export * from './control.ts';
export * from './presence.ts';
export * from './acl-events.ts';
export * from './discovery.ts';
export * from './payload.ts';
export * from './call.ts';
export * from './mentions.ts';
export * from './profile.ts';
export * from './pins.ts';
export * from './push.ts';
