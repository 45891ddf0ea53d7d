/**
 * The pairwise send path's last leg (issue 23, docs/CLIENT.md "Sending"): sends waiting for the
 * engine's lock are taken together, each device's session is read once, every message is
 * encrypted, and the messages, their outbox entries and the new session states are committed
 * in ONE store batch before anything is published. A message used to cost two read-write
 * transactions and three reads before its publish; a run of messages made while the lock was
 * busy now costs one of each per run.
 *
 * The order is the safety rule: a ciphertext is handed to MQTT only after the session state
 * that produced it is committed (the same batch also holds the message and its outbox entries,
 * so a crash leaves either nothing — the send failed, no key was used on the wire — or all of
 * it, re-sent by the outbox on the next start on the committed state). A crash can therefore
 * never make the engine encrypt again with a message key a published ciphertext already used.
 *
 * Each device's `Session` is built once per run and serialised once, when the run is committed
 * (it used to be parsed and serialised again for every message of the run); after a commit it
 * is kept with the state bytes it was committed as, and the next run uses it again only when the
 * store still holds exactly those bytes. So a failed commit cannot leave an advanced session in
 * memory (nothing is kept until the batch is in), and a state another path wrote since (a
 * receive, a new session) is parsed from the store as before.
 */
import { equalBytes, inboxTopic, Session } from '@sotto/crypto';
import type { ContactRecord, StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import { keyChangeBlock } from './trust.ts';

/** One target device and the padded plaintext for it. */
export interface SendTarget {
  user: string;
  device: string;
  plaintext: Uint8Array;
}

/** One prepared pairwise send, waiting for the lock. */
export interface QueuedSend {
  /** The payload id (for the trace). */
  id: string;
  /**
   * The DM peer whose key-change block is checked under the lock, before anything is stored;
   * null for a signal sent without that check (typing, as before the queue).
   */
  peer: string | null;
  /** The message's own store ops: its record, local effects and outbox entries. */
  ops: StoreOp[];
  /** Every device it goes to (the peer's and, as `sync` copies, our own other devices). */
  targets: SendTarget[];
  senderKey: boolean;
}

/**
 * Encrypts and publishes `targets` with sessions set up as needed (claims over HTTP); the caller
 * holds the lock. It reads the sessions itself and commits their states before it publishes.
 */
export type SessionSetupSend = (targets: SendTarget[], senderKey: boolean) => Promise<void>;

interface Waiting {
  send: QueuedSend;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const deviceKey = (t: { user: string; device: string }): string => `${t.user}|${t.device}`;

/** A device's session in use by a run: the device and the session the run advances. */
interface InRun {
  user: string;
  device: string;
  session: Session;
}

/** The queue of one engine's pairwise sends. */
export class SendQueue {
  #waiting: Waiting[] = [];
  #scheduled = false;
  /**
   * Sessions as this queue last committed them, by device: the state bytes stored and the live
   * session they serialise. Taken out while a run uses them; put back only after its commit.
   */
  readonly #committed = new Map<string, { state: Uint8Array; session: Session }>();

  constructor(
    private readonly ctx: Ctx,
    /** The path for a send to a device we have no session with yet (pairwise.ts). */
    private readonly setup: SessionSetupSend,
  ) {}

  /**
   * Queue `send`; resolves once it is committed and handed to MQTT. Rejects, with nothing
   * stored and nothing sent, when the peer's key change blocks sending or the commit fails.
   */
  send(send: QueuedSend): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ send, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      void this.ctx.lock.run(() => this.#drain());
    });
  }

  /** Under the lock: everything queued so far, in order. */
  async #drain(): Promise<void> {
    this.#scheduled = false;
    let waiting = this.#waiting.splice(0);
    for (const w of waiting) this.ctx.trace?.('sendLocked', w.send.id);
    try {
      while (waiting.length > 0) {
        const { sessions, contacts } = await this.#read(waiting);
        // Sendability now, under the lock: a key change seen since the send was asked counts.
        const ready: Waiting[] = [];
        for (const w of waiting) {
          const { peer } = w.send;
          const blocked = peer === null ? null : keyChangeBlock(peer, contacts.get(peer) ?? null);
          if (blocked) w.reject(blocked);
          else ready.push(w);
        }
        // The run of sends whose every device has a session goes in one commit; the first that
        // needs a new session goes alone, then the states are read again for the rest.
        const cut = ready.findIndex((w) => w.send.targets.some((t) => !sessions.get(deviceKey(t))));
        const run = cut === -1 ? ready : ready.slice(0, cut);
        if (run.length > 0) await this.#commitAndPublish(run, sessions);
        if (cut === -1) return;
        await this.#withSetup(ready[cut]!);
        waiting = ready.slice(cut + 1);
      }
    } catch (err) {
      // A read failed: the sends not settled yet fail with it (a settled one ignores this).
      for (const w of waiting) w.reject(err);
    }
  }

  /** Each target device's session and each peer's contact, all read at once. */
  async #read(waiting: Waiting[]): Promise<{
    sessions: Map<string, Uint8Array | null>;
    contacts: Map<string, ContactRecord | null>;
  }> {
    const { store } = this.ctx;
    const devices = new Map<string, SendTarget>();
    for (const w of waiting) for (const t of w.send.targets) devices.set(deviceKey(t), t);
    const peers = [...new Set(waiting.flatMap((w) => (w.send.peer === null ? [] : [w.send.peer])))];
    const [states, records] = await Promise.all([
      Promise.all([...devices.values()].map((t) => store.getSession(t.user, t.device))),
      Promise.all(peers.map((p) => store.getContact(p))),
    ]);
    return {
      sessions: new Map([...devices.keys()].map((k, i) => [k, states[i] ?? null])),
      contacts: new Map(peers.map((p, i) => [p, records[i] ?? null])),
    };
  }

  /**
   * The session for `key` whose stored state is `stored`: the one this queue committed last when
   * the store still holds exactly that state, else parsed from the store.
   */
  #open(key: string, stored: Uint8Array): Session {
    const kept = this.#committed.get(key);
    this.#committed.delete(key);
    if (kept !== undefined && equalBytes(kept.state, stored)) return kept.session;
    kept?.session.destroy();
    return Session.deserialize(stored);
  }

  /** Wipe the sessions kept between runs (the engine closes; they are rebuilt on demand). */
  clear(): void {
    for (const { session } of this.#committed.values()) session.destroy();
    this.#committed.clear();
  }

  /**
   * Encrypt every send of `run` on each device's one session (each message continuing from the
   * state the one before it left), commit the messages and the new states in one batch, then
   * publish. A device whose encryption fails is reported; its outbox entry is committed all the
   * same and re-sent later (`Session.encrypt` refuses an oversized message before the ratchet
   * moves, and a ratchet moved further than what was sent only skips a key, never reuses one).
   */
  async #commitAndPublish(run: Waiting[], sessions: Map<string, Uint8Array | null>): Promise<void> {
    const inRun = new Map<string, InRun>();
    const out: { topic: string; envelope: Uint8Array }[][] = [];
    const committed: { key: string; state: Uint8Array; session: Session }[] = [];
    try {
      for (const { send } of run) {
        const envelopes: { topic: string; envelope: Uint8Array }[] = [];
        for (const t of send.targets) {
          const key = deviceKey(t);
          try {
            let d = inRun.get(key);
            if (d === undefined) {
              // The run holds only sends whose every device has a stored session (#drain).
              d = { user: t.user, device: t.device, session: this.#open(key, sessions.get(key)!) };
              inRun.set(key, d);
            }
            const envelope = d.session.encrypt(
              t.plaintext,
              send.senderKey ? { senderKey: true } : {},
            );
            envelopes.push({ topic: inboxTopic(t.user, t.device), envelope });
          } catch (err) {
            this.ctx.events.emit('error', err);
          }
        }
        out.push(envelopes);
        this.ctx.trace?.('encrypted', send.id);
      }
      const states: StoreOp[] = [];
      for (const [key, d] of inRun) {
        const state = d.session.serialize();
        committed.push({ key, state, session: d.session });
        states.push({ op: 'putSession', user: d.user, device: d.device, state });
      }
      // Messages and outbox entries first, then the session states: one transaction either way.
      await this.ctx.store.batch([...run.flatMap((w) => w.send.ops), ...states]);
    } catch (err) {
      // Nothing was committed, so nothing is published and no session is kept: the states
      // these ciphertexts came from are gone, and so are the messages (the caller sees the
      // error). The next run parses the committed states from the store.
      for (const d of inRun.values()) d.session.destroy();
      for (const w of run) w.reject(err);
      return;
    }
    for (const c of committed) this.#committed.set(c.key, { state: c.state, session: c.session });
    // Committed: only now may the ciphertexts leave.
    run.forEach((w, i) => {
      this.ctx.trace?.('stored', w.send.id);
      for (const o of out[i]!) this.ctx.publish(o.topic, o.envelope);
      this.ctx.trace?.('published', w.send.id);
      w.resolve();
    });
  }

  /**
   * A send to a device we have no session with: its message and outbox entries are committed
   * first (the claims that follow go over the network and may fail; the outbox re-sends), then
   * the session-setup path encrypts and publishes.
   */
  async #withSetup(w: Waiting): Promise<void> {
    try {
      if (w.send.ops.length > 0) await this.ctx.store.batch(w.send.ops);
      this.ctx.trace?.('stored', w.send.id);
      await this.setup(w.send.targets, w.send.senderKey);
      this.ctx.trace?.('published', w.send.id);
      w.resolve();
    } catch (err) {
      w.reject(err);
    }
  }
}
