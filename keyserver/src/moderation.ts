/**
 * What an operator can do to the server (issue 17; docs/OPERATIONS.md "Moderation"), in one
 * place for the `/v1/admin/*` routes and the start-up command: every action is stored, made
 * effective on every broker through the ACL event bus, and written to the moderation log.
 */
import type {
  AclEvent,
  ModerationAction,
  ModerationLogEntry,
  Store,
} from '@sotto/server-core/store';
import type { ControlNotice } from '@sotto/crypto/wire';

/** What the moderation actions need from the app (a subset of `Ctx`). */
export interface ModerationDeps {
  store: Store;
  now: () => number;
  publishEvent(event: AclEvent): Promise<void>;
  notify(users: Iterable<string>, notice: ControlNotice): Promise<void>;
}

/** Outcome of an action aimed at something that may not exist. */
export type ModerationResult = 'ok' | 'not-found';

/** The moderation actions, each logged under `actor`. */
export interface Moderation {
  grantOperator(actor: string, username: string, on: boolean): Promise<ModerationResult>;
  /**
   * Ban `username`: stored first (so no new login or refresh succeeds), then their devices are
   * told, every token is revoked and every broker disconnects every connection of the user.
   */
  ban(actor: string, username: string, reason: string): Promise<ModerationResult>;
  unban(actor: string, username: string): Promise<ModerationResult>;
  /** Close (or reopen) a group: every broker drops and refuses its topic (or allows it again). */
  closeRoom(
    actor: string,
    groupId: string,
    closed: boolean,
    reason: string,
  ): Promise<ModerationResult>;
  /** Dismiss an open report or mark it acted on. */
  closeReport(
    actor: string,
    id: string,
    status: 'dismissed' | 'actioned',
    note: string,
  ): Promise<ModerationResult>;
}

/** Build the actions over `deps`. */
export function createModeration(deps: ModerationDeps): Moderation {
  const { store } = deps;
  const log = (
    actor: string,
    action: ModerationAction,
    target: string,
    detail: string,
  ): Promise<ModerationLogEntry> =>
    store.appendModerationLog({ at: deps.now(), actor, action, target, detail });

  return {
    async grantOperator(actor, username, on) {
      if (!(await store.setOperator(username, on))) return 'not-found';
      await log(actor, on ? 'operator-granted' : 'operator-revoked', username, '');
      return 'ok';
    },
    async ban(actor, username, reason) {
      if (!(await store.setBan(username, { by: actor, at: deps.now(), reason })))
        return 'not-found';
      // The notice goes out while the devices are still connected; the revocation follows.
      await deps.notify([username], { type: 'banned', reason });
      await store.revokeUserTokens(username);
      await deps.publishEvent({ type: 'user-revoked', username });
      await log(actor, 'ban', username, reason);
      return 'ok';
    },
    async unban(actor, username) {
      if (!(await store.getBan(username))) return 'not-found';
      await store.setBan(username, null);
      await log(actor, 'unban', username, '');
      return 'ok';
    },
    async closeRoom(actor, groupId, closed, reason) {
      const group = await store.getGroup(groupId);
      if (!group || !(await store.setGroupClosed(groupId, closed))) return 'not-found';
      const everyone = group.members.map((m) => m.username);
      // The brokers' existing path for membership changes: a closed room has no one on its
      // topic (store.groupMembers answers []), a reopened one its members again.
      await deps.publishEvent({
        type: 'group-changed',
        groupId,
        removed: closed ? everyone : [],
        added: closed ? [] : everyone,
      });
      await log(actor, closed ? 'close-room' : 'reopen-room', groupId, reason);
      return 'ok';
    },
    async closeReport(actor, id, status, note) {
      if (!(await store.setReportStatus(id, status, actor))) return 'not-found';
      await log(actor, status === 'dismissed' ? 'report-dismissed' : 'report-actioned', id, note);
      return 'ok';
    },
  };
}

/**
 * The start-up command `--create-operator NAME`: make `NAME` an operator, creating the account
 * when it does not exist. Returns the generated password for a new account (shown once), or
 * `null` when the account existed.
 */
export async function createOperatorAccount(
  deps: ModerationDeps & { hashPassword(password: string): Promise<string> },
  username: string,
  randomPassword: () => string,
): Promise<string | null> {
  let password: string | null = null;
  if (!(await deps.store.userExists(username))) {
    password = randomPassword();
    const passwordHash = await deps.hashPassword(password);
    if (!(await deps.store.createUser({ username, passwordHash, createdAt: deps.now() })))
      password = null; // created meanwhile by someone else: keep theirs
  }
  await createModeration(deps).grantOperator('console', username, true);
  return password;
}
