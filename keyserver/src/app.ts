/**
 * `buildApp(opts)`: the key server as a Fastify instance with every
 * dependency injected (store, ACL event bus, signing key, control publisher,
 * blob folder, config). It never listens — `server.ts` does (Fastify's testing
 * guide) — and it does not own the injected store or bus: the caller closes them.
 */
import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
  type onRequestAsyncHookHandler,
} from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { controlTopic, encodeControlNotice, ready } from '@sotto/crypto';
import { resolveAppConfig, type AppConfig, type DeepPartial } from './config.ts';
import type { ControlPublisher, Ctx, LimitedRoute } from './context.ts';
import {
  ApiError,
  apiError,
  ERRORS,
  errorSchema,
  rateLimited,
  type ApiErrorCode,
} from './errors.ts';
import { createAuthCache } from './auth-cache.ts';
import { createKeyLog } from './keylog.ts';
import { createMfaSecrets, MFA_KEY_BYTES } from './mfa.ts';
import { createLoginThrottle } from './login-throttle.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { metricsAuthorized } from '@sotto/server-core/metrics-listener';
import { createPasswordHasher } from './passwords.ts';
import { createCountLimiter, nodeRedisRateLimitStore } from './ratelimit-store.ts';
import { createModeration, createOperatorAccount } from './moderation.ts';
import { accountRoutes, bannedMessage } from './routes/accounts.ts';
import { adminRoutes } from './routes/admin.ts';
import { blobRoutes } from './routes/blobs.ts';
import { deviceRoutes } from './routes/devices.ts';
import { mfaRoutes } from './routes/mfa.ts';
import { PASSKEY_CHALLENGE_TTL_MS, passkeyRoutes } from './routes/passkeys.ts';
import { callRoutes } from './routes/calls.ts';
import { pushRoutes } from './routes/push.ts';
import { createPushSender, defaultPushSubject, generateVapidKeys, type VapidKeys } from './push.ts';
import { guestRoutes } from './routes/guests.ts';
import { discoveryRoutes } from './routes/discovery.ts';
import { groupRoutes } from './routes/groups.ts';
import { roomRoutes } from './routes/rooms.ts';
import { keyRoutes, REAUTH_MAX_AGE_S } from './routes/keys.ts';
import { logRoutes } from './routes/log.ts';
import { safetyRoutes } from './routes/safety.ts';
import { settingsRoutes } from './routes/settings.ts';
import { thingRoutes } from './routes/things.ts';
import { newRefreshToken, refreshTokenHash } from './sessions.ts';
import type { AclEvents, RedisClient, Store, WakeBus } from '@sotto/server-core/store';
import {
  createTokenIssuer,
  createTokenVerifier,
  TokenError,
  type KeyInput,
} from '@sotto/server-core/tokens';

/** Everything `buildApp` needs. */
export interface BuildAppOptions {
  /** Accounts, keys, groups, things, blobs metadata, ACL data (SQLite or Redis). */
  store: Store;
  /** ACL change bus the brokers listen to. */
  aclEvents: AclEvents;
  /** Ed25519 private key (KeyObject or PEM): signs access tokens and key-log tree heads. */
  signingKey: KeyInput;
  /**
   * The 32-byte MFA key (`loadOrCreateMfaKey`): seals TOTP secrets, keys recovery-code hashes and
   * signs challenge tokens. Kept apart from the store; every key server of a cluster needs the
   * same. Without it a random key lives as long as this app (tests and tools only: TOTP
   * enrolments would not survive a restart).
   */
  mfaKey?: Uint8Array;
  /** Delivers control notices on `sotto/v1/control/{user}/{device}`; notices are skipped without it. */
  publisher?: ControlPublisher;
  /** Folder for blob files (`{dataDir}/blobs` in embedded mode). */
  blobDir: string;
  /**
   * VAPID key pair for Web Push (`loadOrCreateVapidKeys`); every key server of a cluster needs
   * the same. Without it a random pair lives as long as this app (tests and tools only).
   */
  vapidKeys?: VapidKeys;
  /** Wake-ups from the brokers (`createMemoryWakeBus` / `createRedisWakeBus`): each may send a push. */
  wakes?: Pick<WakeBus, 'subscribe'>;
  /** Overrides of the defaults in {@link AppConfig}. */
  config?: DeepPartial<AppConfig>;
  /** Redis client for shared rate-limit counters (cluster mode); in-memory counters otherwise. */
  redis?: RedisClient;
  /** Prefix of rate-limit keys in Redis (default `sotto:rl:`). */
  redisPrefix?: string;
  /** Fastify logger option (default off). */
  logger?: FastifyServerOptions['logger'];
  /** Also collect Node process metrics (default false; the standalone server turns it on). */
  processMetrics?: boolean;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** The Fastify instance `buildApp` returns, with a few extras for embedding and tests. */
export type KeyServerApp = FastifyInstance & {
  /** Public half of the signing key (PEM) — what brokers verify tokens with. */
  tokenPublicKeyPem: string;
  /** The resolved configuration. */
  appConfig: AppConfig;
  /** The metrics registry. */
  metrics: Metrics;
  /**
   * Give `username` the operator role, creating the account when needed (`--create-operator`);
   * resolves with the generated password of a new account, `null` for an existing one.
   */
  createOperator(username: string): Promise<string | null>;
};

const STATUS_CODES: Partial<Record<number, ApiErrorCode>> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** Map any error to the API's `{ error, message }` and a status; unknown errors are 500. */
function toApiError(err: FastifyError | ApiError | Error): {
  status: number;
  code: ApiErrorCode;
  message: string;
} {
  if (err instanceof ApiError)
    return { status: err.statusCode, code: err.code, message: err.message };
  const fe = err as FastifyError;
  if (fe.validation) return { status: 400, code: 'VALIDATION_FAILED', message: err.message };
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: ERRORS.PAYLOAD_TOO_LARGE.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'VALIDATION_FAILED', message: err.message };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, code: 'MALFORMED_JSON', message: ERRORS.MALFORMED_JSON.message };
  }
  const status = fe.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (err instanceof SyntaxError)
      return { status: 400, code: 'MALFORMED_JSON', message: ERRORS.MALFORMED_JSON.message };
    const code = STATUS_CODES[status] ?? 'VALIDATION_FAILED';
    return { status: ERRORS[code].status === status ? status : 400, code, message: err.message };
  }
  return { status: 500, code: 'INTERNAL', message: ERRORS.INTERNAL.message };
}

/** Build the key server. Awaits libsodium and the dummy password hash; does not listen. */
export async function buildApp(opts: BuildAppOptions): Promise<KeyServerApp> {
  await ready();
  const config = resolveAppConfig(opts.config);
  const now = opts.now ?? Date.now;
  const { store, aclEvents } = opts;
  const signingKey: KeyObject =
    typeof opts.signingKey === 'string' || Buffer.isBuffer(opts.signingKey)
      ? (await import('node:crypto')).createPrivateKey(opts.signingKey)
      : opts.signingKey;
  const issuer = createTokenIssuer({
    privateKey: signingKey,
    issuer: config.publicUrl,
    audience: config.tokenAudience,
    ttlSeconds: config.accessTokenTtl,
    now,
  });
  const verifier = createTokenVerifier({
    publicKey: issuer.publicKeyPem,
    issuer: config.publicUrl,
    audience: config.tokenAudience,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const passwords = await createPasswordHasher(config.argon2);
  const metrics = createMetrics({ defaults: opts.processMetrics ?? false });
  const keyLog = createKeyLog({ store, signingKey, now });
  mkdirSync(opts.blobDir, { recursive: true });

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: config.bodyLimit,
    // Refuse unknown properties instead of silently dropping them (DESIGN.md §4.1).
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false,
      },
    },
    genReqId: () => randomUUID(),
    // req.ip is the X-Forwarded-For client only when the peer is a configured proxy; from anyone
    // else the header is ignored, so it cannot dodge the per-IP limits (docs/OPERATIONS.md).
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
  });
  app.decorateRequest('auth', null);

  // Tokens that passed every check, dropped by the revocation events (this process's at
  // once, the bus's as they arrive); null when the bus cannot keep it correct — see auth-cache.ts.
  const authCache = createAuthCache({ events: aclEvents });

  const authenticate: onRequestAsyncHookHandler = async (req) => {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !/^Bearer [^\s]+$/i.test(header.trim())) {
      throw apiError('UNAUTHORIZED', 'send Authorization: Bearer <access token>');
    }
    const token = header.trim().slice(7);
    const cached = authCache?.get(token, now());
    if (cached) {
      req.auth = cached;
      return;
    }
    const epoch = authCache?.epoch() ?? 0;
    let c;
    try {
      c = verifier.verify(token);
    } catch (err) {
      if (err instanceof TokenError && err.code === 'TOKEN_EXPIRED')
        throw apiError('TOKEN_EXPIRED');
      throw apiError('UNAUTHORIZED', 'invalid access token', err);
    }
    if (c.kind !== 'user' && c.kind !== 'bot') throw apiError('UNAUTHORIZED', 'not a user token');
    if (!(await store.isTokenUsable(c.jti, c.sub, c.dev)))
      throw apiError('UNAUTHORIZED', 'token revoked');
    authCache?.put(token, c, epoch, now());
    req.auth = c;
  };

  const limits = config.rateLimit;
  const claimLimiter = createCountLimiter({
    max: limits.bundle,
    windowMs: limits.windowMs,
    now,
    prefix: `${opts.redisPrefix ?? 'sotto:rl:'}claims:`,
    ...(opts.redis ? { redis: opts.redis } : {}),
  });
  const passwordLimiter = createCountLimiter({
    max: limits.login,
    windowMs: limits.windowMs,
    now,
    prefix: `${opts.redisPrefix ?? 'sotto:rl:'}password:`,
    ...(opts.redis ? { redis: opts.redis } : {}),
  });
  const mfaLimiter = createCountLimiter({
    max: config.mfaAttempts,
    windowMs: config.mfaWindowMs,
    now,
    prefix: `${opts.redisPrefix ?? 'sotto:rl:'}mfa:`,
    ...(opts.redis ? { redis: opts.redis } : {}),
  });
  const spentChallenges = createCountLimiter({
    max: 1,
    windowMs: PASSKEY_CHALLENGE_TTL_MS,
    now,
    prefix: `${opts.redisPrefix ?? 'sotto:rl:'}challenge:`,
    ...(opts.redis ? { redis: opts.redis } : {}),
  });
  const loginThrottle = createLoginThrottle({
    freeFailures: limits.loginFreeFailures,
    baseMs: limits.loginBackoffMs,
    maxMs: limits.loginBackoffMaxMs,
    now,
    prefix: `${opts.redisPrefix ?? 'sotto:rl:'}login-user:`,
    ...(opts.redis ? { redis: opts.redis } : {}),
  });
  const ctx: Ctx = {
    store,
    events: aclEvents,
    issuer,
    verifier,
    passwords,
    metrics,
    config,
    keyLog,
    blobDir: opts.blobDir,
    mfa: createMfaSecrets(opts.mfaKey ?? new Uint8Array(randomBytes(MFA_KEY_BYTES))),
    log: app.log,
    now,
    authenticate,
    rateLimit(kind: LimitedRoute) {
      if (!limits.enabled) return {};
      const max = limits[kind];
      if (kind === 'bundle' || kind === 'lookup') {
        // Per device for claims, per account for lookups (more devices buy no more lookups).
        return {
          rateLimit: {
            max,
            timeWindow: limits.windowMs,
            hook: 'preHandler',
            keyGenerator: (req: { auth: { sub: string; dev: string } | null; ip: string }) =>
              req.auth
                ? kind === 'bundle'
                  ? `${req.auth.sub}:${req.auth.dev}`
                  : req.auth.sub
                : req.ip,
          },
        };
      }
      return { rateLimit: { max, timeWindow: limits.windowMs } };
    },
    takeClaims(caller, n) {
      if (!limits.enabled) return Promise.resolve({ ok: true, retryInMs: 0 });
      return claimLimiter.take(caller, n);
    },
    takePasswordAttempt(key) {
      if (!limits.enabled) return Promise.resolve({ ok: true, retryInMs: 0 });
      return passwordLimiter.take(key, 1);
    },
    async checkPassword(username, passwordHash, password) {
      if (limits.enabled) {
        const turn = await loginThrottle.attempt(username);
        if (!turn.ok) throw rateLimited('too many failed logins for this username', turn.retryInMs);
      }
      // Argon2 on libuv's thread pool; a missing account still costs one hash (passwords.ts).
      const ok = await passwords.verify(passwordHash, password);
      if (ok && limits.enabled) await loginThrottle.succeeded(username);
      return ok;
    },
    async issueSession(username, deviceId, { familyId, authTime } = {}) {
      const [device, guest] = await Promise.all([
        store.getDevice(username, deviceId),
        store.guestState(username),
      ]);
      const kind = device?.kind === 'bot' || device?.kind === 'bridge' ? 'bot' : 'user';
      const t = issuer.issue({
        sub: username,
        dev: deviceId,
        kind,
        authTime,
        guest: guest === 'active',
      });
      await store.recordAccessToken({ jti: t.jti, username, deviceId, expiresAt: t.expiresAt });
      const refreshToken = newRefreshToken();
      await store.putRefreshToken({
        tokenHash: refreshTokenHash(refreshToken),
        familyId: familyId ?? randomUUID(),
        username,
        deviceId,
        expiresAt: now() + config.refreshTokenTtl * 1000,
        ...(authTime === undefined ? {} : { authTime }),
      });
      return { accessToken: t.token, refreshToken, deviceId, expiresIn: config.accessTokenTtl };
    },
    async startSession(username, device) {
      // Every way in (password, second factor, passkey) ends here: a banned account gets no session.
      const ban = await store.getBan(username);
      if (ban) throw apiError('ACCOUNT_BANNED', bannedMessage(ban.reason));
      await store.activateDevice(username, device.deviceId, {
        name: device.name,
        platform: device.platform,
        at: now(),
      });
      return ctx.issueSession(username, device.deviceId, { authTime: Math.floor(now() / 1000) });
    },
    async takeMfaAttempt(username) {
      const turn = await mfaLimiter.take(username, 1);
      if (!turn.ok)
        throw rateLimited('too many two-factor attempts for this account', turn.retryInMs);
    },
    requireRecentAuth(c) {
      const age = Math.floor(now() / 1000) - (c.auth_time ?? Number.NEGATIVE_INFINITY);
      if (!(age <= REAUTH_MAX_AGE_S)) throw apiError('REAUTH_REQUIRED');
    },
    async spendChallenge(challenge) {
      return (await spentChallenges.take(challenge, 1)).ok;
    },
    async revokeDevice(username, deviceId) {
      const revoked = await store.revokeDeviceTokens(username, deviceId);
      await store.deactivateDevice(username, deviceId);
      await store.deletePushSubscription(username, deviceId);
      for (const t of revoked) {
        await ctx.publishEvent({ type: 'token-revoked', jti: t.jti, username, deviceId });
      }
      await ctx.publishEvent({ type: 'device-revoked', username, deviceId });
    },
    async publishEvent(event) {
      // The revoking key server refuses the token on its very next request, whatever the bus's delay.
      authCache?.apply(event);
      try {
        await aclEvents.publish(event);
      } catch (err) {
        app.log.error({ err, event }, 'could not publish ACL event');
      }
    },
    async notifyDevices(devices, notice) {
      if (!opts.publisher) return;
      const payload = encodeControlNotice(notice);
      for (const d of devices) {
        try {
          await opts.publisher.publish(controlTopic(d.username, d.deviceId), payload);
        } catch (err) {
          app.log.warn({ err, device: d }, 'could not deliver control notice');
        }
      }
    },
    async notify(users, notice) {
      if (!opts.publisher) return;
      const devices: { username: string; deviceId: string }[] = [];
      for (const u of users) {
        for (const d of await store.listDevices(u)) {
          if (d.active) devices.push({ username: u, deviceId: d.deviceId });
        }
      }
      await ctx.notifyDevices(devices, notice);
    },
  };

  if (authCache)
    app.addHook('onClose', (_instance, done) => {
      authCache.close();
      done();
    });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, code, message } = toApiError(err);
    if (err instanceof ApiError && err.retryAfter !== undefined)
      void reply.header('retry-after', String(err.retryAfter));
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.debug({ code, message }, 'request refused');
    return reply.code(status).send({ error: code, message });
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ error: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message }),
  );

  // Every answer: never sniffed into another type by a browser, never stored by a cache unless
  // the route chose its own policy (the public discovery document does; static files in
  // embedded mode get theirs from @fastify/static). docs/SECURITY.md "HTTP headers".
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.latency.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Sotto key server',
        version: '1',
        description:
          'Accounts, device keys, groups, things, blobs and key transparency (DESIGN.md §4.1).',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (EdDSA)' },
        },
        schemas: { Error: errorSchema as unknown as Record<string, unknown> },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  if (limits.enabled) {
    await app.register(rateLimit, {
      global: false,
      ...(opts.redis
        ? { store: nodeRedisRateLimitStore(opts.redis, opts.redisPrefix ?? 'sotto:rl:') }
        : {}),
      errorResponseBuilder: (_req, context) =>
        apiError('RATE_LIMITED', `too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`),
    });
  }

  app.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness and store reachability',
        response: {
          200: {
            type: 'object',
            required: ['status'],
            additionalProperties: false,
            properties: { status: { type: 'string' } },
          },
          503: errorSchema,
        },
      },
    },
    async (_req, reply) => {
      try {
        await store.ping();
      } catch (err) {
        throw apiError('UNAVAILABLE', 'store unreachable', err);
      }
      return reply.send({ status: 'ok' });
    },
  );
  // Not on the public port unless a token guards it (metrics-listener.ts says why).
  const metricsToken = config.metricsToken;
  if (metricsToken !== null)
    app.get(
      '/metrics',
      {
        schema: {
          tags: ['ops'],
          summary: 'Prometheus metrics (Authorization: Bearer <metrics token>)',
          security: [{ bearerAuth: [] }],
          response: {
            200: {
              description: 'Prometheus text format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            401: errorSchema,
          },
        },
      },
      async (req, reply) => {
        if (!metricsAuthorized(req.headers.authorization, metricsToken))
          throw apiError('UNAUTHORIZED', 'send Authorization: Bearer <metrics token>');
        const text = await metrics.registry.metrics();
        return reply.type(metrics.registry.contentType).send(text);
      },
    );

  accountRoutes(app, ctx);
  keyRoutes(app, ctx);
  groupRoutes(app, ctx);
  roomRoutes(app, ctx);
  thingRoutes(app, ctx);
  blobRoutes(app, ctx);
  logRoutes(app, ctx);
  settingsRoutes(app, ctx);
  discoveryRoutes(app, ctx);
  mfaRoutes(app, ctx);
  passkeyRoutes(app, ctx);
  deviceRoutes(app, ctx);
  safetyRoutes(app, ctx);
  adminRoutes(app, ctx, createModeration(ctx));
  callRoutes(app, ctx);
  const push = createPushSender({
    store,
    vapid: opts.vapidKeys ?? generateVapidKeys(),
    subject: config.pushSubject ?? defaultPushSubject(config.publicUrl),
    intervalMs: config.pushIntervalMs,
    allowPrivateEndpoints: config.pushAllowPrivateEndpoints,
    onOutcome: (outcome, event, detail) => {
      metrics.pushes.inc({ outcome });
      const level = outcome === 'failed' || outcome === 'refused' ? 'warn' : 'debug';
      app.log[level]({ outcome, deviceId: event.deviceId, detail }, 'wake-up push');
    },
  });
  pushRoutes(app, ctx, push);
  const unsubscribeWakes = opts.wakes?.subscribe((event) => void push.wake(event));
  if (unsubscribeWakes)
    app.addHook('onClose', (_instance, done) => {
      unsubscribeWakes();
      done();
    });
  guestRoutes(app, ctx);

  // A Fastify instance is a thenable, so TypeScript checks the *awaited* type of
  // the return value (a plain FastifyInstance) and loses the extras; the object
  // the caller gets is this very instance, extras included.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- see above: tsc needs it
  return Object.assign(app, {
    tokenPublicKeyPem: issuer.publicKeyPem,
    appConfig: config,
    metrics,
    createOperator: (username: string) =>
      createOperatorAccount(
        { ...ctx, hashPassword: (pw: string) => passwords.hash(pw) },
        username,
        // hex, not base64url: a password that starts with "-" reads as an option when pasted
        // after `sotto login NAME --password` (CI found it, 1 run in ~40)
        () => randomBytes(16).toString('hex'),
      ),
  }) as unknown as KeyServerApp;
}
