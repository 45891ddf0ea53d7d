/**
 * Pairwise sending (DESIGN.md §5.1, PROTOCOL.md §6, §12): building payloads and their local
 * records, fan-out to every device of a recipient and a `sync` copy to our own other devices,
 * the outbox entries written before anything is published, bundle prefetch for many missing
 * sessions at once, encryption under the lock, and receipts (batched, receipts.ts). Below the
 * groups, the outbox and the apply handlers, which all send through it.
 */
import { inboxTopic, pad } from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import {
  encodePayload,
  newMessageId,
  type Mention,
  type Payload,
  type PayloadInput,
} from '../payload.ts';
import { isApiError, type BundleResponse } from '../http.ts';
import type { MessageRecord, OutboxEntry, StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import { dmConversation } from './conversation.ts';
import { isAcked, isStored } from './kinds.ts';
import { mapLimited } from './limit.ts';
import { mayPin, pinOps, pinTarget } from './pins.ts';
import { ReceiptBatcher, type SentReceiptStatus } from './receipts.ts';
import { SendQueue, type SendTarget } from './send-queue.ts';
import { encryptFor } from './sessions.ts';
import type { Directory } from './trust.ts';

/** Devices per batched bundle claim (the key server takes up to 100). */
const CLAIM_BATCH = 50;
/** Batched claims in flight at once. */
const CLAIM_PARALLEL = 3;
/** Device-list look-ups (`GET /v1/users/{username}`) in flight at once for a many-user send. */
export const LOOKUP_PARALLEL = 8;

/**
 * The store ops that record a message as sent before it is published: its id as seen (our own
 * copy coming back is not shown twice) and one outbox entry per target device, re-sent until
 * that device's receipt arrives. `createdAt` orders the re-sends: the message's own timestamp.
 */
export function outboxOps(
  messageId: string,
  targets: { user: string; device: string; topic: string; plaintext: Uint8Array }[],
  now: number,
  createdAt = now,
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
        createdAt,
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

/** Fields of a payload stored in a message body. */
export function bodyOf(p: Payload): Record<string, unknown> {
  const { id: _id, ts: _ts, kind: _kind, ...rest } = p as Payload & Record<string, unknown>;
  return rest;
}

/**
 * A message body after an edit to `text` (PROTOCOL.md §12 "Mentions"): the old mentions go (their
 * spans named the old text) and the edit's own, if any, take their place.
 */
export function editedBody(
  body: Record<string, unknown>,
  text: string,
  mentions: readonly Mention[] | undefined,
): Record<string, unknown> {
  const { mentions: _old, ...rest } = body;
  return mentions !== undefined && mentions.length > 0
    ? { ...rest, text, mentions: [...mentions] }
    : { ...rest, text };
}

/** Pairwise sending of one engine. */
export class Pairwise {
  readonly receipts: ReceiptBatcher;
  /**
   * Ids of sender-key payloads we sent. Their `delivered` receipt proves the
   * device now holds our key and listens on the group topic, so group messages
   * it has not acknowledged are re-sent to it right away rather than on the
   * periodic timer (it may have joined after they were published).
   */
  readonly senderKeyIds = new Set<string>();
  /** Direct sends waiting for the lock (send-queue.ts). */
  private readonly queue: SendQueue;

  constructor(
    private readonly ctx: Ctx,
    private readonly directory: Directory,
  ) {
    this.queue = new SendQueue(ctx, (targets, senderKey) =>
      this.encryptAndPublish(targets, senderKey),
    );
    this.receipts = new ReceiptBatcher(
      (user, device, status, ids) => this.sendReceipt(user, device, status, ids),
      (err) => ctx.events.emit('error', err),
      // A burst being taken in: its next batches' receipts go with these.
      { busy: () => ctx.inboundBacklog() > 0 },
    );
  }

  /** Wipe the sessions the send queue keeps between its commits (the engine closes). */
  close(): void {
    this.queue.clear();
  }

  /** The last timestamp {@link make} gave out. */
  private lastTs = 0;

  /**
   * Fill in id and timestamp. Timestamps are strictly increasing per engine (issue 20): stores
   * order a conversation by (timestamp, id) and the outbox re-sends by creation time, so two
   * messages made in the same millisecond would otherwise be ordered by their random ids —
   * on every recipient's store and in every re-send. A `typing` payload is never stored or
   * ordered: it carries the clock as it is (receivers compare it with the sender's last message
   * to drop one made before it and delivered after it).
   */
  make(input: PayloadInput, id?: string): Payload {
    const now = this.ctx.now();
    const ts = input.kind === 'typing' ? now : Math.max(now, this.lastTs + 1);
    if (input.kind !== 'typing') this.lastTs = ts;
    return { ...input, id: id ?? newMessageId(this.ctx.random), ts };
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

  /** Local store ops for an edit/delete/reaction/pin we send, so our own view matches. */
  async localEffect(p: Payload, user: string, conversationId: string): Promise<StoreOp[]> {
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
                body: editedBody(m.body, p.text, p.mentions),
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
      case 'pin': {
        // The receivers' rules, checked before sending too: a raw `send` of a pin never pins on
        // our devices what the recipients would drop.
        if (!(await mayPin(this.ctx, conversationId, user)))
          throw new ClientError('NOT_ADMIN', `only admins pin messages in ${conversationId}`);
        if ((await pinTarget(this.ctx, conversationId, p.target)) === null)
          throw new ClientError('UNKNOWN_MESSAGE', `no message ${p.target} in ${conversationId}`);
        const device = this.ctx.account().deviceId;
        const done = await pinOps(this.ctx, conversationId, p, { user, device, outgoing: true });
        return done.ops;
      }
      default:
        return [];
    }
  }

  /**
   * Send a payload to every device of `user` and a `sync` copy to our own other devices:
   * device lists from the directory (served from memory within their TTL, trust.ts), then the
   * send queue (send-queue.ts) commits the message, its outbox entries (acknowledged kinds) and
   * the new session states in one batch under the lock, and publishes after that commit.
   */
  async sendDirect(
    user: string,
    input: PayloadInput,
    options: {
      id?: string;
      /**
       * Told the message's record once it is committed (a stored kind only): the caller that
       * returns the record need not read back what was just written (issue 23).
       */
      committed?: (record: MessageRecord) => void;
    } = {},
  ): Promise<Payload> {
    const asked = this.ctx.trace ? performance.now() : 0;
    const account = this.ctx.account();
    const [them, us] = await Promise.all([
      this.directory.devices(user),
      this.directory.devices(account.username),
    ]);
    const checked = this.ctx.trace ? performance.now() : 0;
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
              inner: payload as Extract<Payload, { kind: 'sync' }>['inner'],
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
    const record = isStored(payload.kind)
      ? this.outgoingRecord(
          conversationId,
          payload,
          targets.map((d) => `${d.user}:${d.deviceId}`),
        )
      : null;
    if (record) ops.push({ op: 'putMessage', message: record });
    ops.push(...(await this.localEffect(payload, account.username, conversationId)));
    if (acked) ops.push(...outboxOps(payload.id, sends.map(toInbox), now, payload.ts));
    this.ctx.trace?.('asked', payload.id, asked);
    this.ctx.trace?.('checked', payload.id, checked);
    await this.queue.send({
      id: payload.id,
      peer: user,
      ops,
      targets: sends,
      senderKey: payload.kind === 'sender-key',
    });
    if (record) options.committed?.(structuredClone(record));
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
    if (isStored(input.kind))
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
      await this.ctx.store.batch(
        outboxOps(payload.id, sends.map(toInbox), this.ctx.now(), payload.ts),
      );
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
  async encryptAndPublish(sends: SendTarget[], senderKey = false): Promise<void> {
    // Each device's session as stored, read once — the reads go out together: on a page each
    // answer waits for a turn of the main thread (issue 23) — and a later send to the same
    // device in this batch continues from the state the earlier one left.
    const devices = new Map(sends.map((s) => [`${s.user}|${s.device}`, s] as const));
    const read = await Promise.all(
      [...devices.values()].map((s) => this.ctx.store.getSession(s.user, s.device)),
    );
    const states = new Map<string, Uint8Array | null>();
    const missing: { user: string; device: string }[] = [];
    let i = 0;
    for (const [key, s] of devices) {
      const state = read[i++] ?? null;
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
    status: SentReceiptStatus,
    ids: string[],
  ): Promise<void> {
    const payload = this.make({ kind: 'receipt', status, ids });
    const plaintext = pad(encodePayload(payload));
    await this.ctx.lock.run(() => this.encryptAndPublish([{ user, device, plaintext }]));
  }

  /**
   * Typing to every device of a DM peer (not stored, not acknowledged). Through the send queue:
   * the composer signals typing as the user starts each message, so the signal and the
   * message after it share one commit of their session advances (issue 23).
   */
  async sendTypingDirect(user: string, typing: boolean): Promise<void> {
    const { devices } = await this.directory.devices(user);
    const payload = this.make({ kind: 'typing', typing });
    const plaintext = pad(encodePayload(payload));
    await this.queue.send({
      id: payload.id,
      peer: null,
      ops: [],
      targets: devices.map((d) => ({ user: d.user, device: d.deviceId, plaintext })),
      senderKey: false,
    });
  }
}
