/**
 * Node-only entry of @sotto/client: the durable SQLite store for bots and the
 * CLI. Import from `@sotto/client/node`.
 */
export { createSqliteStore, type SqliteStoreOptions } from '../stores/sqlite.ts';
export { NODE_RECEIVE_BATCH } from '../internal/inbound.ts';
