/**
 * Dispatch (docs/CLIENT.md "Architecture"): what the transport received, by topic, to the one
 * decoder and handler for it — inbox envelopes to the inbox receiver, group envelopes to the
 * group receiver (a run of either goes as one batch, so it commits as one store batch), key
 * server control notices, retained presence, and plain IoT messages as events.
 */
import { decodeControlNotice, decodePresence, isWireError, parseTopic } from '@sotto/crypto';
import { maintainPrekeys } from './account.ts';
import type { Ctx } from './context.ts';
import type { GroupChain } from './groups/chain.ts';
import type { GroupReceiver } from './groups/receive.ts';
import type { InboundMessage } from './inbound.ts';
import type { InboxReceiver } from './receive/inbox.ts';
import type { Directory } from './trust.ts';

/** What {@link createDispatch} routes to. */
export interface DispatchDeps {
  ctx: Ctx;
  directory: Directory;
  inbox: InboxReceiver;
  groups: GroupReceiver;
  chain: GroupChain;
  /** Run the own-key monitor in the background (a notice about our account or devices). */
  monitorOwnKeys(): void;
  /** Load the block list again (our block list changed on another device). */
  reloadBlocks(): Promise<unknown>;
}

/**
 * A control notice from the key server (`sotto/v1/control/{me}/{device}`, PROTOCOL.md §7): a
 * hint to look again — the group chain, a user's device list, our own key-log entries — or,
 * for `prekeys-low`, to top up one-time prekeys now.
 */
async function handleControl(deps: DispatchDeps, payload: Uint8Array): Promise<void> {
  const { ctx } = deps;
  let notice;
  try {
    notice = decodeControlNotice(payload);
  } catch (err) {
    // Notice kinds of a newer key server are ignored (PROTOCOL.md §7).
    if (isWireError(err, 'UNKNOWN_TYPE')) return;
    throw err;
  }
  switch (notice.type) {
    case 'group-changed':
      await deps.chain.noticed(notice.groupId, notice.seq, notice.record);
      return;
    case 'device-removed':
      ctx.events.emit('deviceRemoved', { reason: notice.reason });
      deps.monitorOwnKeys();
      return;
    case 'blocks-changed':
      await deps.reloadBlocks();
      return;
    case 'banned':
      ctx.events.emit('banned', { reason: notice.reason });
      return;
    case 'prekeys-low': {
      // Claims took our one-time prekeys below the key server's low-water mark (issue 14):
      // top up now rather than at the next hourly upkeep, so first messages keep getting
      // one-time keys instead of the last-resort KEM prekey.
      await maintainPrekeys(ctx);
      const me = ctx.account();
      ctx.events.emit('securityNotice', {
        code: 'PREKEYS_DRAINED',
        user: me.username,
        device: me.deviceId,
        conversationId: null,
        message: 'one-time prekeys are being claimed unusually fast; replenished',
        at: ctx.now(),
      });
      return;
    }
  }
}

/** A retained presence status; an empty payload clears it: the user hid their presence. */
function handlePresence(ctx: Ctx, user: string, payload: Uint8Array): void {
  const p = decodePresence(payload);
  ctx.events.emit(
    'presence',
    p ? { user, status: p.status, at: p.at } : { user, status: 'hidden', at: ctx.now() },
  );
}

/** One message that is neither an inbox nor a group envelope. Bad input is reported. */
async function dispatchOne(deps: DispatchDeps, topic: string, payload: Uint8Array): Promise<void> {
  const { ctx } = deps;
  const parsed = parseTopic(topic);
  try {
    switch (parsed?.kind) {
      case 'inbox':
        return await deps.inbox.handleInbox(payload);
      case 'group':
        await deps.groups.handleGroupEnvelope(parsed.groupId, payload);
        return;
      case 'control':
        return await handleControl(deps, payload);
      case 'presence':
        return handlePresence(ctx, parsed.user, payload);
      case 'iot':
        ctx.events.emit('iot', {
          owner: parsed.owner,
          thing: parsed.thing,
          subtopic: parsed.rest,
          payload,
        });
        return;
      default:
        return;
    }
  } catch (err) {
    ctx.events.emit('error', err);
  }
}

/**
 * The transport's message handler: messages that arrived together, in order; a run of inbox
 * envelopes goes as one batch, and so does a run of group envelopes (any groups); everything
 * else one at a time.
 */
export function createDispatch(
  deps: DispatchDeps,
): (batch: readonly InboundMessage[]) => Promise<void> {
  return async (batch) => {
    const kinds = batch.map((m) => parseTopic(m.topic));
    for (let i = 0; i < batch.length;) {
      const kind = kinds[i]?.kind;
      let j = i + 1;
      if (kind === 'inbox' || kind === 'group') {
        while (j < batch.length && kinds[j]?.kind === kind) j++;
      }
      try {
        if (kind === 'inbox') {
          const run = batch.slice(i, j);
          await deps.inbox.handleInboxBatch(
            run.map((x) => x.payload),
            run.map((x) => x.at),
          );
        } else if (kind === 'group') {
          const run: { groupId: string; envelope: Uint8Array }[] = [];
          for (let k = i; k < j; k++) {
            const t = kinds[k];
            if (t?.kind === 'group') run.push({ groupId: t.groupId, envelope: batch[k]!.payload });
          }
          await deps.groups.handleGroupBatch(run);
        } else await dispatchOne(deps, batch[i]!.topic, batch[i]!.payload);
      } catch (err) {
        deps.ctx.events.emit('error', err);
      }
      i = j;
    }
  };
}
