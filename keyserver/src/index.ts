/**
 * `@sotto/keyserver`: accounts, devices, key directory, groups, things, blobs
 * and key transparency over HTTP (DESIGN.md §4.1). `buildApp` builds the
 * Fastify instance with injected dependencies; `server.ts` runs it alone.
 * Storage and the ACL bus are under `@sotto/keyserver/store`, tokens under
 * `@sotto/keyserver/tokens`.
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
export { advertisedBrokers } from './routes/discovery.ts';
