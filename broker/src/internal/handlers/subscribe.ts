/**
 * SUBSCRIBE: Aedes' `authorizeSubscribe` hook. `acl.ts` decides each filter, deny by default; a
 * refused filter gets SUBACK 0x80 and the connection stays up. Granted subscriptions are
 * remembered, because Aedes stores every filter of a SUBSCRIBE once any one is granted
 * (internal/persistence.ts stores only these).
 */
import type { Client, Subscription } from 'aedes';
import { checkSubscribe } from '../../acl.ts';
import type { HookState } from './state.ts';

/** Aedes' `authorizeSubscribe` hook. */
export type AuthorizeSubscribeHook = (
  client: Client,
  subscription: Subscription,
  callback: (error: Error | null, subscription?: Subscription | null) => void,
) => void;

/** The subscribe hook, plus the question whether this process granted a subscription. */
export function createAuthorizeSubscribe(state: HookState): {
  authorizeSubscribe: AuthorizeSubscribeHook;
  isGranted: (sub: object) => boolean;
} {
  const { log, policy } = state;
  const granted = new WeakSet<object>();
  const authorizeSubscribe: AuthorizeSubscribeHook = (client, sub, callback) => {
    const session = state.sessions.get(client);
    if (!session) {
      state.refuse('deny-default', 'subscribe');
      callback(null, null);
      return;
    }
    const decision = checkSubscribe(session.identity, sub.topic, policy);
    state
      .resolve(session.identity, decision)
      .then((ok) => {
        if (ok) {
          granted.add(sub);
          callback(null, sub);
        } else {
          state.refuse(decision.rule, 'subscribe');
          log.debug(
            { clientId: client.id, topic: sub.topic, rule: decision.rule },
            'subscribe refused',
          );
          // SUBACK 0x80 for this filter; the connection stays up.
          callback(null, null);
        }
      })
      .catch((err: unknown) => {
        log.warn({ clientId: client.id, err }, 'subscribe check failed');
        state.refuse('store-unavailable', 'subscribe');
        callback(null, null);
      });
  };
  return { authorizeSubscribe, isGranted: (sub) => granted.has(sub) };
}
