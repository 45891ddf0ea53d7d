/**
 * This device's side of a guest's upgrade to a username of its choice (PROTOCOL.md §3.3,
 * docs/CLIENT.md "Guests"): the rename statement and the device's new certificate, both signed
 * with the account's identity key; the pairwise state that named us by the old name, dropped;
 * and the setting that makes every later start append our rename record to the groups still
 * naming us by the old name (GroupAdmin.renameSelf).
 */
import {
  GUEST_NAME_PREFIX,
  USERNAME_PATTERN,
  controlTopic,
  decodeDeviceCertificate,
  encodeDeviceCertificate,
  encodeRenameStatement,
  inboxTopic,
  isGuestName,
  issueDeviceCertificate,
  signRenameStatement,
  toBase64,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import type { GuestRenameBody } from '../http.ts';
import type { AccountRecord, ClientStore, StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import type { Transport } from './transport.ts';

/** Setting: the guest name this account had, while groups may still name it (a string). */
export const RENAMED_FROM = 'account.renamedFrom';

/**
 * The upgrade's rename fields for moving `account` to `to`, and the new certificate's bytes.
 * Throws `BAD_INPUT` for a name that is not a valid, non-guest username, or an account that is
 * not a guest.
 */
export function renameRequest(
  account: AccountRecord,
  to: string,
  at: number,
): { body: GuestRenameBody; certificate: Uint8Array } {
  if (!isGuestName(account.username))
    throw new ClientError('BAD_INPUT', 'only a guest account can choose a new username');
  if (!USERNAME_PATTERN.test(to) || isGuestName(to)) {
    throw new ClientError(
      'BAD_INPUT',
      `${JSON.stringify(to)} is not a valid username: 3 to 32 characters of a-z, 0-9 and _, not starting with ${GUEST_NAME_PREFIX}`,
    );
  }
  if (!account.certificate) throw new ClientError('NOT_REGISTERED', 'device has no certificate');
  const old = decodeDeviceCertificate(account.certificate);
  const statement = signRenameStatement(account.uik, { from: account.username, to, at });
  // Same device, same keys (its published prekeys are signed by them): only the name changes.
  const certificate = encodeDeviceCertificate(
    issueDeviceCertificate(account.uik, {
      username: to,
      deviceId: old.deviceId,
      kind: old.kind,
      signingKey: old.signingKey,
      identityKey: old.identityKey,
      issuedAt: at,
    }),
  );
  return {
    body: {
      username: to,
      rename: toBase64(encodeRenameStatement(statement)),
      certificate: toBase64(certificate),
    },
    certificate,
  };
}

/**
 * The store ops that forget what peers know us by under the old name: every pairwise session
 * (a peer looks ours up by sender name, so each starts again with a handshake under the new
 * name) and our sender key of every group (the next message hands out a new one as the new name).
 */
export async function forgetOldNameOps(store: ClientStore): Promise<StoreOp[]> {
  const groups = await store.listGroups();
  const users = new Set((await store.listContacts()).map((c) => c.username));
  for (const g of groups) for (const m of g.members) users.add(m);
  const ops: StoreOp[] = [];
  for (const user of users) {
    for (const device of await store.listSessionDevices(user))
      ops.push({ op: 'deleteSession', user, device });
  }
  for (const g of groups) ops.push({ op: 'deleteOwnSenderKey', groupId: g.groupId });
  return ops;
}

/** What {@link createRenamer} needs from the engine. */
export interface RenamerDeps {
  ctx: Ctx;
  transport: Pick<
    Transport,
    'connected' | 'pendingTokens' | 'account' | 'disconnect' | 'unsubscribe' | 'http'
  >;
  /** Connect on the account's topics (the engine's `connect`). */
  connect(): Promise<void>;
  /** Mark every cached device list stale. */
  invalidateDirectory(): void;
  /** Append our rename record to each room naming `from`; the rooms still naming it. */
  renameSelf(from: string): Promise<string[]>;
}

/** The renamed device's side of the upgrade: the move itself, and the rooms that follow it. */
export function createRenamer(deps: RenamerDeps): {
  /**
   * Move `a` to `to`: leave the broker (the server closes the old name's sessions), upgrade with
   * the signed rename, adopt the new name and tokens with the old name's pairwise state dropped,
   * come back on the new name's topics, and move us in every room.
   */
  rename(a: AccountRecord, password: string, to: string): Promise<void>;
  /** Append our rename record to the rooms still naming the old name (one run at a time). */
  finish(): Promise<void>;
} {
  const { ctx, transport } = deps;
  const { store } = ctx;
  const report = (e: unknown): void => void ctx.events.emit('error', e);
  let running: Promise<void> | null = null;

  async function appendRenames(): Promise<void> {
    const from = await store.getSetting<string>(RENAMED_FROM);
    if (from === undefined) return;
    if ((await deps.renameSelf(from)).length === 0)
      await store.batch([{ op: 'deleteSetting', key: RENAMED_FROM }]);
  }
  function finish(): Promise<void> {
    // The reconnect and the upgrade itself both ask for it.
    running ??= appendRenames().finally(() => (running = null));
    return running;
  }

  async function rename(a: AccountRecord, password: string, to: string): Promise<void> {
    const req = renameRequest(a, to, ctx.now());
    const wasConnected = transport.connected;
    // A refresh during the upgrade lands here, not in the account record being replaced.
    transport.pendingTokens = {
      accessToken: a.accessToken ?? '',
      refreshToken: a.refreshToken ?? '',
    };
    await transport.disconnect();
    let tokens;
    try {
      tokens = await transport.http.upgradeGuest(password, req.body);
    } catch (err) {
      transport.pendingTokens = null;
      if (wasConnected) await deps.connect().catch(report);
      throw err;
    }
    await ctx.lock.run(async () => {
      const t = transport.pendingTokens ?? tokens;
      const adopted: AccountRecord = {
        ...a,
        username: to,
        certificate: req.certificate,
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
      };
      await store.batch([
        ...(await forgetOldNameOps(store)),
        { op: 'setSetting', key: RENAMED_FROM, value: a.username },
        { op: 'putAccount', account: adopted },
      ]);
      transport.account = adopted;
      transport.pendingTokens = null;
    });
    transport.unsubscribe(inboxTopic(a.username, a.deviceId));
    transport.unsubscribe(controlTopic(a.username, a.deviceId));
    deps.invalidateDirectory();
    if (wasConnected) await deps.connect();
    await finish();
  }

  return { rename, finish };
}
