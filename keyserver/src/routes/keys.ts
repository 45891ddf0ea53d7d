/**
 * Device keys and the key directory (DESIGN.md §4.1): `/v1/devices/*`,
 * `/v1/users/*` and `/v1/bundles/*`. One file per concern in `keys/`: a
 * device's own keys (`device-keys.ts`: upload, count, identity reset), the
 * directory (`directory.ts`: look a user up) and bundle claims (`claims.ts`:
 * single and batched, per-claimant caps, `prekeys-low` notices).
 */
import type { FastifyInstance } from 'fastify';
import type { Ctx } from '../context.ts';
import { claimRoutes } from './keys/claims.ts';
import { deviceKeyRoutes } from './keys/device-keys.ts';
import { directoryRoutes } from './keys/directory.ts';

export { MAX_BATCH_CLAIM } from './keys/claims.ts';
export { REAUTH_MAX_AGE_S } from './keys/device-keys.ts';

/** Register `/v1/devices/*`, `/v1/users/*` and `/v1/bundles/*`. */
export function keyRoutes(app: FastifyInstance, ctx: Ctx): void {
  deviceKeyRoutes(app, ctx);
  directoryRoutes(app, ctx);
  claimRoutes(app, ctx);
}
