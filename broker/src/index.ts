/**
 * @sotto/broker — the Sotto MQTT broker: Aedes 1.2 (MQTT 3.1.1) over TCP and
 * WebSocket with access-token authentication, the topic ACL of DESIGN.md §4.2,
 * resource limits, presence, revocation on ACL events and Redis clustering.
 */
export {
  createBroker,
  DEFAULT_LIMITS,
  type Broker,
  type BrokerOptions,
  type BrokerLimits,
  type BrokerPersistence,
  type PresencePayload,
  type TcpListener,
} from './broker.ts';
export {
  createAuthHooks,
  DEFAULT_AUTH_LIMITS,
  type AuthHooks,
  type AuthHooksOptions,
  type AuthLimits,
  type ClientSession,
} from './auth.ts';
export { checkPublish, checkSubscribe, type AclDecision, type AclRule } from './acl.ts';
export {
  identityOf,
  accountOf,
  type Identity,
  type DeviceIdentity,
  type ThingIdentity,
  type ServiceIdentity,
  type OperatorIdentity,
} from './identity.ts';
export { parsePasswordFile, type PasswordFile } from './passwords.ts';
export {
  parsePolicy,
  filterCovers,
  filterMatches,
  type Policy,
  type PolicyRule,
  type PolicyAccess,
} from './policy.ts';
export {
  PacketSizeGuard,
  guardPacketSize,
  TokenBucket,
  ConnectionCounter,
  type PacketSizeLimits,
} from './limits.ts';
export { createBrokerMetrics, type BrokerMetrics } from './metrics.ts';
export {
  createRedisBackends,
  redisOptions,
  type BackendErrorListener,
  type BackendErrors,
  type RedisBackends,
  type RedisConnectionName,
} from './cluster.ts';
export {
  AuthError,
  AclError,
  ConfigError,
  ReturnCode,
  type AuthErrorCode,
  type ReturnCodeValue,
} from './errors.ts';
export {
  silentLogger,
  type AclStoreQueries,
  type AclEventSource,
  type VerifyToken,
  type BrokerLogger,
} from './types.ts';
