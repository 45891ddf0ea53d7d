/**
 * Configuration of the standalone broker (`server.ts`). The only module that
 * reads `process.env`; every value is checked here at start-up and a bad one
 * stops the process with a {@link ConfigError} naming the variable.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `PORT` | 8083 | HTTP port for MQTT over WebSocket at `/mqtt`, and `/healthz` (0 = off) |
 * | `METRICS_PORT` | 0 | separate listener for `/metrics`, for an internal network (0 = off) |
 * | `METRICS_TOKEN` | – | bearer token for `/metrics` (then also served on `PORT`) |
 * | `MQTT_PORT` | 1883 | MQTT over TCP (0 = off) |
 * | `HOST` | 0.0.0.0 | listen address |
 * | `REDIS_URL` | – | cluster mode: Redis mqemitter, persistence, store and ACL events |
 * | `DATA_DIR` | ./data | data folder (public key, SQLite store when `REDIS_URL` is unset) |
 * | `STORE_FILE` | `$DATA_DIR/keyserver.db` | the key server's SQLite file (only without `REDIS_URL`) |
 * | `JWT_PUBLIC_KEY_FILE` | `$DATA_DIR/jwt-public.pem` | key server's Ed25519 public key (PEM) |
 * | `JWT_ISSUER` / `JWT_AUDIENCE` | `sotto` / `sotto` | expected `iss` / `aud` |
 * | `TLS_CERT_FILE` / `TLS_KEY_FILE` | – | serve TCP and WebSocket over TLS |
 * | `POLICY_FILE` | – | operator policy file, Mosquitto acl_file syntax (off by default) |
 * | `PASSWORD_FILE` | – | operator accounts, a Mosquitto password_file (needs `POLICY_FILE`) |
 * | `ALLOW_ANONYMOUS` | false | admit clients without a user name to the policy (needs `POLICY_FILE`) |
 * | `BROKER_ID` | random | broker id in a cluster |
 * | `MAX_PACKET_BYTES` | 262144 | largest MQTT packet |
 * | `MAX_CONNECT_BYTES` | 16384 | largest CONNECT |
 * | `PUBLISH_RATE` / `PUBLISH_BURST` | 200 / 400 | per-client publishes per second / burst |
 * | `MAX_CONNECTIONS_PER_IP` | 1000 | 0 = unlimited |
 * | `KEEPALIVE_MAX` | 300 | seconds; keepalive 0 is raised to this |
 * | `PRESENCE` | on | `off` disables broker-published presence |
 * | `LOG_LEVEL` | info | pino level |
 */
import { join } from 'node:path';
import { ConfigError } from './errors.ts';

/** Validated configuration. */
export interface BrokerConfig {
  wsPort: number;
  mqttPort: number;
  host: string;
  redisUrl: string | null;
  dataDir: string;
  storeFile: string;
  jwtPublicKeyFile: string;
  jwtIssuer: string;
  jwtAudience: string;
  tls: { certFile: string; keyFile: string } | null;
  policyFile: string | null;
  passwordFile: string | null;
  allowAnonymous: boolean;
  brokerId: string | null;
  maxPacketBytes: number;
  maxConnectBytes: number;
  publishRatePerSec: number;
  publishBurst: number;
  maxConnectionsPerIp: number;
  keepaliveMaxSec: number;
  presence: boolean;
  /** Separate `/metrics` listener; 0 = off. */
  metricsPort: number;
  /** Bearer token that `/metrics` requires (and that lets it be served on `wsPort`); null = none. */
  metricsToken: string | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw))
    throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Read and validate the configuration from `env` (defaults to `process.env`). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  const dataDir = env.DATA_DIR || './data';
  const redisUrl = env.REDIS_URL || null;
  if (redisUrl !== null && !/^rediss?:\/\//.test(redisUrl))
    throw new ConfigError('REDIS_URL must start with redis://');
  const cert = env.TLS_CERT_FILE || null;
  const key = env.TLS_KEY_FILE || null;
  if ((cert === null) !== (key === null))
    throw new ConfigError('TLS_CERT_FILE and TLS_KEY_FILE go together');
  const level = env.LOG_LEVEL || 'info';
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  if (!(levels as readonly string[]).includes(level))
    throw new ConfigError(`LOG_LEVEL must be one of ${levels.join(', ')}`);
  const presence = env.PRESENCE ?? 'on';
  if (presence !== 'on' && presence !== 'off') throw new ConfigError('PRESENCE must be on or off');
  const brokerId = env.BROKER_ID || null;
  if (brokerId !== null && !/^[A-Za-z0-9_-]{1,64}$/.test(brokerId))
    throw new ConfigError('BROKER_ID must match [A-Za-z0-9_-]{1,64}');
  const allowAnonymous = env.ALLOW_ANONYMOUS || 'false';
  if (allowAnonymous !== 'true' && allowAnonymous !== 'false')
    throw new ConfigError('ALLOW_ANONYMOUS must be true or false');
  const policyFile = env.POLICY_FILE || null;
  const passwordFile = env.PASSWORD_FILE || null;
  if ((passwordFile !== null || allowAnonymous === 'true') && policyFile === null)
    throw new ConfigError('PASSWORD_FILE and ALLOW_ANONYMOUS open the namespaces of a POLICY_FILE');
  const metricsToken = env.METRICS_TOKEN || null;
  if (metricsToken !== null && !/^[\x21-\x7e]{16,256}$/.test(metricsToken))
    throw new ConfigError('METRICS_TOKEN must be 16 to 256 printable characters without spaces');
  return {
    wsPort: int(env, 'PORT', 8083, 0, 65535),
    metricsPort: int(env, 'METRICS_PORT', 0, 0, 65535),
    metricsToken,
    mqttPort: int(env, 'MQTT_PORT', 1883, 0, 65535),
    host: env.HOST || '0.0.0.0',
    redisUrl,
    dataDir,
    storeFile: env.STORE_FILE || join(dataDir, 'keyserver.db'),
    jwtPublicKeyFile: env.JWT_PUBLIC_KEY_FILE || join(dataDir, 'jwt-public.pem'),
    jwtIssuer: env.JWT_ISSUER || 'sotto',
    jwtAudience: env.JWT_AUDIENCE || 'sotto',
    tls: cert && key ? { certFile: cert, keyFile: key } : null,
    policyFile,
    passwordFile,
    allowAnonymous: allowAnonymous === 'true',
    brokerId,
    maxPacketBytes: int(env, 'MAX_PACKET_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
    maxConnectBytes: int(env, 'MAX_CONNECT_BYTES', 16 * 1024, 512, 1024 * 1024),
    publishRatePerSec: int(env, 'PUBLISH_RATE', 200, 1, 1_000_000),
    publishBurst: int(env, 'PUBLISH_BURST', 400, 1, 1_000_000),
    maxConnectionsPerIp: int(env, 'MAX_CONNECTIONS_PER_IP', 1000, 0, 10_000_000),
    keepaliveMaxSec: int(env, 'KEEPALIVE_MAX', 300, 10, 65535),
    presence: presence === 'on',
    logLevel: level as BrokerConfig['logLevel'],
  };
}
