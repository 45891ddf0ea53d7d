/**
 * Aedes hooks for authentication and topic authorization (DESIGN.md §4.2, issue 4).
 * `createAuthHooks` returns the five hooks to pass to Aedes plus the per-connection state the
 * broker needs for revocation and presence. Each hook lives in its own file under
 * `internal/handlers/` (as Aedes keeps one file per packet in `lib/handlers/`):
 *
 * - `connect.ts` — `preConnect`, `authenticate` (client id, token or thing credential, will);
 * - `publish.ts` — `authorizePublish` (ACL, per-client rate, store before PUBACK);
 * - `subscribe.ts` — `authorizeSubscribe` (ACL; SUBACK 0x80 for a refused filter);
 * - `forward.ts` — `authorizeForward` (every delivery re-checked, de-duplicated, slow consumers);
 * - `state.ts` — what they share: sessions, group cache, limits, refusal counting.
 *
 * Authorization: `acl.ts` decides, deny by default; refusals are counted by rule.
 */
import type { BrokerMetrics } from './metrics.ts';
import type { PasswordFile } from './passwords.ts';
import type { Policy } from './policy.ts';
import type { AclStoreQueries, BrokerLogger, VerifyToken } from './types.ts';
import { createConnectHandlers } from './internal/handlers/connect.ts';
import { createAuthorizeForward } from './internal/handlers/forward.ts';
import type { AuthHooks } from './internal/handlers/hooks.ts';
import { createAuthorizePublish } from './internal/handlers/publish.ts';
import { createAuthorizeSubscribe } from './internal/handlers/subscribe.ts';
import { createHookState, type AuthLimits } from './internal/handlers/state.ts';

export type { AuthHooks } from './internal/handlers/hooks.ts';
export {
  DEFAULT_AUTH_LIMITS,
  type AuthLimits,
  type ClientSession,
} from './internal/handlers/state.ts';

/** Dependencies of {@link createAuthHooks}. */
export interface AuthHooksOptions {
  verifyToken: VerifyToken;
  store: AclStoreQueries;
  policy?: Policy | undefined;
  /** Operator accounts for clients of the policy's namespaces (Mosquitto password file). */
  passwords?: PasswordFile | undefined;
  /** Admit clients without a user name to the policy's anonymous rules. */
  allowAnonymous?: boolean | undefined;
  limits?: Partial<AuthLimits>;
  metrics?: BrokerMetrics | undefined;
  logger?: BrokerLogger | undefined;
}

/**
 * Create the authentication and authorization hooks.
 *
 * @example
 * const hooks = createAuthHooks({ verifyToken: verifier.verify, store });
 * const aedes = await Aedes.createBroker({ ...hooks });
 */
export function createAuthHooks(opts: AuthHooksOptions): AuthHooks {
  const state = createHookState(opts);
  const { preConnect, authenticate } = createConnectHandlers(state, opts.verifyToken);
  const { authorizeSubscribe, isGranted } = createAuthorizeSubscribe(state);
  const hooks: AuthHooks = {
    groups: state.groups,
    blocks: state.blocks,
    preConnect,
    authenticate,
    authorizePublish: createAuthorizePublish(
      state,
      () => hooks.beforeAck,
      () => hooks.swallow,
    ),
    authorizeSubscribe,
    authorizeForward: createAuthorizeForward(state, (client) => hooks.onSlowConsumer?.(client)),
    sessionOf: (client) => state.sessions.get(client),
    isGranted,
  };
  return hooks;
}
