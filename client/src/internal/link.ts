/**
 * Linking a second device of the same user (DESIGN.md §3, PROTOCOL.md §13).
 *
 * New device: logged in with the password (so it holds a token for its new
 * device id) but without the user identity key. {@link Linker.begin} makes a
 * link code (ephemeral X25519 key + secret), listens on the device's own inbox
 * over a short-lived MQTT connection, and waits for the LINK envelope.
 *
 * Existing device: {@link Linker.approve} checks the code (same user, not
 * expired, not a device we already have), seals the UIK plus the state worth
 * syncing (trusted contact keys, verification marks, group chains, and a
 * reference to the encrypted message-history blob, history.ts) to the code,
 * publishes it on the new device's inbox (ACL-1: any device may publish to any
 * inbox) and waits until the new device's certificate, signed by our
 * UIK, is on the key server.
 *
 * The new device opens the bundle, checks the UIK against the one the key
 * server publishes, makes its device keys and certificate, uploads them like
 * any device, applies the synced state, imports the message history and
 * becomes a normal engine.
 *
 * This file is the linker the engine holds (and the clean-up of history blobs
 * after a link); the two halves live in `link/begin.ts` (new device) and
 * `link/approve.ts` (existing device), the synced state in `link/sync-state.ts`.
 */
import { isApiError } from '../http.ts';
import type { Ctx } from './context.ts';
import { approve } from './link/approve.ts';
import { begin } from './link/begin.ts';
import type { Linker, LinkerDeps, LinkSession } from './link/types.ts';

export {
  HISTORY_BLOB_GRACE_MS,
  LINK_TTL_MS,
  type ApproveLinkOptions,
  type ApproveLinkResult,
  type BeginLinkOptions,
  type Linker,
  type LinkerDeps,
  type LinkSession,
} from './link/types.ts';

/** Setting: history blobs this device uploaded and deletes once `deleteAt` passed. */
const HISTORY_BLOBS = 'link.historyBlobs';
type PendingBlob = { blobId: string; deleteAt: number };

/** Create the linker of one engine; `close` cancels a link still waiting (engine close). */
export function createLinker(
  ctx: Ctx,
  deps: LinkerDeps,
): Linker & { close(): void; sweep(): Promise<void> } {
  const open = new Set<LinkSession>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let closed = false;
  /** Delete the history blobs whose grace period is over; keep the rest for a later sweep. */
  const sweep = async (): Promise<void> => {
    const pending = (await ctx.store.getSetting<PendingBlob[]>(HISTORY_BLOBS)) ?? [];
    if (pending.length === 0) return;
    const keep: PendingBlob[] = [];
    for (const p of pending) {
      if (p.deleteAt > ctx.now()) {
        keep.push(p);
        continue;
      }
      try {
        await ctx.http.deleteBlob(p.blobId);
      } catch (err) {
        // Gone already: done. Anything else (offline): try again at the next sweep.
        if (!isApiError(err, 'BLOB_NOT_FOUND')) keep.push(p);
      }
    }
    // Blobs recorded meanwhile (another approval) are kept.
    const now = (await ctx.store.getSetting<PendingBlob[]>(HISTORY_BLOBS)) ?? [];
    const done = new Set(pending.filter((p) => !keep.includes(p)).map((p) => p.blobId));
    await ctx.store.setSetting(
      HISTORY_BLOBS,
      now.filter((p) => !done.has(p.blobId)),
    );
  };
  const schedule = async (blobId: string, deleteAt: number): Promise<void> => {
    const pending = (await ctx.store.getSetting<PendingBlob[]>(HISTORY_BLOBS)) ?? [];
    await ctx.store.setSetting(HISTORY_BLOBS, [...pending, { blobId, deleteAt }]);
    if (closed) return;
    const t = setTimeout(
      () => {
        timers.delete(t);
        void sweep().catch((err: unknown) => ctx.events.emit('error', err));
      },
      Math.max(0, deleteAt - ctx.now()),
    );
    timers.add(t);
  };
  return {
    async begin(username, password, options = {}) {
      const session = await begin(ctx, deps, username, password, options);
      open.add(session);
      void session.linked.then(
        () => open.delete(session),
        () => open.delete(session),
      );
      return session;
    },
    approve: (code, options) => approve(ctx, deps, code, options ?? {}, schedule),
    sweep,
    close() {
      closed = true;
      for (const s of open) s.cancel();
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
