/**
 * The key directory and key trust (DESIGN.md §3, §5.2): fetch a user's UIK and
 * device certificates, verify every certificate against the UIK, and apply
 * trust on first use. A UIK different from the trusted one raises `keyChange`;
 * for a verified contact sending is blocked until the user accepts the key.
 */
import {
  decodeDeviceCertificate,
  type DeviceCertificate,
  equalBytes,
  fromBase64,
  safetyNumber,
  verifyDeviceCertificate,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import { isApiError } from '../http.ts';
import type { ClientStore, ContactRecord, MessageRecord, StoreOp } from '../store/types.ts';
import type { Ctx, RemoteDevice } from './context.ts';
import { dmConversation, groupConversation } from './conversation.ts';
import type { ContactRenames } from './contact-rename.ts';
import { noticeRecord } from './notice-record.ts';
import type { Transparency } from './transparency.ts';

interface Cached {
  at: number;
  uik: Uint8Array | null;
  devices: RemoteDevice[];
  /**
   * Fetched to vouch for an incoming envelope, not for a send. Such an entry answers later
   * checks of incoming envelopes, but the first send after it fetches again: a device the user
   * added since (a linked browser that has not written to us yet) gets the message, as it did
   * when receiving never touched the directory.
   */
  forVouch: boolean;
}

/**
 * What the directory says of a (user, device, certificate) an envelope claims
 * (PROTOCOL.md §6.7 "Acceptance rules"):
 * - `ok`: listed, logged, and signed by the UIK we trust for the user: accept.
 * - `held`: listed and logged, but under the new UIK of a *verified* contact that the user has
 *   not accepted yet: decrypt into the held queue, show nothing.
 * - `unlisted`: not a device the directory and log vouch for (or not with this certificate):
 *   drop; never stored, never a session.
 */
export type Vouch = 'ok' | 'held' | 'unlisted';

/** A forced directory refetch for one claimed device at most this often. */
const REFETCH_EVERY_MS = 3_000;

/** True when two certificates are the same binding (same user, device, UIK and device keys). */
export function sameCertificate(a: DeviceCertificate, b: DeviceCertificate): boolean {
  return (
    a.username === b.username &&
    a.deviceId === b.deviceId &&
    equalBytes(a.uik, b.uik) &&
    equalBytes(a.signingKey, b.signingKey) &&
    equalBytes(a.identityKey, b.identityKey) &&
    equalBytes(a.signature, b.signature)
  );
}

/**
 * The timeline line that says a contact's safety number changed (kind `notice`, body
 * `{notice: 'keyChange', user}`), in `conversationId`: their DM or a group they share with us.
 * Only {@link Directory.checkUik} makes it, from a key change the trust layer itself saw; a
 * remote party cannot write one: a received payload of kind `notice` is stored as `unknown`
 * (PROTOCOL.md §12), and the line's id (`notice-` and 16 hex digits) is no payload id (those
 * are 22 characters), so no message can overwrite it.
 */
export function keyChangeNotice(
  conversationId: string,
  user: string,
  now: number,
  random: (n: number) => Uint8Array,
): MessageRecord {
  const id = `notice-${Array.from(random(8), (b) => b.toString(16).padStart(2, '0')).join('')}`;
  return noticeRecord(conversationId, id, user, now, now, { notice: 'keyChange', user });
}

/**
 * The KEY_CHANGED error that blocks sending to `user` (its stored `contact`) while a verified
 * contact's new identity key is not accepted (PROTOCOL.md §6.7), or null when sending is allowed.
 */
export function keyChangeBlock(user: string, contact: ContactRecord | null): ClientError | null {
  return contact?.verified && contact.pendingUik
    ? new ClientError(
        'KEY_CHANGED',
        `${user}'s identity key changed; compare safety numbers and accept the new key first`,
      )
    : null;
}

/** Device lists fetched ahead of expiry at once, per engine (the rest wait their turn). */
const REFRESH_AHEAD_CONCURRENCY = 8;

/** Per-engine cache of verified device lists. */
export class Directory {
  readonly #cache = new Map<string, Cached>();
  readonly #refetchedAt = new Map<string, number>();

  constructor(
    private readonly ctx: Ctx,
    /** Key-transparency verifier; null turns the checks off. */
    private readonly kt: Transparency | null = null,
    /** Follows a contact's guest rename the directory shows (PROTOCOL.md §3.3); null: ignored. */
    private readonly renames: ContactRenames | null = null,
  ) {}

  /** Users whose lists are being fetched ahead of expiry (see `devices`). */
  readonly #refreshing = new Set<string>();
  /** Background fetches waiting for a slot, and how many run. */
  readonly #refreshQueue: (() => void)[] = [];
  #refreshRunning = 0;

  #refreshAhead(user: string, purpose: 'send' | 'vouch'): void {
    if (this.#refreshing.has(user)) return;
    this.#refreshing.add(user);
    const run = () => {
      this.#refreshRunning++;
      this.devices(user, true, purpose)
        .catch((err: unknown) => {
          // The list in the cache stays until it expires; the next send past the TTL fetches.
          if (!isApiError(err, 'RATE_LIMITED') && !isApiError(err, 'NETWORK'))
            this.ctx.events.emit('error', err);
        })
        .finally(() => {
          this.#refreshRunning--;
          this.#refreshing.delete(user);
          this.#refreshQueue.shift()?.();
        });
    };
    if (this.#refreshRunning < REFRESH_AHEAD_CONCURRENCY) run();
    else this.#refreshQueue.push(run);
  }

  /**
   * Mark the cached device list of `user` (or of everyone) stale: the next call fetches it
   * again. The stale list is kept as the fallback while the key server is unreachable.
   */
  invalidate(user?: string): void {
    const entries = user === undefined ? [...this.#cache.values()] : [this.#cache.get(user)];
    for (const e of entries) if (e) e.at = Number.NEGATIVE_INFINITY;
  }

  /**
   * The user's devices whose certificates verify against the user's UIK
   * (trust-checked). For our own user, only devices certified by our UIK.
   * Throws ApiError 404 for an unknown user.
   */
  async devices(
    user: string,
    refresh = false,
    purpose: 'send' | 'vouch' = 'send',
  ): Promise<{ uik: Uint8Array | null; devices: RemoteDevice[] }> {
    const c = this.#cache.get(user);
    const usable = c && (purpose === 'vouch' || !c.forVouch);
    const age = c ? this.ctx.now() - c.at : Number.POSITIVE_INFINITY;
    const ttl = this.ctx.options.directoryTtlMs;
    if (c && usable && !refresh && age < ttl) {
      // Past half its life, a list in use is fetched again in the background, so an active
      // sender to a large group never waits for hundreds of lookups at once when the lists
      // expire together; a list older than the TTL is never used (a removed device's absence
      // is seen as promptly as before).
      if (age >= ttl / 2) this.#refreshAhead(user, purpose);
      return c;
    }
    if (refresh) return this.#fetch(user, purpose, c);
    // Callers that find no usable list share the fetch already on its way (100 sends a second
    // to a list not in memory were 100 lookups and log-proof checks of the same list, issue
    // 23); a send never takes a list fetched to vouch for an envelope (see `Cached.forVouch`).
    const flying =
      this.#fetching.get(`send|${user}`) ??
      (purpose === 'vouch' ? this.#fetching.get(`vouch|${user}`) : undefined);
    if (flying) return flying;
    const key = `${purpose}|${user}`;
    const fetching = this.#fetch(user, purpose, c).finally(() => this.#fetching.delete(key));
    this.#fetching.set(key, fetching);
    return fetching;
  }

  /** Lists being fetched for callers that found none usable, by purpose and user. */
  readonly #fetching = new Map<
    string,
    Promise<{ uik: Uint8Array | null; devices: RemoteDevice[] }>
  >();

  /** Fetch `user`'s list from the key server, verify it (certificates, log, UIK) and cache it. */
  async #fetch(
    user: string,
    purpose: 'send' | 'vouch',
    c: Cached | undefined,
  ): Promise<{ uik: Uint8Array | null; devices: RemoteDevice[] }> {
    let res;
    try {
      res = await this.ctx.http.getUser(user);
    } catch (err) {
      // Key server down: keep sending to the devices we last verified (their sessions exist;
      // a device added meanwhile is picked up once the server answers again).
      if (c && isApiError(err, 'NETWORK')) return c;
      throw err;
    }
    // A rename moves our pin for the old name to the new one before the new name's key is
    // judged, so a followed rename is no key change and no stranger (PROTOCOL.md §3.3).
    if (res.rename && this.renames) await this.renames.follow(res.rename);
    const uik = res.uik === null ? null : fromBase64(res.uik);
    const devices: RemoteDevice[] = [];
    if (uik) {
      const account = this.ctx.account();
      if (user === account.username && !equalBytes(uik, account.uik.publicKey)) {
        this.ctx.events.emit(
          'error',
          new Error('the key server reports a different UIK for our own user'),
        );
        return { uik: account.uik.publicKey, devices: [] };
      }
      // Certificates and log proofs first: a UIK is trusted (or a change of it recorded) only
      // when the log proves at least one device under it, so a key server cannot make us
      // adopt an identity it keeps out of the log (PROTOCOL.md §6.7, §10).
      for (const d of res.devices) {
        try {
          const certBytes = fromBase64(d.certificate);
          const certificate = decodeDeviceCertificate(certBytes);
          verifyDeviceCertificate(certificate, { uik, username: user, deviceId: d.deviceId });
          // Key transparency: the binding must be in the log (a device failing it is left out).
          if (this.kt) await this.kt.checkDevice(user, uik, certBytes, d.logIndex);
          devices.push({ user, deviceId: d.deviceId, kind: certificate.kind, certificate });
        } catch (err) {
          this.ctx.events.emit('error', err);
        }
      }
      if (user !== account.username) {
        if (devices.length > 0) await this.checkUik(user, uik);
        else if (!(await this.trusts(user, uik))) {
          // A new UIK with no logged device: not adopted, and nothing to send to.
          this.ctx.events.emit(
            'error',
            new ClientError(
              'KT_FAILURE',
              `${user}'s new identity key has no device in the key log`,
            ),
          );
        }
      }
    }
    const entry = { at: this.ctx.now(), uik, devices, forVouch: purpose === 'vouch' };
    this.#cache.set(user, entry);
    return entry;
  }

  /**
   * Does the key directory (with the log, §10) vouch for `certificate` as `user`'s device
   * `deviceId`? The device must be listed with exactly this certificate, under the UIK the
   * directory serves (trust-checked: first contact takes the UIK from the directory, never
   * from the envelope). Not listed: refetch once (at most every {@link REFETCH_EVERY_MS} per
   * user), then `unlisted`. A key server out of reach with nothing cached throws (the sender
   * re-sends until acknowledged). `contacts` is where the trusted UIK is read (a receive batch
   * passes its staged store, which reads each contact once per batch).
   */
  async vouch(
    user: string,
    deviceId: string,
    certificate: DeviceCertificate,
    contacts: Pick<ClientStore, 'getContact'> = this.ctx.store,
  ): Promise<Vouch> {
    if (certificate.username !== user || certificate.deviceId !== deviceId) return 'unlisted';
    const listed = (e: { devices: RemoteDevice[] }): boolean =>
      e.devices.some((d) => d.deviceId === deviceId && sameCertificate(d.certificate, certificate));
    let entry = await this.devices(user, false, 'vouch');
    if (!listed(entry)) {
      const now = this.ctx.now();
      // Per claimed device, so a forgery in a user's name does not use up the refetch that the
      // user's real new device needs; the sender budgets (budget.ts) bound how many there are.
      const key = `${user}|${deviceId}`;
      const last = this.#refetchedAt.get(key) ?? Number.NEGATIVE_INFINITY;
      if (now - last < REFETCH_EVERY_MS) return 'unlisted';
      if (this.#refetchedAt.size > 10_000) this.#refetchedAt.clear();
      this.#refetchedAt.set(key, now);
      entry = await this.devices(user, true, 'vouch');
      if (!listed(entry)) return 'unlisted';
    }
    const me = this.ctx.account();
    if (user === me.username)
      return equalBytes(certificate.uik, me.uik.publicKey) ? 'ok' : 'unlisted';
    const contact = await contacts.getContact(user);
    if (contact?.uik && equalBytes(contact.uik, certificate.uik)) return 'ok';
    if (contact?.verified && contact.pendingUik && equalBytes(contact.pendingUik, certificate.uik))
      return 'held';
    return 'unlisted';
  }

  /**
   * Compare a UIK seen for `user` (from the directory or a PREKEY sender
   * certificate) with the trusted one. First sight: trust it. Changed: for an
   * unverified contact adopt it and emit `keyChange`; for a verified one keep
   * the old key, park the new one as pending and emit a blocking `keyChange`.
   */
  async checkUik(user: string, uik: Uint8Array): Promise<void> {
    const { store } = this.ctx;
    const me = this.ctx.account();
    // Our own other devices (linked, PROTOCOL.md §13) share our UIK: not a contact to trust.
    if (user === me.username) {
      if (!equalBytes(uik, me.uik.publicKey)) {
        this.ctx.events.emit('error', new Error(`a device of ${user} is not certified by our UIK`));
      }
      return;
    }
    const contact = await store.getContact(user);
    const now = this.ctx.now();
    if (!contact || !contact.uik) {
      await store.batch([
        {
          op: 'putContact',
          contact: {
            username: user,
            verified: false,
            pendingUik: null,
            ...contact,
            uik,
            updatedAt: now,
          },
        },
      ]);
      return;
    }
    if (equalBytes(contact.uik, uik)) return;
    if (contact.pendingUik && equalBytes(contact.pendingUik, uik)) return;
    const next: ContactRecord = contact.verified
      ? { ...contact, pendingUik: uik, updatedAt: now }
      : { ...contact, uik, pendingUik: null, updatedAt: now };
    const ops: StoreOp[] = [{ op: 'putContact', contact: next }];
    const notices = await this.keyChangeNotices(user, !contact.verified, now);
    for (const message of notices) ops.push({ op: 'putMessage', message });
    await store.batch(ops);
    for (const notice of notices) this.ctx.events.emit('message', notice);
    this.ctx.events.emit('keyChange', {
      user,
      verified: contact.verified,
      blocked: contact.verified,
    });
  }

  /**
   * The "safety number changed" lines for a new key of `user`: one in every group we share with
   * them (issue 17), and — for an unverified contact, whose new key is adopted — one in their
   * DM. A verified contact's DM has its blocking banner instead, which holds what they send
   * until the key is accepted. Each line sits right after the conversation's last message, which
   * came under the old key (the check comes after the first message under the new key was sent,
   * before it is stored).
   */
  private async keyChangeNotices(
    user: string,
    inDm: boolean,
    now: number,
  ): Promise<MessageRecord[]> {
    const { store } = this.ctx;
    const me = this.ctx.account().username;
    const shared = (await store.listGroups()).filter(
      (g) => g.members.includes(me) && g.members.includes(user),
    );
    const out: MessageRecord[] = [];
    for (const conversationId of [
      ...(inDm ? [dmConversation(user)] : []),
      ...shared.map((g) => groupConversation(g.groupId)),
    ]) {
      const last = await store.listMessages(conversationId, { limit: 1 });
      const at = last[0] ? Math.min(now, last[0].timestamp + 1) : now;
      out.push(keyChangeNotice(conversationId, user, at, this.ctx.random));
    }
    return out;
  }

  /** Throw KEY_CHANGED when sending to `user` is blocked by an unaccepted key change. */
  async assertSendable(user: string): Promise<void> {
    const blocked = keyChangeBlock(user, await this.ctx.store.getContact(user));
    if (blocked) throw blocked;
  }

  /** True when a device certificate of `user` is signed by the UIK we trust (or no key is trusted yet). */
  async trusts(user: string, uik: Uint8Array): Promise<boolean> {
    const account = this.ctx.account();
    if (user === account.username) return equalBytes(uik, account.uik.publicKey);
    const contact = await this.ctx.store.getContact(user);
    return !contact?.uik || equalBytes(contact.uik, uik);
  }

  /** Accept a pending key change: the new UIK becomes trusted, verification is cleared. */
  async acceptKeyChange(user: string): Promise<void> {
    const contact = await this.ctx.store.getContact(user);
    if (!contact?.pendingUik) return;
    await this.ctx.store.batch([
      {
        op: 'putContact',
        contact: {
          ...contact,
          uik: contact.pendingUik,
          pendingUik: null,
          verified: false,
          updatedAt: this.ctx.now(),
        },
      },
    ]);
    // Devices verified under the old key are never a fallback.
    this.#cache.delete(user);
  }

  /** Mark a contact verified (after comparing safety numbers) or not. */
  async setVerified(user: string, verified: boolean): Promise<void> {
    const contact = await this.ctx.store.getContact(user);
    if (!contact?.uik) {
      await this.devices(user, true);
    }
    const c = (await this.ctx.store.getContact(user))!;
    await this.ctx.store.batch([
      { op: 'putContact', contact: { ...c, verified, updatedAt: this.ctx.now() } },
    ]);
  }

  /** The 60-digit safety number between us and `user` (trusted key). */
  async safetyNumber(user: string): Promise<string> {
    let contact = await this.ctx.store.getContact(user);
    if (!contact?.uik) {
      await this.devices(user, true);
      contact = await this.ctx.store.getContact(user);
    }
    if (!contact?.uik) throw new ClientError('NO_DEVICES', `${user} has no identity key yet`);
    const account = this.ctx.account();
    return safetyNumber(
      { username: account.username, uik: account.uik.publicKey },
      { username: user, uik: contact.uik },
    );
  }
}
