/**
 * Linking, existing device (PROTOCOL.md §13): check the code, seal the UIK and
 * the synced state to it, publish it on the new device's inbox (ACL-1: any
 * device may publish to any inbox) and wait until the new device's
 * certificate, signed by our UIK, is on the key server.
 */
import { decodeLinkCode, inboxTopic, ready, sealLinkBundle } from '@sotto/crypto';
import { ClientError } from '../../errors.ts';
import type { Ctx } from '../context.ts';
import { exportHistory, MAX_HISTORY_BYTES, type HistoryRef } from '../history.ts';
import { syncState } from './sync-state.ts';
import {
  HISTORY_BLOB_GRACE_MS,
  type ApproveLinkOptions,
  type ApproveLinkResult,
  type LinkerDeps,
} from './types.ts';

/** How often the existing device looks for the new device's certificate (ms). */
const POLL_MS = 500;

/**
 * Wait between two looks at the key directory. Genuinely about time: the
 * directory has no push channel for "a device of mine appeared", so approve polls.
 */
async function pollPause(): Promise<void> {
  await new Promise<void>((r) => setTimeout(r, POLL_MS));
}

/** Existing device: hand the UIK and state to the device that shows `text`. */
export async function approve(
  ctx: Ctx,
  deps: LinkerDeps,
  text: string,
  options: ApproveLinkOptions,
  schedule: (blobId: string, deleteAt: number) => Promise<void>,
): Promise<ApproveLinkResult> {
  await ready();
  const account = ctx.account();
  let code;
  try {
    code = decodeLinkCode(text);
  } catch (cause) {
    throw new ClientError('BAD_CODE', 'this is not a Sotto link code', { cause });
  }
  if (code.username !== account.username) {
    throw new ClientError(
      'WRONG_USER',
      `the code is for ${code.username}; only devices of ${account.username} can be linked here`,
    );
  }
  if (code.expiresAt <= ctx.now()) {
    throw new ClientError('LINK_EXPIRED', 'the link code has expired: show a new one');
  }
  if (code.deviceId === account.deviceId) {
    throw new ClientError('BAD_CODE', 'the code was made by this device');
  }
  if (!deps.isConnected()) throw new ClientError('NOT_STARTED', 'start the engine first');
  const before = await deps.directory.devices(account.username, true);
  if (before.devices.some((d) => d.deviceId === code.deviceId)) {
    throw new ClientError('BAD_CODE', `device ${code.deviceId} is already linked`);
  }
  let history: HistoryRef | null = null;
  let historyError: unknown;
  if (options.history !== false) {
    try {
      history = await exportHistory(ctx, options.historyMaxBytes ?? MAX_HISTORY_BYTES);
    } catch (err) {
      // Linking matters more than the history: link without it and say why.
      historyError = err;
      ctx.events.emit('error', err);
    }
  }
  const done = (deleteAt: number): Promise<void> =>
    history ? schedule(history.blobId, deleteAt) : Promise.resolve();
  const envelope = sealLinkBundle(code, {
    uik: account.uik,
    state: await syncState(ctx, history),
  });
  ctx.publish(inboxTopic(code.username, code.deviceId), envelope);
  // The link is done when the new device's certificate, signed by our UIK, is published.
  while (ctx.now() < code.expiresAt) {
    await pollPause();
    const now = await deps.directory.devices(account.username, true);
    if (now.devices.some((d) => d.deviceId === code.deviceId)) {
      // The new device fetches the history right after uploading its keys: delete it later.
      await done(ctx.now() + HISTORY_BLOB_GRACE_MS);
      return {
        deviceId: code.deviceId,
        history: history ? { count: history.count, omitted: history.omitted } : null,
        ...(historyError !== undefined ? { historyError } : {}),
      };
    }
  }
  // Nobody linked: the blob is of no use to anyone.
  await done(ctx.now());
  throw new ClientError('LINK_EXPIRED', 'the new device did not finish linking in time');
}
