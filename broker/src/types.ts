/**
 * Injected dependencies of the broker, as the narrow views it needs of the
 * key server's store, ACL event bus and token verifier
 * (`@sotto/server-core/store`, `@sotto/server-core/tokens`).
 */
import type { AclEvents, Store } from '@sotto/server-core/store';
import type { AccessClaims } from '@sotto/server-core/tokens';

/** The ACL queries of the key server's store that the broker reads. */
export type AclStoreQueries = Pick<
  Store,
  | 'isTokenRevoked'
  | 'isDeviceActive'
  | 'groupMembers'
  | 'isGroupMember'
  | 'sharesGroup'
  | 'groupPosters'
  | 'verifyThingCredential'
  | 'isThingActive'
  | 'userExists'
  | 'listDevices'
  | 'getUserSettings'
  | 'listBlocked'
>;

/** The part of the ACL change bus a broker uses. */
export type AclEventSource = Pick<AclEvents, 'subscribe'>;

/** Verify an access token (EdDSA only); throws when it does not verify or has expired. */
export type VerifyToken = (token: string) => AccessClaims | Promise<AccessClaims>;

export type { AccessClaims };
export type { AclEvent } from '@sotto/crypto/wire';

/** Structured logger (pino-compatible subset). */
export interface BrokerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything. */
export const silentLogger: BrokerLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
