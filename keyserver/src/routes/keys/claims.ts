/**
 * Claiming prekey bundles (DESIGN.md §4.1): one device, or up to
 * {@link MAX_BATCH_CLAIM} devices in one request. Claims are capped per
 * (device, claiming account), with a `prekeys-low` notice to a device whose
 * supply runs low (issue 14, docs/SECURITY.md).
 */
import type { FastifyInstance } from 'fastify';
import { claims, type Ctx } from '../../context.ts';
import { apiError, rateLimited } from '../../errors.ts';
import { bearer, deviceId, emptyBody, errors, username } from '../../schemas.ts';
import type { ClaimedBundle } from '@sotto/server-core/store';
import { guestMayReach } from '../../guests.ts';
import type { AccessClaims } from '@sotto/server-core/tokens';

/** Most devices remembered for the `prekeys-low` throttle (oldest forgotten first). */
const MAX_NOTICE_THROTTLE = 100_000;

/** Devices one batched claim may name (a 500-device group takes five requests). */
export const MAX_BATCH_CLAIM = 100;

const bundleSchema = {
  type: 'object',
  required: ['certificate', 'signedPrekey', 'kemPrekey', 'oneTimePrekey'],
  additionalProperties: false,
  properties: {
    certificate: { type: 'string' },
    signedPrekey: { type: 'string' },
    kemPrekey: { type: 'string' },
    oneTimePrekey: { type: ['string', 'null'] },
  },
} as const;

/**
 * base64url without padding via Buffer — the same encoding as crypto's
 * `toBase64`, several times faster on the hot bundle-claim path.
 */
function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Register `POST /v1/users/:username/devices/:deviceId/bundle` and `POST /v1/bundles/claim`. */
export function claimRoutes(app: FastifyInstance, ctx: Ctx): void {
  const { store, config, metrics } = ctx;
  const { perClaimant, windowMs, lowWater, noticeIntervalMs } = config.prekeyClaims;

  /** [ACL-13] on the key server: a guest claims bundles only of users it shares a room with. */
  async function refuseUnreachable(c: AccessClaims, users: string[]): Promise<void> {
    for (const u of new Set(users)) {
      if (!(await guestMayReach(store, c, u)))
        throw apiError('GUEST_NOT_ALLOWED', `a guest reaches only members of its rooms, not ${u}`);
    }
  }

  /** Devices sent a `prekeys-low` notice, and when (insertion order = oldest first). */
  const lowNoticeAt = new Map<string, number>();

  /**
   * Claim a bundle under the claimant's quota and, when the claim left the device below the
   * low-water mark, tell the device (throttled per device). The notice is not awaited: a slow
   * broker must not hold up the claim, and notifyDevices logs its own failures.
   */
  async function claimBundle(
    claimant: string,
    username: string,
    deviceId: string,
  ): Promise<ClaimedBundle | null> {
    const b = await store.claimPrekeyBundle(username, deviceId, {
      claimant,
      max: perClaimant,
      windowMs,
    });
    if (!b) return b;
    const took = b.oneTimePrekey !== null || !b.kemLastResort;
    const remaining = Math.min(b.remaining.oneTimePrekeys, b.remaining.oneTimeKemPrekeys);
    if (took && remaining < lowWater) {
      const key = `${username}/${deviceId}`;
      const t = ctx.now();
      const last = lowNoticeAt.get(key);
      if (last === undefined || t - last >= noticeIntervalMs) {
        lowNoticeAt.delete(key);
        lowNoticeAt.set(key, t);
        if (lowNoticeAt.size > MAX_NOTICE_THROTTLE) {
          const oldest = lowNoticeAt.keys().next().value;
          if (oldest !== undefined) lowNoticeAt.delete(oldest);
        }
        void ctx.notifyDevices([{ username, deviceId }], { type: 'prekeys-low', remaining });
      }
    }
    return b;
  }

  app.post<{ Params: { username: string; deviceId: string } }>(
    '/v1/users/:username/devices/:deviceId/bundle',
    {
      onRequest: ctx.authenticate,
      config: ctx.rateLimit('bundle'),
      schema: {
        tags: ['keys'],
        summary: 'Claim a prekey bundle (consumes one one-time prekey of each kind)',
        description:
          'Each one-time prekey goes to exactly one caller. When one-time X-Wing prekeys run out the ' +
          'last-resort one is returned; when one-time X25519 prekeys run out `oneTimePrekey` is null. ' +
          'One calling account gets at most `prekeyClaims.perClaimant` one-time prekeys of one device ' +
          'per `prekeyClaims.windowMs` (default 5 per 24 h); beyond that the claim still succeeds, ' +
          'with the last-resort KEM prekey and `oneTimePrekey: null`. A claim that leaves the device ' +
          'low sends it a `prekeys-low` control notice.',
        security: bearer,
        params: {
          type: 'object',
          required: ['username', 'deviceId'],
          additionalProperties: false,
          properties: { username, deviceId },
        },
        body: emptyBody,
        response: {
          200: bundleSchema,
          ...errors(400, 401, 403, 404, 429),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      await refuseUnreachable(c, [req.params.username]);
      const b = await claimBundle(c.sub, req.params.username, req.params.deviceId);
      if (!b) {
        metrics.prekeyClaims.inc({ result: 'not_found' });
        throw apiError('DEVICE_NOT_FOUND');
      }
      metrics.prekeyClaims.inc({ result: b.oneTimePrekey ? 'one_time' : 'exhausted' });
      return bundleJson(b);
    },
  );

  app.post<{ Body: { devices: { username: string; deviceId: string }[] } }>(
    '/v1/bundles/claim',
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ['keys'],
        summary: `Claim prekey bundles of up to ${MAX_BATCH_CLAIM} devices in one request`,
        description:
          'The batched form of the single-device claim, for the first message to a large group: ' +
          'bundles come back in the order asked, each consuming one one-time prekey of each kind ' +
          'exactly as a single claim does (each goes to exactly one caller). A device without ' +
          'published keys gets `bundle: null` instead of failing the request. Rate-limited by ' +
          "count: every device named spends one claim of the calling device's budget " +
          "(`rateLimit.bundle` per window, separate from the single-claim route's); a request " +
          'that would go over is refused whole (429) and claims nothing. The per-claimant cap ' +
          'on one-time prekeys applies as on the single claim.',
        security: bearer,
        body: {
          type: 'object',
          required: ['devices'],
          additionalProperties: false,
          properties: {
            devices: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_BATCH_CLAIM,
              uniqueItems: true,
              items: {
                type: 'object',
                required: ['username', 'deviceId'],
                additionalProperties: false,
                properties: { username, deviceId },
              },
            },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['bundles'],
            additionalProperties: false,
            properties: {
              bundles: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['username', 'deviceId', 'bundle'],
                  additionalProperties: false,
                  properties: {
                    username: { type: 'string' },
                    deviceId: { type: 'string' },
                    bundle: { anyOf: [bundleSchema, { type: 'null' }] },
                  },
                },
              },
            },
          },
          ...errors(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      const c = claims(req);
      const { devices } = req.body;
      await refuseUnreachable(
        c,
        devices.map((d) => d.username),
      );
      const budget = await ctx.takeClaims(`${c.sub}:${c.dev}`, devices.length);
      if (!budget.ok) throw rateLimited('too many bundle claims', budget.retryInMs);
      // Each claim is the store's own atomic take of a one-time prekey; asked all at once,
      // SQLite commits them together (one group commit) and Redis gets them in one pipeline.
      const claimed = await Promise.all(
        devices.map((d) => claimBundle(c.sub, d.username, d.deviceId)),
      );
      const bundles = devices.map((d, i) => {
        const b = claimed[i] ?? null;
        metrics.prekeyClaims.inc({
          result: !b ? 'not_found' : b.oneTimePrekey ? 'one_time' : 'exhausted',
        });
        return { username: d.username, deviceId: d.deviceId, bundle: b ? bundleJson(b) : null };
      });
      return { bundles };
    },
  );
}

/** The wire form of a claimed bundle (shared by both claim routes). */
function bundleJson(b: {
  certificate: Uint8Array;
  signedPrekey: Uint8Array;
  kemPrekey: Uint8Array;
  oneTimePrekey: Uint8Array | null;
}): { certificate: string; signedPrekey: string; kemPrekey: string; oneTimePrekey: string | null } {
  return {
    certificate: b64url(b.certificate),
    signedPrekey: b64url(b.signedPrekey),
    kemPrekey: b64url(b.kemPrekey),
    oneTimePrekey: b.oneTimePrekey ? b64url(b.oneTimePrekey) : null,
  };
}
