/**
 * The guest port's shape, apart from its implementation (`guests.ts`), which needs the
 * messenger's errors: `messenger.ts` names this type, so keeping it here keeps the import graph
 * free of cycles (test/architecture/imports.test.ts).
 */

/** What the views can do about guest accounts. */
export interface GuestPort {
  /**
   * Whether the signed-in account is an active guest, as the key server says
   * (`GET /v1/users/{me}` → `guest: true`); `false` when the server cannot be asked.
   */
  isGuest(): Promise<boolean>;
  /**
   * How long a guest may stay unused before it expires (ms), as the server's discovery document
   * says (`guests.idleMs`); null when it does not say or cannot be asked.
   */
  idleMs(): Promise<number | null>;
  /**
   * Make this guest account a full one with `password`: every other session ends, this browser
   * continues with new tokens. WEAK_PASSWORD: under 8 characters; GUEST_NOT_ALLOWED: the account
   * is no (longer a) guest. With `username` the account moves to that name (PROTOCOL.md §3.3):
   * INVALID_USERNAME for a name that is not one, USERNAME_TAKEN for a taken or reserved one.
   * Resolves to the account's name from now on.
   */
  upgrade(password: string, username?: string): Promise<string>;
}
