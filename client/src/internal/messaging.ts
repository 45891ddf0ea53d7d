/**
 * Messages end to end (DESIGN.md §5.1, PROTOCOL.md §12): building payloads,
 * pairwise fan-out to every device of the recipient and to our own other
 * devices, the persisted outbox, and the receive path shared by DMs and groups
 * (de-duplication by message id, re-acknowledging duplicates, applying edits,
 * deletes, reactions and receipts to the store).
 */
import {
  dmConversation,
  EnvelopeType,
  inboxTopic,
  pad,
  parseConversation as parseWireConversation,
  peekPairwiseEnvelope,
  unpad,
  type Conversation,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import {
  decodePayload,
  encodePayload,
  newMessageId,
  type Payload,
  type PayloadInput,
} from '../payload.ts';
import { isApiError, type BundleResponse } from '../http.ts';
import type { MessageRecord, OutboxEntry, StoredDeviceKind, StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import { mapLimited } from './limit.ts';
import { ReceiptBatcher } from './receipts.ts';
import { SenderBudget } from './budget.ts';
import { clearHeldOp, heldMessages, heldRecord, hold, type HeldItem } from './held.ts';
import {
  decryptPairwise,
  encryptFor,
  heldSlot,
  previousSlot,
  UntrustedSenderError,
} from './sessions.ts';
import type { Directory } from './trust.ts';

/** Kinds that are acknowledged with a `delivered` receipt and kept in the outbox until then. */
const ACKED = new Set<string>([
  'text',
  'reply',
  'reaction',
  'edit',
  'delete',
  'file',
  'sender-key',
  'group-change',
  'profile',
  'sync',
  'unknown',
]);
/** Kinds shown as messages in a conversation. */
const STORED = new Set<string>(['text', 'reply', 'file']);
/**
 * Kinds whose processing reads nothing that earlier messages of the same inbox batch may have
 * written (beyond the seen ids and sessions the batch tracks), so a run of them commits as one
 * store batch ({@link Messaging.handleInboxBatch}, and for group topics Groups.handleGroupBatch).
 */
const BATCHED = new Set<string>(['text', 'reply', 'file', 'receipt', 'typing', 'unknown']);

/** Devices per batched bundle claim (the key server takes up to 100). */
const CLAIM_BATCH = 50;
/** Batched claims in flight at once. */
const CLAIM_PARALLEL = 3;
/** Device-list look-ups (`GET /v1/users/{username}`) in flight at once for a many-user send. */
export const LOOKUP_PARALLEL = 8;

/** True when a payload of this kind may share a store batch with the ones around it. */
export function isBatchable(kind: string): boolean {
  return BATCHED.has(kind);
}

/**
 * The store ops that record a message as sent before it is published: its id as seen (our own
 * copy coming back is not shown twice) and one outbox entry per target device, re-sent until
 * that device's receipt arrives.
 */
export function outboxOps(
  messageId: string,
  targets: { user: string; device: string; topic: string; plaintext: Uint8Array }[],
  now: number,
): StoreOp[] {
  return [
    { op: 'markSeen', ids: [messageId], at: now },
    {
      op: 'putOutbox',
      entries: targets.map((t): OutboxEntry => ({
        messageId,
        recipient: t.user,
        recipientDevice: t.device,
        topic: t.topic,
        plaintext: t.plaintext,
        attempts: 1,
        createdAt: now,
        lastAttemptAt: now,
      })),
    },
  ];
}

/** A pairwise send as an outbox target: the recipient device's inbox. */
const toInbox = <T extends { user: string; device: string }>(s: T) => ({
  ...s,
  topic: inboxTopic(s.user, s.device),
});

/** True when payloads of this kind are acknowledged and go through the outbox. */
export function isAcked(kind: string): boolean {
  return ACKED.has(kind);
}

/** Who sent a payload and where it belongs. */
export interface Origin {
  conversationId: string;
  user: string;
  device: string;
  kind: StoredDeviceKind;
  /** Arrived on a group topic. */
  group?: string;
}

/** Side effects to run after the store batch committed. */
export interface Effects {
  after: (() => void)[];
  acks: { user: string; device: string; id: string }[];
  refreshGroups: string[];
}

/** Fields of a payload stored in a message body. */
function bodyOf(p: Payload): Record<string, unknown> {
  const { id: _id, ts: _ts, kind: _kind, ...rest } = p as Payload & Record<string, unknown>;
  return rest;
}

/** The conversation id of a DM with `user` (defined in the wire contract). */
export { dmConversation };

/**
 * Parse `dm:{user}` / `group:{id}` (the wire contract's parser), reporting a bad id as the
 * engine's own `BAD_INPUT` so callers of `@sotto/client` see only {@link ClientError}.
 */
export function parseConversation(id: string): Conversation {
  try {
    return parseWireConversation(id);
  } catch (cause) {
    throw new ClientError('BAD_INPUT', `not a conversation id: ${id}`, { cause });
  }
}

/** Pairwise messaging and the shared receive path. */
export class Messaging {
  readonly receipts: ReceiptBatcher;
  /**
   * Ids of sender-key payloads we sent. Their `delivered` receipt proves the
   * device now holds our key and listens on the group topic, so group messages
   * it has not acknowledged are re-sent to it right away rather than on the
   * periodic timer (it may have joined after they were published).
   */
  readonly senderKeyIds = new Set<string>();
  /** Failure budgets of claimed senders (budget.ts). */
  readonly #budget: SenderBudget;

  constructor(
    private readonly ctx: Ctx,
    private readonly directory: Directory,
    /** Group hooks, wired by the engine (avoids a module cycle). */
    readonly groupHooks: {
      acceptSenderKey(
        p: Extract<Payload, { kind: 'sender-key' }>,
        origin: Origin,
        ops: StoreOp[],
      ): Promise<void>;
      afterSenderKey(groupId: string): void;
      isMember(groupId: string, user: string): Promise<boolean>;
      resendGroup(groupId: string, messageId: string, plaintext: Uint8Array): Promise<void>;
      /** A `group-change` notice: its record is verified and applied, or the chain fetched (§8.7). */
      applyGroupChange(
        p: Extract<Payload, { kind: 'group-change' }>,
        origin: Origin,
        ops: StoreOp[],
        fx: Effects,
      ): Promise<void>;
    },
  ) {
    this.#budget = new SenderBudget(ctx.now);
    this.receipts = new ReceiptBatcher(
      (user, device, status, ids) => this.sendReceipt(user, device, status, ids),
      (err) => ctx.events.emit('error', err),
    );
  }

  /** Fill in id and timestamp. */
  make(input: PayloadInput, id?: string): Payload {
    return { ...input, id: id ?? newMessageId(this.ctx.random), ts: this.ctx.now() };
  }

  /** The local record of a message we send. */
  outgoingRecord(conversationId: string, p: Payload, recipients: string[]): MessageRecord {
    const account = this.ctx.account();
    return {
      conversationId,
      id: p.id,
      sender: account.username,
      senderDevice: account.deviceId,
      timestamp: p.ts,
      receivedAt: this.ctx.now(),
      kind: p.kind,
      body: bodyOf(p),
      outgoing: true,
      unread: false,
      status: Object.fromEntries(recipients.map((r) => [r, 'sent' as const])),
      edited: false,
      deleted: false,
      reactions: {},
      senderKind: account.kind,
    };
  }

  /** Local store ops for an edit/delete/reaction we send, so our own view matches. */
  async localEffect(p: Payload, user: string): Promise<StoreOp[]> {
    switch (p.kind) {
      case 'edit':
      case 'delete': {
        const m = await this.ctx.store.getMessage(p.target);
        if (!m || m.sender !== user)
          throw new ClientError('UNKNOWN_MESSAGE', `no own message ${p.target}`);
        return p.kind === 'edit'
          ? [
              {
                op: 'editMessage',
                messageId: p.target,
                body: { ...m.body, text: p.text },
                editedAt: p.ts,
              },
            ]
          : [{ op: 'deleteMessage', messageId: p.target }];
      }
      case 'reaction': {
        const m = await this.ctx.store.getMessage(p.target);
        if (!m) throw new ClientError('UNKNOWN_MESSAGE', `no message ${p.target}`);
        return [{ op: 'react', messageId: p.target, user, emoji: p.emoji }];
      }
      default:
        return [];
    }
  }

  /**
   * Send a payload to every device of `user` and a `sync` copy to our own
   * other devices. Acknowledged kinds are persisted in the outbox first.
   */
  async sendDirect(
    user: string,
    input: PayloadInput,
    options: { id?: string } = {},
  ): Promise<Payload> {
    const account = this.ctx.account();
    await this.directory.assertSendable(user);
    const [them, us] = await Promise.all([
      this.directory.devices(user),
      this.directory.devices(account.username),
    ]);
    const targets = them.devices.filter(
      (d) => !(d.user === account.username && d.deviceId === account.deviceId),
    );
    if (targets.length === 0)
      throw new ClientError('NO_DEVICES', `${user} has no device with keys`);
    const own =
      user === account.username ? [] : us.devices.filter((d) => d.deviceId !== account.deviceId);
    const payload = this.make(input, options.id);
    const conversationId = dmConversation(user);
    const plain = pad(encodePayload(payload));
    const acked = isAcked(payload.kind);
    const syncPlain =
      acked && own.length && payload.kind !== 'receipt'
        ? pad(
            encodePayload({
              id: payload.id,
              ts: payload.ts,
              kind: 'sync',
              conversation: conversationId,
              inner: payload as Exclude<Payload, { kind: 'sync' | 'unknown' }>,
            }),
          )
        : null;
    const now = this.ctx.now();
    const sends = [
      ...targets.map((d) => ({ user: d.user, device: d.deviceId, plaintext: plain })),
      ...(syncPlain
        ? own.map((d) => ({ user: d.user, device: d.deviceId, plaintext: syncPlain }))
        : []),
    ];
    const ops: StoreOp[] = [];
    if (STORED.has(payload.kind)) {
      ops.push({
        op: 'putMessage',
        message: this.outgoingRecord(
          conversationId,
          payload,
          targets.map((d) => `${d.user}:${d.deviceId}`),
        ),
      });
    }
    ops.push(...(await this.localEffect(payload, account.username)));
    if (acked) ops.push(...outboxOps(payload.id, sends.map(toInbox), now));
    // Outbox first: a crash after this point re-sends on the next start.
    await this.ctx.store.batch(ops);
    await this.ctx.lock.run(() => this.encryptAndPublish(sends, payload.kind === 'sender-key'));
    return payload;
  }

  /**
   * Send one payload that is not shown in a conversation (a group-change notice) to every
   * device of each of `users` — our own other devices included when our name is among
   * them — in one fan-out: one outbox batch and one {@link encryptAndPublish}, so the
   * sessions missing with any of those devices are set up together, with batched claims
   * (the same path as a group's first message). A user whose devices cannot be listed, or
   * whose key change blocks sending, is reported as an `error` event and left out.
   */
  async sendToUsers(
    users: string[],
    input: PayloadInput,
    options: { id?: string } = {},
  ): Promise<Payload> {
    if (STORED.has(input.kind))
      throw new ClientError('BAD_INPUT', `${input.kind} belongs to a conversation`);
    const account = this.ctx.account();
    const lists = await mapLimited([...new Set(users)], LOOKUP_PARALLEL, async (u) => {
      try {
        await this.directory.assertSendable(u);
        const { devices } = await this.directory.devices(u);
        if (u !== account.username && devices.length === 0)
          throw new ClientError('NO_DEVICES', `${u} has no device with keys`);
        return devices;
      } catch (err) {
        this.ctx.events.emit('error', err);
        return [];
      }
    });
    const payload = this.make(input, options.id);
    const plaintext = pad(encodePayload(payload));
    const sends = lists.flatMap((devices) =>
      devices
        .filter((d) => !(d.user === account.username && d.deviceId === account.deviceId))
        .map((d) => ({ user: d.user, device: d.deviceId, plaintext })),
    );
    if (sends.length === 0) return payload;
    if (isAcked(payload.kind)) {
      await this.ctx.store.batch(outboxOps(payload.id, sends.map(toInbox), this.ctx.now()));
    }
    await this.ctx.lock.run(() => this.encryptAndPublish(sends));
    return payload;
  }

  /**
   * Encrypt for each device and publish (caller holds the lock). Failures are reported, entries
   * stay. Sessions missing with any of the devices are set up together (batched claims running
   * ahead of the handshakes); every new session state is written in one store batch, before
   * anything is published.
   */
  async encryptAndPublish(
    sends: { user: string; device: string; plaintext: Uint8Array }[],
    senderKey = false,
  ): Promise<void> {
    // Each device's session as stored, read once; a later send to the same device in this
    // batch continues from the state the earlier one left.
    const states = new Map<string, Uint8Array | null>();
    const missing: { user: string; device: string }[] = [];
    for (const s of sends) {
      const key = `${s.user}|${s.device}`;
      if (states.has(key)) continue;
      const state = await this.ctx.store.getSession(s.user, s.device);
      states.set(key, state);
      if (!state) missing.push(s);
    }
    const bundles = this.prefetchBundles(missing);
    const uiks = new Map<string, Uint8Array>();
    const writes = new Map<string, StoreOp>();
    const out: { topic: string; envelope: Uint8Array }[] = [];
    for (const s of sends) {
      const key = `${s.user}|${s.device}`;
      try {
        let uik = uiks.get(s.user);
        if (!uik) uiks.set(s.user, (uik = await this.trustedUik(s.user)));
        // Claims run ahead while earlier devices' handshakes are computed.
        const bundle = await bundles.get(key);
        bundles.delete(key);
        const enc = await encryptFor(this.ctx, s.user, s.device, s.plaintext, {
          senderKey,
          stored: states.get(key) ?? null,
          ...(bundle ? { bundle } : {}),
          expectedUik: uik,
        });
        for (const op of enc.ops) {
          if (op.op === 'putSession') states.set(key, op.state);
          writes.set(key, op);
        }
        out.push({ topic: inboxTopic(s.user, s.device), envelope: enc.envelope });
      } catch (err) {
        this.ctx.events.emit('error', err);
      }
    }
    if (writes.size) {
      try {
        await this.ctx.store.batch([...writes.values()]);
      } catch (err) {
        // Nothing is sent on a session state that was not kept; the outbox re-sends.
        this.ctx.events.emit('error', err);
        return;
      }
    }
    for (const o of out) this.ctx.publish(o.topic, o.envelope);
  }

  /**
   * The UIK a new session with `user`'s devices must be certified by (PROTOCOL.md §6.7): ours
   * for our own devices, else the contact's trusted one — looked up in the directory (and so
   * trust-checked) when we hold none yet. A bundle under another UIK is refused by
   * initiateSession, whatever the key server serves.
   */
  private async trustedUik(user: string): Promise<Uint8Array> {
    const account = this.ctx.account();
    if (user === account.username) return account.uik.publicKey;
    const known = (await this.ctx.store.getContact(user))?.uik;
    if (known) return known;
    await this.directory.devices(user, true);
    const uik = (await this.ctx.store.getContact(user))?.uik;
    if (!uik) throw new ClientError('NO_DEVICES', `${user} has no identity key yet`);
    return uik;
  }

  /**
   * Start claiming prekey bundles for the devices we have no session with
   * (`missing`) and return at once with one promise per device, so the caller runs each
   * device's PQXDH as soon as its bundle is in while later claims are still on
   * the wire (the first message to a 500-device group is otherwise the sum of
   * both). Claims go in batches of {@link CLAIM_BATCH} devices
   * (`POST /v1/bundles/claim`), a few batches at a time, in send order; a key
   * server without the batched route gets single claims. A failed claim
   * resolves to undefined and is left to the per-device path. A single device
   * is left to that path too.
   */
  private prefetchBundles(
    missing: { user: string; device: string }[],
  ): Map<string, Promise<BundleResponse | undefined>> {
    const out = new Map<string, Promise<BundleResponse | undefined>>();
    if (missing.length < 2) return out;
    const settle = new Map<string, (b: BundleResponse | undefined) => void>();
    for (const m of missing) {
      const key = `${m.user}|${m.device}`;
      out.set(key, new Promise((resolve) => settle.set(key, resolve)));
    }
    const single = async (m: { user: string; device: string }): Promise<void> => {
      let bundle: BundleResponse | undefined;
      try {
        bundle = await this.ctx.http.claimBundle(m.user, m.device);
      } catch {
        // Retried (and reported) by encryptFor.
      }
      settle.get(`${m.user}|${m.device}`)!(bundle);
    };
    const batches: { user: string; device: string }[][] = [];
    for (let i = 0; i < missing.length; i += CLAIM_BATCH)
      batches.push(missing.slice(i, i + CLAIM_BATCH));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        try {
          const got = await this.ctx.http.claimBundles(
            batch.map((m) => ({ username: m.user, deviceId: m.device })),
          );
          for (const g of got) settle.get(`${g.username}|${g.deviceId}`)?.(g.bundle ?? undefined);
          // Anything the answer left out is settled by the per-device path.
          for (const m of batch) settle.get(`${m.user}|${m.device}`)!(undefined);
        } catch (err) {
          if (!isApiError(err) || err.status !== 404) {
            for (const m of batch) settle.get(`${m.user}|${m.device}`)!(undefined);
            continue;
          }
          // An older key server: one claim per device, 16 at a time.
          for (let i = 0; i < batch.length; i += 16)
            await Promise.all(batch.slice(i, i + 16).map(single));
        }
      }
    };
    for (let i = 0; i < Math.min(CLAIM_PARALLEL, batches.length); i++) void worker();
    return out;
  }

  /** A receipt to one device (not stored, not acknowledged). */
  async sendReceipt(
    user: string,
    device: string,
    status: 'delivered' | 'read',
    ids: string[],
  ): Promise<void> {
    const payload = this.make({ kind: 'receipt', status, ids });
    const plaintext = pad(encodePayload(payload));
    await this.ctx.lock.run(() => this.encryptAndPublish([{ user, device, plaintext }]));
  }

  /** Typing to every device of a DM peer (not stored, not acknowledged). */
  async sendTypingDirect(user: string, typing: boolean): Promise<void> {
    const { devices } = await this.directory.devices(user);
    const payload = this.make({ kind: 'typing', typing });
    const plaintext = pad(encodePayload(payload));
    await this.ctx.lock.run(() =>
      this.encryptAndPublish(devices.map((d) => ({ user: d.user, device: d.deviceId, plaintext }))),
    );
  }

  /** Handle one envelope from our inbox topic. Never throws: bad input is reported and dropped. */
  handleInbox(bytes: Uint8Array): Promise<void> {
    return this.handleInboxBatch([bytes]);
  }

  /**
   * Handle envelopes from our inbox topic that arrived together, in order, committing a run of
   * ordinary messages as one store batch (issue 6: one IndexedDB transaction for many messages,
   * not one each). Each envelope is decrypted on the session state the ones before it left
   * (held in memory until the commit); ids seen earlier in the batch count as seen. PREKEY
   * envelopes and payloads that read what earlier ones wrote (edits, reactions, sender keys,
   * group changes, profiles, syncs) commit what came before and then go alone, as
   * {@link handleInbox} always did. Events and receipts follow the commit. Never throws: bad
   * input is reported and dropped; a failed commit is reported (and, as before, its messages
   * are dropped — their senders re-send until a `delivered` receipt comes).
   */
  async handleInboxBatch(envelopes: readonly Uint8Array[]): Promise<void> {
    const { store } = this.ctx;
    const done: Effects[] = [];
    try {
      await this.ctx.lock.run(async () => {
        // Session states and seen ids written by this batch but not committed yet.
        const sessions = new Map<string, Uint8Array | null>();
        const seen = new Set<string>();
        const staged: StoreOp[] = [];
        const pending: Effects[] = [];
        const stagedStore = new Proxy(store, {
          get: (target, prop, receiver) =>
            prop === 'getSession'
              ? (user: string, device: string) => {
                  const key = `${user}|${device}`;
                  return sessions.has(key)
                    ? Promise.resolve(sessions.get(key) ?? null)
                    : target.getSession(user, device);
                }
              : (Reflect.get(target, prop, receiver) as unknown),
        });
        const stagedCtx: Ctx = { ...this.ctx, store: stagedStore };
        const stage = (ops: StoreOp[]): void => {
          for (const op of ops) {
            if (op.op === 'putSession') sessions.set(`${op.user}|${op.device}`, op.state);
            else if (op.op === 'deleteSession') sessions.set(`${op.user}|${op.device}`, null);
            else if (op.op === 'markSeen') for (const id of op.ids) seen.add(id);
          }
        };
        const commit = async (): Promise<void> => {
          const ops = staged.splice(0);
          const fxs = pending.splice(0);
          try {
            if (ops.length) await store.batch(ops);
            done.push(...fxs);
          } catch (err) {
            this.ctx.events.emit('error', err);
          }
        };
        for (const bytes of envelopes) {
          const fx: Effects = { after: [], acks: [], refreshGroups: [] };
          let sender: string | null = null;
          try {
            const info = peekPairwiseEnvelope(bytes);
            sender = `${info.sender.username}|${info.sender.deviceId}`;
            // A sender whose envelopes kept failing is not tried again this window (budget.ts).
            if (!this.#budget.allows(sender)) continue;
            const alone = info.type !== EnvelopeType.RATCHET;
            if (alone) await commit();
            const dec = await decryptPairwise(alone ? this.ctx : stagedCtx, this.directory, bytes);
            if (dec.held) {
              // A verified contact under a new, unaccepted key: into the held queue, not shown.
              await commit();
              await this.holdDecrypted(dec);
              continue;
            }
            const ops = dec.ops;
            let payload: Payload | null = null;
            try {
              payload = decodePayload(unpad(dec.plaintext));
            } catch (err) {
              // The ratchet advanced: keep the new state, drop the garbage.
              this.ctx.events.emit('error', err);
            }
            const simple = payload === null || BATCHED.has(payload.kind);
            if (!alone && !simple) await commit();
            if (payload) {
              const origin: Origin = {
                conversationId: dmConversation(dec.user),
                user: dec.user,
                device: dec.device,
                kind: dec.certificate.kind,
              };
              if (seen.has(payload.id)) {
                // A copy of a message earlier in this batch: acknowledged again, not stored.
                if (isAcked(payload.kind))
                  fx.acks.push({ user: origin.user, device: origin.device, id: payload.id });
              } else await this.process(payload, origin, ops, fx);
            }
            if (dec.newSession) {
              // A device we had no session with may be new (e.g. just linked, PROTOCOL.md §13):
              // refetch the sender's device list before the next send so it is included.
              this.directory.invalidate(dec.user);
              fx.after.push(() => void this.resendTo(dec.user, dec.device));
            }
            staged.push(...ops);
            stage(ops);
            pending.push(fx);
            if (alone || !simple) await commit();
          } catch (err) {
            this.reportRefused(err, sender);
          }
        }
        await commit();
      });
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
    for (const fx of done) this.runEffects(fx);
  }

  /**
   * An inbox envelope was refused: a sender the directory does not vouch for becomes a
   * `securityNotice` (never a message); any failure spends the claimed sender's budget.
   */
  private reportRefused(err: unknown, sender: string | null): void {
    const unreachable = isApiError(err, 'NETWORK');
    if (sender && !unreachable && this.#budget.charge(sender)) {
      const [user = '', device = ''] = sender.split('|');
      this.ctx.events.emit('securityNotice', {
        code: 'SENDER_FLOOD',
        user,
        device,
        conversationId: dmConversation(user),
        message: `too many envelopes that do not decrypt claimed to come from ${user}; dropping the rest for a minute`,
        at: this.ctx.now(),
      });
    }
    if (err instanceof UntrustedSenderError) {
      this.ctx.events.emit('securityNotice', {
        code: err.own ? 'FOREIGN_OWN_DEVICE' : 'UNLISTED_DEVICE',
        user: err.user,
        device: err.device,
        conversationId: err.own ? null : dmConversation(err.user),
        message: err.own
          ? `a message claiming to come from your own device ${err.device} was dropped: that device is not certified by your identity key in the key directory`
          : `a message claiming to be from ${err.user} was dropped: it came from a device that is not in ${err.user}'s key directory`,
        at: this.ctx.now(),
      });
      return;
    }
    this.ctx.events.emit('error', err);
  }

  /** Put a held envelope's payload in its sender's held queue (caller holds the lock). */
  private async holdDecrypted(dec: Awaited<ReturnType<typeof decryptPairwise>>): Promise<void> {
    let item: HeldItem | null = null;
    try {
      const plaintext = unpad(dec.plaintext);
      const payload = decodePayload(plaintext);
      // Receipts and typing mean nothing later; everything else waits for the user's decision.
      // A message seen before (re-sent under the new key) is not held again.
      if (
        payload.kind !== 'receipt' &&
        payload.kind !== 'typing' &&
        !(await this.ctx.store.hasSeen(payload.id))
      ) {
        item = {
          id: payload.id,
          device: dec.device,
          kind: dec.certificate.kind,
          payloadKind: payload.kind,
          plaintext,
          at: this.ctx.now(),
        };
      }
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
    const record = await heldRecord(this.ctx.store, dec.user);
    const before = heldMessages(record);
    const ops = [...dec.ops];
    ops.push(hold(record, dec.user, dec.device, item));
    await this.ctx.store.batch(ops);
    const count = heldMessages(record);
    if (count > before) {
      this.ctx.events.emit('securityNotice', {
        code: 'HELD_KEY_CHANGE',
        user: dec.user,
        device: dec.device,
        conversationId: dmConversation(dec.user),
        count,
        message: `${count} message(s) from ${dec.user} are held because ${dec.user}'s safety number changed; review it before reading them`,
        at: this.ctx.now(),
      });
    }
  }

  /** How many messages from `user` are held (their key change is not accepted yet). */
  async heldCount(user: string): Promise<number> {
    return heldMessages(await heldRecord(this.ctx.store, user));
  }

  /**
   * The user accepted `user`'s new key: the held sessions become the devices' sessions and the
   * held messages are processed in arrival order, as if they arrived now (stored, shown,
   * acknowledged).
   */
  async releaseHeld(user: string): Promise<number> {
    const fxs: Effects[] = [];
    let released = 0;
    await this.ctx.lock.run(async () => {
      const { store } = this.ctx;
      const record = await heldRecord(store, user);
      const ops: StoreOp[] = [clearHeldOp(user)];
      for (const device of record.devices) {
        const state = await store.getSession(user, heldSlot(device));
        if (!state) continue;
        const current = await store.getSession(user, device);
        if (current)
          ops.push({ op: 'putSession', user, device: previousSlot(device), state: current });
        ops.push({ op: 'putSession', user, device, state });
        ops.push({ op: 'deleteSession', user, device: heldSlot(device) });
      }
      // Processed one at a time on the store as it will be, so edits and reactions among the
      // held items find the messages before them.
      await store.batch(ops);
      for (const item of record.items) {
        const fx: Effects = { after: [], acks: [], refreshGroups: [] };
        const itemOps: StoreOp[] = [];
        try {
          const payload = decodePayload(item.plaintext);
          await this.process(
            payload,
            { conversationId: dmConversation(user), user, device: item.device, kind: item.kind },
            itemOps,
            fx,
          );
          await store.batch(itemOps);
          fxs.push(fx);
          released += 1;
        } catch (err) {
          this.ctx.events.emit('error', err);
        }
      }
    });
    for (const fx of fxs) this.runEffects(fx);
    return released;
  }

  /** Run post-commit effects: events, receipts, group refreshes. */
  runEffects(fx: Effects): void {
    for (const f of fx.after) f();
    if (this.ctx.options.autoDeliveredReceipts) {
      for (const a of fx.acks) this.receipts.add(a.user, a.device, 'delivered', a.id);
    }
  }

  /**
   * Apply a decrypted payload: store ops go into `ops` (committed by the caller
   * together with the new session state), events and receipts into `fx`.
   */
  async process(payload: Payload, origin: Origin, ops: StoreOp[], fx: Effects): Promise<void> {
    const { store } = this.ctx;
    const account = this.ctx.account();
    const now = this.ctx.now();
    const fromSelf = origin.user === account.username;
    const ack = (): void => {
      if (isAcked(payload.kind))
        fx.acks.push({ user: origin.user, device: origin.device, id: payload.id });
    };
    if (payload.kind === 'receipt') {
      if (payload.ids.filter((id) => this.senderKeyIds.delete(id)).length > 0) {
        fx.after.push(() => void this.resendTo(origin.user, origin.device, true));
      }
      for (const id of payload.ids) {
        ops.push({
          op: 'setReceipt',
          messageId: id,
          recipient: `${origin.user}:${origin.device}`,
          status: payload.status,
        });
        ops.push({
          op: 'removeOutbox',
          messageId: id,
          recipient: origin.user,
          recipientDevice: origin.device,
        });
        fx.after.push(() =>
          this.ctx.events.emit('receipt', {
            messageId: id,
            user: origin.user,
            device: origin.device,
            status: payload.status,
          }),
        );
      }
      return;
    }
    if (payload.kind === 'typing') {
      const conversationId = payload.conversation ?? origin.conversationId;
      fx.after.push(() =>
        this.ctx.events.emit('typing', {
          conversationId,
          user: origin.user,
          typing: payload.typing,
        }),
      );
      return;
    }
    // Everything else is acknowledged exactly once per delivery, shown at most once.
    ack();
    if (await store.hasSeen(payload.id)) return;
    ops.push({ op: 'markSeen', ids: [payload.id], at: now });
    switch (payload.kind) {
      case 'text':
      case 'reply':
      case 'file': {
        const message: MessageRecord = {
          conversationId: origin.conversationId,
          id: payload.id,
          sender: origin.user,
          senderDevice: origin.device,
          timestamp: payload.ts,
          receivedAt: now,
          kind: payload.kind,
          body: bodyOf(payload),
          outgoing: fromSelf,
          unread: !fromSelf,
          status: {},
          edited: false,
          deleted: false,
          reactions: {},
          senderKind: origin.kind,
        };
        ops.push({ op: 'putMessage', message });
        fx.after.push(() => this.ctx.events.emit('message', message));
        return;
      }
      case 'edit':
      case 'delete': {
        const m = await store.getMessage(payload.target);
        if (!m || m.sender !== origin.user) return;
        ops.push(
          payload.kind === 'edit'
            ? {
                op: 'editMessage',
                messageId: m.id,
                body: { ...m.body, text: payload.text },
                editedAt: payload.ts,
              }
            : { op: 'deleteMessage', messageId: m.id },
        );
        fx.after.push(() => void this.emitUpdate(m.id));
        return;
      }
      case 'reaction': {
        const m = await store.getMessage(payload.target);
        if (!m) return;
        ops.push({ op: 'react', messageId: m.id, user: origin.user, emoji: payload.emoji });
        fx.after.push(() => void this.emitUpdate(m.id));
        return;
      }
      case 'sender-key':
        await this.groupHooks.acceptSenderKey(payload, origin, ops);
        fx.after.push(() => this.groupHooks.afterSenderKey(payload.groupId));
        return;
      case 'group-change':
        await this.groupHooks.applyGroupChange(payload, origin, ops, fx);
        return;
      case 'profile': {
        const c = await store.getContact(origin.user);
        const contact = c ?? {
          username: origin.user,
          uik: null,
          verified: false,
          pendingUik: null,
          updatedAt: now,
        };
        ops.push({
          op: 'putContact',
          contact: {
            ...contact,
            ...(payload.displayName !== undefined ? { displayName: payload.displayName } : {}),
            updatedAt: now,
          },
        });
        return;
      }
      case 'sync': {
        if (!fromSelf) return;
        const inner = payload.inner;
        const origin2: Origin = { ...origin, conversationId: payload.conversation };
        if (inner.kind === 'text' || inner.kind === 'reply' || inner.kind === 'file') {
          const message: MessageRecord = {
            ...this.outgoingRecord(payload.conversation, inner, []),
            senderDevice: origin.device,
            receivedAt: now,
          };
          ops.push({ op: 'putMessage', message });
          fx.after.push(() => this.ctx.events.emit('message', message));
        } else {
          await this.process(inner, origin2, ops, {
            after: fx.after,
            acks: [],
            refreshGroups: fx.refreshGroups,
          });
        }
        return;
      }
      case 'unknown': {
        const message: MessageRecord = {
          conversationId: origin.conversationId,
          id: payload.id,
          sender: origin.user,
          senderDevice: origin.device,
          timestamp: payload.ts,
          receivedAt: now,
          kind: 'unknown',
          body: { originalKind: payload.originalKind, raw: payload.raw },
          outgoing: fromSelf,
          unread: false,
          status: {},
          edited: false,
          deleted: false,
          reactions: {},
        };
        ops.push({ op: 'putMessage', message });
        fx.after.push(() =>
          this.ctx.events.emit('unknown', { conversationId: origin.conversationId, payload }),
        );
        return;
      }
    }
  }

  private async emitUpdate(id: string): Promise<void> {
    const m = await this.ctx.store.getMessage(id);
    if (m) this.ctx.events.emit('messageUpdate', m);
  }

  /**
   * Re-send outbox entries: all of them (`olderThanMs` 0, on reconnect) or
   * those whose last attempt is older. Pairwise entries are re-encrypted on the
   * current session; group entries re-encrypted once per message.
   */
  async flushOutbox(
    olderThanMs = 0,
    only?: { user: string; device: string; groupOnly?: boolean },
  ): Promise<number> {
    const now = this.ctx.now();
    const entries = (await this.ctx.store.listOutbox()).filter(
      (e) =>
        now - e.lastAttemptAt >= olderThanMs &&
        (!only ||
          (e.recipient === only.user &&
            e.recipientDevice === only.device &&
            (!only.groupOnly || e.topic.startsWith('sotto/v1/group/')))),
    );
    const groupDone = new Set<string>();
    const direct: { user: string; device: string; plaintext: Uint8Array; senderKey: boolean }[] =
      [];
    const touch: StoreOp[] = [];
    for (const e of entries) {
      touch.push({
        op: 'touchOutbox',
        messageId: e.messageId,
        recipient: e.recipient,
        recipientDevice: e.recipientDevice,
        at: now,
      });
      if (!e.plaintext) continue;
      const groupId = e.topic.startsWith('sotto/v1/group/')
        ? e.topic.slice('sotto/v1/group/'.length)
        : null;
      if (groupId) {
        if (groupDone.has(e.messageId)) continue;
        groupDone.add(e.messageId);
        try {
          await this.groupHooks.resendGroup(groupId, e.messageId, e.plaintext);
        } catch (err) {
          this.ctx.events.emit('error', err);
        }
      } else {
        let senderKey = false;
        try {
          senderKey = decodePayload(unpad(e.plaintext)).kind === 'sender-key';
        } catch {
          // Our own encoding; cannot fail short of corruption — send as a normal message.
        }
        direct.push({
          user: e.recipient,
          device: e.recipientDevice,
          plaintext: e.plaintext,
          senderKey,
        });
      }
    }
    if (touch.length) await this.ctx.store.batch(touch);
    // In order, one call per run of entries of the same kind: missing sessions are set up
    // together (batched claims), as for a first send.
    await this.ctx.lock.run(async () => {
      for (let i = 0; i < direct.length;) {
        let j = i + 1;
        while (j < direct.length && direct[j]!.senderKey === direct[i]!.senderKey) j++;
        await this.encryptAndPublish(direct.slice(i, j), direct[i]!.senderKey);
        i = j;
      }
    });
    return entries.length;
  }

  /** The peer started a new session: re-send what it has not acknowledged, on the new session. */
  async resendTo(user: string, device: string, groupOnly = false): Promise<void> {
    try {
      await this.flushOutbox(0, { user, device, groupOnly });
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
  }
}
