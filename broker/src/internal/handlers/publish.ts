/**
 * PUBLISH: Aedes' `authorizePublish` hook. `acl.ts` decides, deny by default; a refused PUBLISH
 * closes the connection (MQTT 3.1.1 has no negative PUBACK). A client's publishes pass its rate
 * limit in arrival order; an authorized QoS 1 publish is stored and routed before the PUBACK
 * (`beforeAck`, see `persistBeforeAck` in internal/persistence.ts).
 */
import type { Client, PublishPacket } from 'aedes';
import { parseTopic } from '@sotto/crypto/wire';
import { checkPublish } from '../../acl.ts';
import { AclError } from '../../errors.ts';
import { identityOf } from '../../identity.ts';
import type { Identity } from '../../identity.ts';
import type { HookState } from './state.ts';

/**
 * [ACL-12] Is this an allowed DM ([ACL-1]) from a device of a user the recipient blocks? `false`
 * at once for everything else.
 */
function isBlockedDm(
  state: HookState,
  identity: Identity,
  topic: string,
  rule: string,
): boolean | Promise<boolean> {
  if (rule !== 'ACL-1' || identity.kind !== 'device') return false;
  const t = parseTopic(topic);
  if (t?.kind !== 'inbox' || t.user === identity.username) return false;
  return state.blocks.blocks(t.user, identity.username);
}

/**
 * [ACL-13] Is this a DM ([ACL-1]) from a guest's device to a user the guest shares no room
 * with? `false` at once for everything else (full accounts, a guest's own devices).
 */
function isGuestOutsiderDm(
  state: HookState,
  guest: boolean,
  identity: Identity,
  topic: string,
  rule: string,
): false | Promise<boolean> {
  if (!guest || rule !== 'ACL-1' || identity.kind !== 'device') return false;
  const t = parseTopic(topic);
  if (t?.kind !== 'inbox' || t.user === identity.username) return false;
  return state.store.sharesGroup(identity.username, t.user).then((shared) => !shared);
}

/** Aedes' `authorizePublish` hook. */
export type AuthorizePublishHook = (
  client: Client | null,
  packet: PublishPacket,
  callback: (error?: Error | null) => void,
) => void;

/** Stores and routes an authorized QoS 1 publish, then calls `done` (which sends the PUBACK). */
export type BeforeAck = (
  client: Client,
  packet: PublishPacket,
  done: (err?: Error) => void,
) => void;

/**
 * The publish hook. `beforeAck` is read at each publish: the broker sets it once Aedes exists
 * (the hook has to be handed to Aedes before that).
 */
export function createAuthorizePublish(
  state: HookState,
  beforeAck: () => BeforeAck | undefined,
  swallow: () => ((packet: object) => void) | undefined = () => undefined,
): AuthorizePublishHook {
  const { log, metrics, policy } = state;
  return (client, packet, callback) => {
    // A will of a client that died on another broker arrives with client === null: judge it by
    // the client id it was stored under, which that broker authenticated ([ACL-8]).
    const session = client ? state.sessions.get(client) : undefined;
    const clientId = (packet as { clientId?: string }).clientId;
    const identity =
      session?.identity ?? (client === null && clientId ? identityOf(clientId) : null);
    if (!identity) {
      state.refuse('deny-default', 'publish');
      callback(new AclError('deny-default', 'not authenticated'));
      return;
    }
    const decision = checkPublish(identity, packet.topic, packet.retain, policy);
    const isWill = session?.will === packet || client === null;
    // A client's own publishes take effect in the order they arrived, whatever each verdict
    // waits for (PublishLine); a will (or one without a session) goes on its own.
    const line = session && !isWill ? state.publishLine(session) : null;
    const ticket = line?.enter();
    const refused = (rule: string, message: string) => () => {
      state.refuse(rule, 'publish');
      log.info({ clientId: identity.clientId, topic: packet.topic, rule }, 'publish refused');
      callback(new AclError(rule, message));
    };
    const proceed = () => {
      metrics?.messagesIn.inc();
      const store = beforeAck();
      if (packet.qos !== 1 || !store || !client) {
        callback(null);
        return;
      }
      store(client, packet, (err) => {
        if (!err) {
          callback(null);
          return;
        }
        log.warn({ clientId: identity.clientId, err }, 'publish could not be stored: no PUBACK');
        callback(new AclError('store-unavailable', 'publish could not be stored'));
      });
    };
    // [ACL-12] a DM from a user the recipient blocks: answered as usual, routed nowhere, so the
    // sender cannot tell (docs/SECURITY.md). Without the broker's swallow it is refused instead.
    const dropped = () => {
      const drop = swallow();
      if (!drop) {
        refused('ACL-12', 'recipient does not accept messages from you')();
        return;
      }
      state.refuse('ACL-12', 'publish');
      log.debug({ clientId: identity.clientId, topic: packet.topic }, 'publish dropped (blocked)');
      drop(packet);
      callback(null);
    };
    const decide = (verdict: 'allow' | 'deny' | 'drop', rule: string = decision.rule) => {
      const refusal =
        verdict === 'deny' ? refused(rule, `publish to ${packet.topic} refused`) : null;
      const accept = verdict === 'drop' ? dropped : proceed;
      if (!line || !ticket) {
        if (refusal) refusal();
        else if (verdict === 'drop') dropped();
        else callback(null);
        return;
      }
      // Per-client rate: a publish waits for its token (Aedes reads less from this socket
      // meanwhile, so a flood is slowed at the TCP level); a client too far ahead is refused.
      // A dropped DM spends a token too: blocking changes nothing the sender can measure.
      line.settle(
        ticket,
        refusal
          ? { rated: false, run: refusal }
          : { rated: true, run: accept, tooFast: refused('rate', 'publish rate exceeded') },
      );
    };
    const storeFailed = (err: unknown) => {
      log.warn({ clientId: identity.clientId, err }, 'publish check failed');
      const fail = () => callback(new AclError('store-unavailable', 'cannot check the ACL now'));
      if (line && ticket) line.settle(ticket, { rated: false, run: fail });
      else fail();
    };
    // Only group topics need the store ([ACL-2]), DMs the recipient's block list ([ACL-12],
    // from the cache without a promise hop in the common case), and a guest's DMs its rooms
    // ([ACL-13]).
    if (decision.verdict !== 'member') {
      if (decision.verdict === 'deny') {
        decide('deny');
        return;
      }
      const outsider = isGuestOutsiderDm(
        state,
        session?.guest === true,
        identity,
        packet.topic,
        decision.rule,
      );
      if (outsider !== false) {
        outsider
          .then(async (out) => {
            if (out) decide('deny', 'ACL-13');
            else
              decide(
                (await isBlockedDm(state, identity, packet.topic, decision.rule))
                  ? 'drop'
                  : 'allow',
              );
          })
          .catch(storeFailed);
        return;
      }
      const blocked = isBlockedDm(state, identity, packet.topic, decision.rule);
      if (blocked === false) {
        decide('allow');
        return;
      }
      if (blocked === true) {
        decide('drop');
        return;
      }
      blocked.then((b) => decide(b ? 'drop' : 'allow')).catch((err: unknown) => storeFailed(err));
      return;
    }
    state
      .resolve(identity, decision)
      .then((ok) => decide(ok ? 'allow' : 'deny'))
      .catch(storeFailed);
  };
}
