/**
 * `@sotto/keyserver`: accounts, devices, key directory, groups, things, blobs
 * and key transparency over HTTP (DESIGN.md §4.1). `buildApp` builds the
 * Fastify instance with injected dependencies; `server.ts` runs it alone.
 * Storage, the ACL bus and access tokens are in `@sotto/server-core` (shared
 * with the broker).
 */
export { buildApp, type BuildAppOptions, type KeyServerApp } from './app.ts';
export type { ControlPublisher, SessionTokens } from './context.ts';
export {
  loadConfig,
  defaultAppConfig,
  resolveAppConfig,
  ConfigError,
  ENV_NAMES,
  DEFAULT_ARGON2,
  type AppConfig,
  type KeyServerConfig,
  type Argon2Params,
  type RateLimitConfig,
} from './config.ts';
export { ApiError, ERRORS, type ApiErrorCode } from './errors.ts';
export { PermissionError, secureDataDir, type DataDirConfig } from './files.ts';
export { loadOrCreateMfaKey } from './mfa.ts';
export { loadOrCreateVapidKeys, VapidKeyError, type VapidKeys } from './push.ts';
export { listenMetrics, type MetricsListener } from '@sotto/server-core/metrics-listener';
export { advertisedBrokers } from './routes/discovery.ts';
