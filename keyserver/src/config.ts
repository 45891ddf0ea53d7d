/**
 * Key-server configuration: the only module that reads `process.env`.
 * Options come from command-line flags (`--port 8080`) or environment
 * variables (`PORT=8080`), flags winning; the result is validated once at
 * start against a JSON schema with `additionalProperties: false`, so a typo
 * or a bad value stops the process with a clear message.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { Ajv } from 'ajv';
import { USERNAME_PATTERN } from '@sotto/crypto';

/** Argon2id cost parameters (see `passwords.ts`). */
export interface Argon2Params {
  /** KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/**
 * Rate limits: requests per `windowMs` per client key, plus the per-username login backoff
 * (docs/SECURITY.md "Password guessing"). The client IP is the socket's peer, or the
 * `X-Forwarded-For` client when the peer is one of {@link AppConfig.trustedProxies}.
 */
export interface RateLimitConfig {
  enabled: boolean;
  windowMs: number;
  /** Sign-ups per IP. */
  signup: number;
  /** Login (and password-change) attempts per IP. */
  login: number;
  /** Bundle claims per authenticated device. */
  bundle: number;
  /** `GET /v1/users/:username` lookups per calling account. */
  lookup: number;
  /** Guest accounts made per IP (`POST /v1/guests`; tighter than sign-ups by default). */
  guest: number;
  /**
   * Per username, whatever the IP: failed attempts in a row after which the backoff starts.
   * Every attempt counts until it succeeds; a success forgets the count.
   */
  loginFreeFailures: number;
  /** First wait after the free failures, ms; it doubles with each further failure. */
  loginBackoffMs: number;
  /** Longest wait, ms; a username's count is forgotten this long after its last wait ends. */
  loginBackoffMaxMs: number;
}

/**
 * Drain protection for one-time prekeys (issue 14; docs/SECURITY.md "One-time prekey
 * draining"): a per-claimant cap, and a notice to a device whose supply runs low.
 */
export interface PrekeyClaimsConfig {
  /** One-time prekeys one account may take from one device per window (beyond: bundle without). */
  perClaimant: number;
  /** The cap's window, ms (default 24 h). */
  windowMs: number;
  /**
   * A claim that takes a one-time prekey and leaves the device fewer than this of either kind
   * notifies it (`prekeys-low`); 0 = never.
   */
  lowWater: number;
  /** At most one `prekeys-low` notice per device per this many ms. */
  noticeIntervalMs: number;
}

/** What `buildApp` needs (every field has a default). */
export interface AppConfig {
  /** Public base URL; also the tokens' `iss`. */
  publicUrl: string;
  /** `aud` of access tokens (brokers check it). */
  tokenAudience: string;
  /** Access-token lifetime, seconds (default 900). */
  accessTokenTtl: number;
  /** Refresh-token lifetime, seconds (default 30 days). */
  refreshTokenTtl: number;
  /** Blob size cap, bytes (default 100 MiB). */
  blobMaxBytes: number;
  /** JSON body limit, bytes (default 1 MiB). */
  bodyLimit: number;
  rateLimit: RateLimitConfig;
  argon2: Argon2Params;
  /** Most one-time prekeys of each kind kept per device (oldest dropped beyond). */
  prekeyCap: number;
  /** Most one-time prekeys of each kind in one upload. */
  prekeysPerUpload: number;
  prekeyClaims: PrekeyClaimsConfig;
  /**
   * MQTT over WebSocket URL that clients are told by `GET /.well-known/sotto` (docs/API.md
   * "Discovery"); `null` = `publicUrl` with scheme `ws`/`wss` and path `/mqtt` (where embedded mode
   * and the docker-compose proxy serve it).
   */
  mqttWsUrl: string | null;
  /** MQTT over TCP URL that clients are told (`mqtt://host:1883`); `null` = none advertised. */
  mqttTcpUrl: string | null;
  /**
   * Proxies whose `X-Forwarded-For` is believed (IPs, CIDRs, or `loopback`, `linklocal`,
   * `uniquelocal`); empty = the socket peer is the client. Fastify's `trustProxy`.
   */
  trustedProxies: string[];
  /**
   * Bearer token that opens `/metrics` on the public port; `null` = `/metrics` is not served
   * there (only on the separate metrics listener, {@link KeyServerConfig.metricsPort}).
   */
  metricsToken: string | null;
  /**
   * Second-factor attempts (TOTP or recovery code) per account per {@link mfaWindowMs}, whatever
   * the IP and whether or not the other rate limits are on (docs/SECURITY.md "Two-factor").
   */
  mfaAttempts: number;
  /** Window of {@link mfaAttempts}, ms. */
  mfaWindowMs: number;
  /** Whether `POST /v1/guests` makes guest accounts (docs/API.md "Guests"). */
  guests: boolean;
  /**
   * A guest account with no login or token refresh for this long (ms, default 24 h) expires:
   * its devices are signed out for good and its keys unpublished.
   */
  guestIdleMs: number;
  /**
   * ICE servers the web client's calls use (docs/OPERATIONS.md "Calls"), served in the discovery
   * document; `ICE_SERVERS` / `--ice-servers` as JSON (RTCIceServer objects). Empty: host
   * candidates only (same network / loopback).
   */
  iceServers: IceServerConfig[];
  /**
   * Shared secret with a TURN server (coturn `use-auth-secret` / `static-auth-secret`): the key
   * server issues time-limited TURN credentials from it (`POST /v1/calls/turn`). `null`: no TURN.
   */
  turnSecret: string | null;
  /** `turn:`/`turns:` URLs those credentials are for. */
  turnUrls: string[];
  /** Lifetime of issued TURN credentials, seconds (default 3600). */
  turnTtl: number;
  /**
   * VAPID `sub` claim (RFC 8292): a `mailto:` or `https:` contact for push services; `null` = the
   * public URL when it is https, else `mailto:admin@{its host}` (docs/OPERATIONS.md "Web Push").
   */
  pushSubject: string | null;
  /** At most one wake-up push per device per this many ms (default 30,000). */
  pushIntervalMs: number;
  /**
   * TESTS ONLY: accept push endpoints on loopback, private and link-local addresses and over
   * plain http (a local push receiver). Off in production: an endpoint is a URL the key server
   * fetches, so it must not reach the server's own network (SSRF, docs/SECURITY.md "Web Push").
   */
  pushAllowPrivateEndpoints: boolean;
}

/** One ICE server as a browser's RTCPeerConnection takes it. */
export interface IceServerConfig {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** The whole process configuration (`server.ts`). */
export interface KeyServerConfig extends AppConfig {
  host: string;
  port: number;
  /** SQLite file, blobs and the generated signing key live here. */
  dataDir: string;
  /**
   * Folder of the encrypted attachment files; default `{dataDir}/blobs`. Key servers of one
   * cluster share it (a file uploaded through one is downloaded through another).
   */
  blobDir: string | null;
  /** Cluster mode when set: Redis store, Redis ACL events, Redis rate limits. */
  redisUrl: string | null;
  /** Prefix of every Redis key. */
  redisPrefix: string;
  /** PEM file with the Ed25519 signing key; default `{dataDir}/jwt-ed25519.pem`, generated on first start. */
  jwtKeyFile: string | null;
  /**
   * File with the key that seals TOTP secrets and keys recovery-code hashes; default
   * `{dataDir}/mfa.key`, generated on first start. Every key server of a cluster needs the same one.
   */
  mfaKeyFile: string | null;
  /**
   * File with the VAPID key pair (RFC 8292) the key server signs pushes with; default
   * `{dataDir}/vapid.json`, generated on first start (0600). Every key server of a cluster needs
   * the same one: browsers bind a subscription to its public key.
   */
  vapidKeyFile: string | null;
  /** MQTT URL of a broker for control notices in standalone mode (`mqtt://127.0.0.1:1883`). */
  brokerUrl: string | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Port of a separate listener serving only `/metrics` (on `host`); 0 = none. */
  metricsPort: number;
  /** Start even when the data dir or a secret file is open to group or others (files.ts). */
  insecurePermissions: boolean;
  /**
   * `--create-operator NAME`: at start, give NAME the operator role, creating the account with
   * a generated password (printed once) when it does not exist (docs/OPERATIONS.md "Moderation").
   */
  createOperator: string | null;
}

/** Production Argon2id parameters: OWASP's m=19 MiB, t=2, p=1. */
export const DEFAULT_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Defaults of {@link AppConfig}. */
export function defaultAppConfig(): AppConfig {
  return {
    publicUrl: 'http://localhost:8080',
    tokenAudience: 'sotto',
    accessTokenTtl: 900,
    refreshTokenTtl: 30 * 24 * 3600,
    blobMaxBytes: 100 * 1024 * 1024,
    bodyLimit: 1024 * 1024,
    rateLimit: {
      enabled: true,
      windowMs: 60_000,
      signup: 10,
      login: 20,
      bundle: 300,
      lookup: 1000,
      guest: 5,
      loginFreeFailures: 5,
      loginBackoffMs: 1000,
      loginBackoffMaxMs: 15 * 60_000,
    },
    argon2: { ...DEFAULT_ARGON2 },
    prekeyCap: 500,
    prekeysPerUpload: 200,
    prekeyClaims: {
      perClaimant: 5,
      windowMs: 24 * 3600 * 1000,
      lowWater: 5,
      noticeIntervalMs: 5 * 60_000,
    },
    mqttWsUrl: null,
    mqttTcpUrl: null,
    trustedProxies: [],
    metricsToken: null,
    mfaAttempts: 5,
    mfaWindowMs: 5 * 60_000,
    guests: true,
    guestIdleMs: 24 * 3600 * 1000,
    iceServers: [],
    turnSecret: null,
    turnUrls: [],
    turnTtl: 3600,
    pushSubject: null,
    pushIntervalMs: 30_000,
    pushAllowPrivateEndpoints: false,
  };
}

/** Merge a partial config (tests, embedding) over the defaults. */
export function resolveAppConfig(partial: DeepPartial<AppConfig> = {}): AppConfig {
  const d = defaultAppConfig();
  return {
    ...d,
    ...stripUndefined(partial),
    rateLimit: { ...d.rateLimit, ...stripUndefined(partial.rateLimit ?? {}) },
    argon2: { ...d.argon2, ...stripUndefined(partial.argon2 ?? {}) },
    prekeyClaims: { ...d.prekeyClaims, ...stripUndefined(partial.prekeyClaims ?? {}) },
  };
}

/** Every field optional, one level deep. */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[]
    ? T[K]
    : T[K] extends object
      ? Partial<T[K]>
      : T[K];
};

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => ({
  type: 'integer',
  minimum: min,
  maximum: max,
});

/** `stun:`, `stuns:`, `turn:` or `turns:` (RFC 7064, RFC 7065). */
const ICE_URL = '^(stuns?|turns?):[^\\s]+$';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'port', 'dataDir', 'publicUrl'],
  properties: {
    host: { type: 'string', minLength: 1 },
    port: int(0, 65535),
    dataDir: { type: 'string', minLength: 1 },
    blobDir: { type: ['string', 'null'], minLength: 1 },
    redisUrl: { type: ['string', 'null'], pattern: '^rediss?://' },
    redisPrefix: { type: 'string', pattern: '^[A-Za-z0-9_:.-]{1,64}$' },
    publicUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
    tokenAudience: { type: 'string', minLength: 1, maxLength: 200 },
    accessTokenTtl: int(30, 24 * 3600),
    refreshTokenTtl: int(60, 365 * 24 * 3600),
    blobMaxBytes: int(1, 16 * 1024 ** 3),
    bodyLimit: int(1024, 64 * 1024 * 1024),
    jwtKeyFile: { type: ['string', 'null'] },
    mfaKeyFile: { type: ['string', 'null'] },
    vapidKeyFile: { type: ['string', 'null'] },
    pushSubject: {
      type: ['string', 'null'],
      pattern: '^(mailto:[^\\s]+@[^\\s]+|https://[^\\s]+)$',
    },
    pushIntervalMs: int(1000, 24 * 3600 * 1000),
    pushAllowPrivateEndpoints: { type: 'boolean' },
    mfaAttempts: int(1, 1000),
    mfaWindowMs: int(1000, 24 * 3600 * 1000),
    guests: { type: 'boolean' },
    guestIdleMs: int(1000, 365 * 24 * 3600 * 1000),
    brokerUrl: { type: ['string', 'null'], pattern: '^(mqtts?|wss?)://' },
    mqttWsUrl: { type: ['string', 'null'], pattern: '^wss?://[^\\s]+$' },
    mqttTcpUrl: { type: ['string', 'null'], pattern: '^mqtts?://[^\\s]+$' },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    prekeyCap: int(1, 10_000),
    prekeysPerUpload: int(1, 1000),
    trustedProxies: { type: 'array', items: { type: 'string', minLength: 1 } },
    // Long enough not to be guessed; printable, so it fits an Authorization header.
    metricsToken: { type: ['string', 'null'], pattern: '^[\\x21-\\x7e]{16,256}$' },
    metricsPort: int(0, 65535),
    insecurePermissions: { type: 'boolean' },
    createOperator: { type: ['string', 'null'], pattern: USERNAME_PATTERN.source },
    iceServers: {
      type: 'array',
      maxItems: 8,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['urls'],
        properties: {
          urls: {
            anyOf: [
              { type: 'string', pattern: ICE_URL },
              {
                type: 'array',
                minItems: 1,
                maxItems: 8,
                items: { type: 'string', pattern: ICE_URL },
              },
            ],
          },
          username: { type: 'string', minLength: 1, maxLength: 256 },
          credential: { type: 'string', minLength: 1, maxLength: 256 },
        },
      },
    },
    // Long enough not to be guessed.
    turnSecret: { type: ['string', 'null'], pattern: '^[\\x21-\\x7e]{16,256}$' },
    turnUrls: {
      type: 'array',
      maxItems: 8,
      items: { type: 'string', pattern: '^turns?:[^\\s]+$' },
    },
    turnTtl: int(60, 24 * 3600),
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        windowMs: int(1000, 24 * 3600 * 1000),
        signup: int(1),
        login: int(1),
        bundle: int(1),
        lookup: int(1),
        guest: int(1),
        loginFreeFailures: int(1, 1000),
        loginBackoffMs: int(1, 24 * 3600 * 1000),
        loginBackoffMaxMs: int(1, 7 * 24 * 3600 * 1000),
      },
    },
    argon2: {
      type: 'object',
      additionalProperties: false,
      properties: {
        memoryCost: int(8, 4 * 1024 * 1024),
        timeCost: int(1, 100),
        parallelism: int(1, 16),
      },
    },
    prekeyClaims: {
      type: 'object',
      additionalProperties: false,
      properties: {
        perClaimant: int(1, 10_000),
        windowMs: int(60_000, 30 * 24 * 3600 * 1000),
        lowWater: int(0, 10_000),
        noticeIntervalMs: int(1000, 24 * 3600 * 1000),
      },
    },
  },
} as const;

/** Flags, their environment variable, and where they go in the config. */
const OPTIONS = {
  host: { env: 'HOST', path: ['host'] },
  port: { env: 'PORT', path: ['port'] },
  'data-dir': { env: 'DATA_DIR', path: ['dataDir'] },
  'blob-dir': { env: 'BLOB_DIR', path: ['blobDir'] },
  'redis-url': { env: 'REDIS_URL', path: ['redisUrl'] },
  'redis-prefix': { env: 'REDIS_PREFIX', path: ['redisPrefix'] },
  'public-url': { env: 'PUBLIC_URL', path: ['publicUrl'] },
  'token-audience': { env: 'TOKEN_AUDIENCE', path: ['tokenAudience'] },
  'access-token-ttl': { env: 'ACCESS_TOKEN_TTL', path: ['accessTokenTtl'] },
  'refresh-token-ttl': { env: 'REFRESH_TOKEN_TTL', path: ['refreshTokenTtl'] },
  'blob-max-bytes': { env: 'BLOB_MAX_BYTES', path: ['blobMaxBytes'] },
  'body-limit': { env: 'BODY_LIMIT', path: ['bodyLimit'] },
  'jwt-key-file': { env: 'JWT_KEY_FILE', path: ['jwtKeyFile'] },
  'mfa-key-file': { env: 'MFA_KEY_FILE', path: ['mfaKeyFile'] },
  'vapid-key-file': { env: 'VAPID_KEY_FILE', path: ['vapidKeyFile'] },
  'push-subject': { env: 'PUSH_SUBJECT', path: ['pushSubject'] },
  'push-interval-ms': { env: 'PUSH_INTERVAL_MS', path: ['pushIntervalMs'] },
  // A switch for tests (a local push receiver); never in production.
  'push-allow-private-endpoints': {
    env: 'PUSH_ALLOW_PRIVATE_ENDPOINTS',
    path: ['pushAllowPrivateEndpoints'],
  },
  'mfa-attempts': { env: 'MFA_ATTEMPTS', path: ['mfaAttempts'] },
  'mfa-window-ms': { env: 'MFA_WINDOW_MS', path: ['mfaWindowMs'] },
  guests: { env: 'GUESTS', path: ['guests'] },
  'guest-idle-ms': { env: 'GUEST_IDLE_MS', path: ['guestIdleMs'] },
  'broker-url': { env: 'BROKER_URL', path: ['brokerUrl'] },
  'mqtt-ws-url': { env: 'MQTT_WS_URL', path: ['mqttWsUrl'] },
  'mqtt-tcp-url': { env: 'MQTT_TCP_URL', path: ['mqttTcpUrl'] },
  'log-level': { env: 'LOG_LEVEL', path: ['logLevel'] },
  'prekey-cap': { env: 'PREKEY_CAP', path: ['prekeyCap'] },
  'prekeys-per-upload': { env: 'PREKEYS_PER_UPLOAD', path: ['prekeysPerUpload'] },
  'rate-limit': { env: 'RATE_LIMIT', path: ['rateLimit', 'enabled'] },
  'rate-limit-window-ms': { env: 'RATE_LIMIT_WINDOW_MS', path: ['rateLimit', 'windowMs'] },
  'rate-limit-signup': { env: 'RATE_LIMIT_SIGNUP', path: ['rateLimit', 'signup'] },
  'rate-limit-login': { env: 'RATE_LIMIT_LOGIN', path: ['rateLimit', 'login'] },
  'rate-limit-bundle': { env: 'RATE_LIMIT_BUNDLE', path: ['rateLimit', 'bundle'] },
  'rate-limit-lookup': { env: 'RATE_LIMIT_LOOKUP', path: ['rateLimit', 'lookup'] },
  'rate-limit-guest': { env: 'RATE_LIMIT_GUEST', path: ['rateLimit', 'guest'] },
  'login-free-failures': { env: 'LOGIN_FREE_FAILURES', path: ['rateLimit', 'loginFreeFailures'] },
  'login-backoff-ms': { env: 'LOGIN_BACKOFF_MS', path: ['rateLimit', 'loginBackoffMs'] },
  'login-backoff-max-ms': { env: 'LOGIN_BACKOFF_MAX_MS', path: ['rateLimit', 'loginBackoffMaxMs'] },
  'trusted-proxies': { env: 'TRUSTED_PROXIES', path: ['trustedProxies'] },
  'metrics-port': { env: 'METRICS_PORT', path: ['metricsPort'] },
  'metrics-token': { env: 'METRICS_TOKEN', path: ['metricsToken'] },
  // A switch: `--insecure-permissions` alone, or INSECURE_PERMISSIONS=1.
  'insecure-permissions': { env: 'INSECURE_PERMISSIONS', path: ['insecurePermissions'] },
  'create-operator': { env: 'CREATE_OPERATOR', path: ['createOperator'] },
  'ice-servers': { env: 'ICE_SERVERS', path: ['iceServers'] },
  'turn-secret': { env: 'TURN_SECRET', path: ['turnSecret'] },
  'turn-urls': { env: 'TURN_URLS', path: ['turnUrls'] },
  'turn-ttl': { env: 'TURN_TTL', path: ['turnTtl'] },
  'argon2-memory': { env: 'ARGON2_MEMORY_KIB', path: ['argon2', 'memoryCost'] },
  'argon2-time': { env: 'ARGON2_TIME', path: ['argon2', 'timeCost'] },
  'argon2-parallelism': { env: 'ARGON2_PARALLELISM', path: ['argon2', 'parallelism'] },
  'prekey-claims-per-claimant': {
    env: 'PREKEY_CLAIMS_PER_CLAIMANT',
    path: ['prekeyClaims', 'perClaimant'],
  },
  'prekey-claim-window-ms': { env: 'PREKEY_CLAIM_WINDOW_MS', path: ['prekeyClaims', 'windowMs'] },
  'prekey-low-water': { env: 'PREKEY_LOW_WATER', path: ['prekeyClaims', 'lowWater'] },
  'prekey-low-notice-ms': {
    env: 'PREKEY_LOW_NOTICE_MS',
    path: ['prekeyClaims', 'noticeIntervalMs'],
  },
} as const;

/** Flags that take no value. */
const SWITCHES: ReadonlySet<string> = new Set([
  'insecure-permissions',
  'push-allow-private-endpoints',
]);
/** Config leaves that are booleans (`0`, `false`, `off`, `no` = false). */
const BOOLEAN_LEAVES: ReadonlySet<string> = new Set([
  'enabled',
  'insecurePermissions',
  'pushAllowPrivateEndpoints',
  'guests',
]);

/** Config leaves given as comma- or space-separated lists. */
const LIST_LEAVES: ReadonlySet<string> = new Set(['trustedProxies', 'turnUrls']);

/** A JSON option's value; {@link ConfigError} naming the option when it is not JSON. */
function parseJson(v: string, what: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    throw new ConfigError(`invalid configuration: ${what} is not JSON`);
  }
}

/** Names `trustProxy` (proxy-addr) knows besides addresses. */
const PROXY_NAMES: ReadonlySet<string> = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Why a `TRUSTED_PROXIES` entry is not an IP, a CIDR or a known name; null when it is. */
export function proxyEntryProblem(entry: string): string | null {
  if (PROXY_NAMES.has(entry)) return null;
  const [addr = '', prefix, extra] = entry.split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) return `${JSON.stringify(entry)} is not an IP or CIDR`;
  if (prefix === undefined) return null;
  const bits = family === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= bits
    ? null
    : `${JSON.stringify(entry)} has a bad prefix length`;
}

/** Environment variable names the key server reads (documented in docs/OPERATIONS.md). */
export const ENV_NAMES: readonly string[] = Object.values(OPTIONS).map((o) => o.env);

/** A configuration that does not validate; the message lists every problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: false });
const validate = ajv.compile(schema);

/**
 * Build and validate the configuration from flags and environment.
 * Throws {@link ConfigError} on unknown flags or invalid values.
 */
export function loadConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): KeyServerConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.keys(OPTIONS).map((k) => [
          k,
          { type: SWITCHES.has(k) ? ('boolean' as const) : ('string' as const) },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    });
    values = parsed.values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const app = defaultAppConfig();
  const raw: Record<string, unknown> = {
    host: '0.0.0.0',
    port: 8080,
    dataDir: './data',
    blobDir: null,
    redisUrl: null,
    redisPrefix: 'sotto:',
    jwtKeyFile: null,
    mfaKeyFile: null,
    vapidKeyFile: null,
    brokerUrl: null,
    logLevel: 'info',
    metricsPort: 0,
    insecurePermissions: false,
    createOperator: null,
    ...app,
    rateLimit: { ...app.rateLimit },
    argon2: { ...app.argon2 },
    prekeyClaims: { ...app.prekeyClaims },
  };
  for (const [flag, { env: name, path }] of Object.entries(OPTIONS)) {
    const given = values[flag];
    const v = given === true ? 'true' : typeof given === 'string' ? given : env[name];
    if (v === undefined || v === '') continue;
    let target = raw;
    for (const p of path.slice(0, -1)) target = target[p] as Record<string, unknown>;
    const leaf = path[path.length - 1] as string;
    target[leaf] = BOOLEAN_LEAVES.has(leaf)
      ? !['0', 'false', 'off', 'no'].includes(v.toLowerCase())
      : LIST_LEAVES.has(leaf)
        ? v.split(/[\s,]+/).filter((x) => x !== '')
        : leaf === 'iceServers'
          ? parseJson(v, '--ice-servers / ICE_SERVERS')
          : v;
  }
  const problems = validate(raw)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  for (const p of (raw.trustedProxies as unknown[] | undefined) ?? []) {
    const problem = typeof p === 'string' ? proxyEntryProblem(p) : null;
    if (problem) problems.push(`/trustedProxies ${problem}`);
  }
  if (typeof raw.turnSecret === 'string' && (raw.turnUrls as unknown[]).length === 0)
    problems.push('/turnSecret needs turnUrls (--turn-urls / TURN_URLS)');
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return raw as unknown as KeyServerConfig;
}
