/**
 * `@sotto/crypto/wire` — the wire contract between key server, brokers and clients
 * (docs/PROTOCOL.md §7): MQTT topics and client ids, conversation ids, control notices, presence
 * and ACL events. Each format is built and parsed only here, each decoder throws only
 * {@link WireError}. Dependency-free (no libsodium, no I/O), so the broker can import it without
 * loading the rest of the protocol library. The encrypted payload codec is not here yet: it lives
 * in `@sotto/client/payload`.
 */
export { WireError, isWireError, type WireErrorCode } from './errors.ts';
export * from './topics.ts';
export * from './conversations.ts';
export * from './control.ts';
export * from './presence.ts';
export * from './acl-events.ts';
export * from './discovery.ts';
