/**
 * CONNECT: Aedes' `preConnect` and `authenticate` hooks (DESIGN.md §4.2).
 *
 * The client id must be one of the wire contract's forms (`@sotto/crypto/wire` `parseClientId`)
 * and equal the MQTT username; the password is an access token verified with the key server's
 * public key (EdDSA only) whose `kind`, `sub` and `dev` must name exactly this client id, or a
 * thing's credential. A valid user therefore cannot take over another device's persistent
 * session: the token does not match the id.
 */
import type { Client, ConnectPacket, PublishPacket } from 'aedes';
import { checkPublish } from '../../acl.ts';
import { AuthError, ReturnCode } from '../../errors.ts';
import { identityOf } from '../../identity.ts';
import type { VerifyToken } from '../../types.ts';
import type { ClientSession, HookState } from './state.ts';

/** Aedes' `preConnect` hook. */
export type PreConnectHook = (
  client: Client,
  packet: ConnectPacket,
  callback: (error: Error | null, success: boolean) => void,
) => void;

/** Aedes' `authenticate` hook. */
export type AuthenticateHook = (
  client: Client,
  username: Readonly<string | undefined>,
  password: Readonly<Buffer | undefined>,
  done: (error: AuthError | null, success: boolean | null) => void,
) => void;

/** A `duplicates` map for Aedes clients that never reports a packet as already delivered. */
const NO_ORDER_DEDUPE: object = new Proxy(Object.create(null) as object, {
  get: () => 0,
  set: () => true,
  deleteProperty: () => true,
});

/** The CONNECT hooks; `preConnect` keeps the will for `authenticate` to check. */
export function createConnectHandlers(
  state: HookState,
  verifyToken: VerifyToken,
): { preConnect: PreConnectHook; authenticate: AuthenticateHook } {
  const { limits, log, metrics, store, policy } = state;
  // The CONNECT of each client between `preConnect` and `authenticate` (for its will, and to
  // drop its password once read).
  const connects = new WeakMap<Client, ConnectPacket>();

  async function authenticateIdentity(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<ClientSession> {
    const clientId = client.id;
    // Aedes replaces an empty client id with `aedes_<uuid>`, which never parses.
    const identity = identityOf(clientId);
    if (identity === null && policy && (state.passwords || state.allowAnonymous)) {
      // Not one of the contract's ids: a plain client of the operator's namespaces.
      return authenticateOperator(clientId, username, password);
    }
    if (identity === null || clientId.startsWith('aedes_')) {
      throw new AuthError(
        'BAD_CLIENT_ID',
        ReturnCode.IDENTIFIER_REJECTED,
        'client id is not {user}:{device}',
      );
    }
    if (username !== clientId) {
      throw new AuthError(
        'USERNAME_MISMATCH',
        ReturnCode.BAD_USERNAME_OR_PASSWORD,
        'username must equal the client id',
      );
    }
    if (!password || password.length === 0) {
      throw new AuthError('NO_PASSWORD', ReturnCode.BAD_USERNAME_OR_PASSWORD, 'password required');
    }
    const secret = password.toString('utf8');

    if (identity.kind === 'thing') {
      const ok = await store.verifyThingCredential(identity.owner, identity.thing, secret);
      if (!ok)
        throw new AuthError(
          'BAD_THING_CREDENTIAL',
          ReturnCode.BAD_USERNAME_OR_PASSWORD,
          'bad thing credential',
        );
      return { identity };
    }

    let claims;
    try {
      claims = await verifyToken(secret);
    } catch (cause) {
      throw new AuthError(
        'BAD_TOKEN',
        ReturnCode.BAD_USERNAME_OR_PASSWORD,
        'access token rejected',
        { cause },
      );
    }
    if (identity.kind === 'device') {
      if (claims.kind !== 'user' && claims.kind !== 'bot') {
        throw new AuthError(
          'WRONG_TOKEN_KIND',
          ReturnCode.NOT_AUTHORIZED,
          `a ${claims.kind} token cannot connect a device`,
        );
      }
      // The takeover defence: a valid token of another user or device does not open this id.
      if (claims.sub !== identity.username || claims.dev !== identity.deviceId) {
        throw new AuthError(
          'TOKEN_SUBJECT_MISMATCH',
          ReturnCode.NOT_AUTHORIZED,
          'token was issued for another device',
        );
      }
    } else {
      if (claims.kind !== 'service') {
        throw new AuthError(
          'WRONG_TOKEN_KIND',
          ReturnCode.NOT_AUTHORIZED,
          'service ids need a service token',
        );
      }
      if (claims.sub !== identity.service || claims.dev !== identity.instance) {
        throw new AuthError(
          'TOKEN_SUBJECT_MISMATCH',
          ReturnCode.NOT_AUTHORIZED,
          'token was issued for another service',
        );
      }
    }
    if (await store.isTokenRevoked(claims.jti)) {
      throw new AuthError('TOKEN_REVOKED', ReturnCode.NOT_AUTHORIZED, 'token revoked');
    }
    if (identity.kind === 'device') {
      const [active, settings] = await Promise.all([
        store.isDeviceActive(identity.username, identity.deviceId),
        store.getUserSettings(identity.username),
      ]);
      if (!active) {
        throw new AuthError(
          'DEVICE_INACTIVE',
          ReturnCode.NOT_AUTHORIZED,
          'device logged out or revoked',
        );
      }
      if (claims.gst) {
        // A guest: [ACL-13] and a slower publish rate (state.ts `publishLine`).
        return {
          identity,
          jti: claims.jti,
          expiresAt: claims.exp * 1000,
          presenceVisible: settings?.presenceVisible ?? true,
          guest: true,
        };
      }
      return {
        identity,
        jti: claims.jti,
        expiresAt: claims.exp * 1000,
        presenceVisible: settings?.presenceVisible ?? true,
      };
    }
    return { identity, jti: claims.jti, expiresAt: claims.exp * 1000 };
  }

  /**
   * A client of the operator's namespaces (policy file, [ACL-11]): a password-file account, or
   * anonymous when the operator allows it. Its client id is free; the contract's id forms never
   * come here (they are parsed first), so no operator client can take a device's session.
   */
  async function authenticateOperator(
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<ClientSession> {
    if (username === undefined || username === '') {
      if (!state.allowAnonymous)
        throw new AuthError(
          'ANONYMOUS_REFUSED',
          ReturnCode.NOT_AUTHORIZED,
          'anonymous clients are not admitted',
        );
      return { identity: { kind: 'operator', clientId, username: null } };
    }
    const ok =
      state.passwords !== undefined &&
      password !== undefined &&
      (await state.passwords.verify(username, password));
    if (!ok)
      throw new AuthError(
        'BAD_OPERATOR_CREDENTIALS',
        ReturnCode.BAD_USERNAME_OR_PASSWORD,
        'user name or password not accepted',
      );
    return { identity: { kind: 'operator', clientId, username } };
  }

  const preConnect: PreConnectHook = (client, packet, callback) => {
    // Aedes drops a delivery whose per-broker counter is not above the last one it delivered
    // to this client (lib/client.js `dedupe`), which assumes a broker emits packets in counter
    // order. QoS 1 publishes are emitted after an asynchronous offline enqueue, so a group
    // message (one enqueue per persistent subscriber) is often overtaken by a later DM and was
    // then silently dropped. The order-based check is disabled here and replaced by an exact
    // recently-seen set in `authorizeForward` (forward.ts).
    (client as unknown as { duplicates: object }).duplicates = NO_ORDER_DEDUPE;
    // Keepalive bounds: 0 ("never") and huge values would let dead connections linger.
    const ka = packet.keepalive ?? 0;
    packet.keepalive =
      ka === 0
        ? limits.keepaliveMaxSec
        : Math.min(Math.max(ka, limits.keepaliveMinSec), limits.keepaliveMaxSec);
    connects.set(client, packet);
    callback(null, true);
  };

  const authenticate: AuthenticateHook = (client, username, password, done) => {
    const packet = connects.get(client);
    connects.delete(client);
    // mqtt-packet's parser keeps the CONNECT for the connection's life (`settings`), and its
    // password is a view of a pooled 8 KiB read buffer: holding the token kept that whole buffer
    // (issue 20: ~0.7 KB per idle connection). Aedes has passed it here and never reads it again.
    if (packet) delete packet.password;
    const will = packet?.will as PublishPacket | undefined;
    authenticateIdentity(client, username, password)
      .then(async (session) => {
        if (will) {
          // [ACL-8] a will must be a publish this client could make itself.
          const ok = await state.resolve(
            session.identity,
            checkPublish(session.identity, will.topic, will.retain, policy),
          );
          if (!ok)
            throw new AuthError('BAD_WILL', ReturnCode.NOT_AUTHORIZED, 'will topic not allowed');
          session.will = will;
        }
        state.sessions.set(client, session);
        done(null, true);
      })
      .catch((err: unknown) => {
        const e =
          err instanceof AuthError
            ? err
            : new AuthError(
                'STORE_UNAVAILABLE',
                ReturnCode.SERVER_UNAVAILABLE,
                'cannot check credentials now',
                {
                  cause: err,
                },
              );
        metrics?.connectsRefused.inc({ reason: e.code });
        log.info({ clientId: client.id, code: e.code, err: e.cause }, 'connect refused');
        done(e, false);
      });
  };

  return { preConnect, authenticate };
}
