/**
 * Groups with Sender Keys and the signed membership chain (DESIGN.md §3,
 * PROTOCOL.md §8). The chain is fetched from the key server and verified here
 * before anything is trusted: members come from the verified chain only, and
 * a sender key is handed only to devices whose certificates are signed by the
 * UIK the chain names for that member. When anyone leaves or is removed, our
 * own sender key is dropped so the next message starts a fresh chain that the
 * removed member never receives.
 *
 * A member whose identity key changed (an identity reset) is, per the chain, a different member:
 * {@link Groups.rekey} removes and re-adds them with the key this device trusts now (automatically
 * for a key adopted on first use, after acceptance for a verified contact), and a device whose own
 * recorded key is the replaced one refuses to send (REKEY_PENDING) until an admin did so.
 */
import {
  applyMembershipRecord,
  createChange,
  createGenesis,
  createReceiverState,
  createSenderKey,
  decodeMembershipRecord,
  decodeSenderKeyDistribution,
  deserializeOwnSenderKey,
  deserializeReceiverState,
  encodeMembershipRecord,
  encodeSenderKeyDistribution,
  equalBytes,
  fromBase64,
  groupDecrypt,
  groupEncrypt,
  groupTopic,
  inboxTopic,
  needsRotation,
  pad,
  peekGroupEnvelope,
  rotateSenderKey,
  senderKeyDistribution,
  serializeOwnSenderKey,
  serializeReceiverState,
  toBase64,
  unpad,
  verifyMembershipChain,
  type GroupState,
  type MembershipRecord,
  type OwnSenderKey,
} from '@sotto/crypto';
import { ClientError, isClientError } from '../errors.ts';
import { isApiError } from '../http.ts';
import {
  decodePayload,
  encodePayload,
  newMessageId,
  type Payload,
  type PayloadInput,
} from '../payload.ts';
import type { GroupFrozen, GroupRecord, SenderKeyRecord, StoreOp } from '../store/types.ts';
import type { Ctx, RemoteDevice } from './context.ts';
import { mapLimited } from './limit.ts';
import {
  isAcked,
  isBatchable,
  LOOKUP_PARALLEL,
  outboxOps,
  type Effects,
  type Messaging,
  type Origin,
} from './messaging.ts';
import type { Directory } from './trust.ts';

const PENDING = 'groups.pending';
/** Group envelopes kept while their sender key has not arrived (bounded). */
const MAX_PENDING = 2000;

interface PendingEnvelope {
  groupId: string;
  envelope: Uint8Array;
  at: number;
}

/** A member whose identity key recorded in the chain is not the one this device trusts now. */
export interface ChangedMember {
  username: string;
  /** Admin in the chain (re-keying promotes them again). */
  admin: boolean;
  /**
   * A verified contact's new key waits for the local user's acceptance (compare safety numbers,
   * `trust.acceptKeyChange`); re-keying is refused with KEY_CHANGED until then.
   */
  awaitingAcceptance: boolean;
}

/** How a group's recorded identity keys compare with the ones this device trusts. */
export interface GroupKeyStatus {
  groupId: string;
  /**
   * Our own recorded key is not our current one (we reset our identity): no member hands this
   * device the group's keys and sending is refused (REKEY_PENDING) until an admin re-adds us.
   */
  selfStale: boolean;
  /** We are an admin with a current key: we can re-key the changed members. */
  canRekey: boolean;
  /** Every admin's recorded key is replaced: nobody can re-add anyone (the group is stuck). */
  noAdmin: boolean;
  /** Other members whose recorded key is not the one this device trusts for them. */
  changed: ChangedMember[];
}

type KeyState = 'current' | 'changed' | 'awaiting';

/** A change to a stored group: the record after it, its store ops, and what to do once committed. */
interface Step {
  group: GroupRecord;
  ops: StoreOp[];
  after: () => void;
}

/** How a chain offered to us relates to the one we hold ({@link compareChains}). */
export type ChainRelation = 'same' | 'extends' | 'behind' | 'forked';

/**
 * The prefix rule of PROTOCOL.md §8.7, the one place it is decided: `extends` when `held` is a
 * proper prefix of `offered`, `behind` when `offered` is a proper prefix of `held` (from the key
 * server: a rollback), `forked` when they differ at a position both have.
 */
export function compareChains(
  held: readonly Uint8Array[],
  offered: readonly Uint8Array[],
): ChainRelation {
  const n = Math.min(held.length, offered.length);
  for (let i = 0; i < n; i++) if (!equalBytes(held[i]!, offered[i]!)) return 'forked';
  if (held.length === offered.length) return 'same';
  return held.length < offered.length ? 'extends' : 'behind';
}

/** Group operations of the engine. */
export class Groups {
  constructor(
    private readonly ctx: Ctx,
    private readonly directory: Directory,
    private readonly messaging: Messaging,
  ) {
    // A key adopted without the user's decision (unverified contact, trust on first use) is
    // taken into the groups we administer at once; a verified contact's change waits for
    // acceptance and then for the admin's explicit re-key.
    ctx.events.on('keyChange', (e) => {
      if (!e.blocked) queueMicrotask(() => void this.autoRekey(e.user));
    });
  }

  /** The verified state of a stored group. */
  private stateOf(group: GroupRecord): GroupState {
    return verifyMembershipChain(group.chain);
  }

  /** A stored group we are a member of and may act in: NOT_MEMBER, or GROUP_FROZEN (§8.7). */
  async requireGroup(groupId: string): Promise<GroupRecord> {
    let group = await this.ctx.store.getGroup(groupId);
    // Not heard of it yet (the notice may still be on its way): ask the key server.
    if (!group) group = await this.refresh(groupId).catch(() => null);
    if (!group || !group.members.includes(this.ctx.account().username)) {
      throw new ClientError('NOT_MEMBER', `not a member of group ${groupId}`);
    }
    assertNotFrozen(group);
    return group;
  }

  /** True when `user` is a member of the stored group. */
  async isMember(groupId: string, user: string): Promise<boolean> {
    const g = await this.ctx.store.getGroup(groupId);
    return !!g && g.members.includes(user);
  }

  /** Create a group with us as admin; returns its id. */
  async create(name: string, members: string[]): Promise<string> {
    const account = this.ctx.account();
    // Fresh device lists of every member, a few look-ups at a time; any member without
    // keys (or blocked by a key change) fails the creation.
    const refs = await mapLimited(
      [...new Set(members)].filter((m) => m !== account.username),
      LOOKUP_PARALLEL,
      async (m) => {
        const { uik } = await this.directory.devices(m, true);
        if (!uik) throw new ClientError('NO_DEVICES', `${m} has no identity key yet`);
        await this.directory.assertSendable(m);
        const trusted = (await this.ctx.store.getContact(m))?.uik ?? uik;
        return { username: m, uik: trusted };
      },
    );
    const groupId = newMessageId(this.ctx.random);
    const genesis = createGenesis({
      groupId,
      name,
      creator: { username: account.username, uik: account.uik },
      members: refs,
      createdAt: this.ctx.now(),
    });
    await this.ctx.http.createGroup(toBase64(encodeMembershipRecord(genesis)));
    await this.refresh(groupId);
    await this.notifyChange(groupId, [...refs.map((r) => r.username), account.username]);
    return groupId;
  }

  /** Append a signed change (add/remove/promote/demote/leave) and tell the members. */
  async change(
    groupId: string,
    op: 'add' | 'remove' | 'promote' | 'demote' | 'leave',
    user?: string,
  ): Promise<void> {
    const account = this.ctx.account();
    await this.refresh(groupId);
    const group = await this.requireGroup(groupId);
    const state = this.stateOf(group);
    this.assertCurrent(state);
    const before = [...state.members.keys()];
    let record;
    const actor = { username: account.username, uik: account.uik };
    const createdAt = this.ctx.now();
    if (op === 'leave') {
      record = createChange(state, { actor, createdAt, op });
    } else {
      if (!user) throw new ClientError('BAD_INPUT', `${op} needs a user`);
      if (!state.members.get(account.username)?.admin)
        throw new ClientError('NOT_ADMIN', `only admins can ${op} members`);
      let uik = state.members.get(user)?.uik;
      if (!uik) {
        const d = await this.directory.devices(user, true);
        if (!d.uik) throw new ClientError('NO_DEVICES', `${user} has no identity key yet`);
        await this.directory.assertSendable(user);
        uik = (await this.ctx.store.getContact(user))?.uik ?? d.uik;
      }
      record = createChange(state, { actor, createdAt, op, subject: { username: user, uik } });
    }
    await this.ctx.http.appendGroupChange(groupId, toBase64(encodeMembershipRecord(record)));
    // Tell everyone who was or is in the group (the removed member learns it is out).
    const notify = new Set([...before, ...(user ? [user] : [])]);
    notify.delete(account.username);
    await this.refresh(groupId);
    await this.notifyChange(
      groupId,
      [...notify, account.username],
      toBase64(encodeMembershipRecord(record)),
    );
  }

  /**
   * Tell every device of `users` (our own other devices included) that the chain moved:
   * one fan-out, so sessions missing with any of them are set up with batched claims.
   */
  private async notifyChange(groupId: string, users: string[], record?: string): Promise<void> {
    try {
      await this.messaging.sendToUsers(users, {
        kind: 'group-change',
        groupId,
        ...(record ? { record } : {}),
      });
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
  }

  /**
   * Fetch the chain from the key server, verify it, and adopt it only if it extends the chain we
   * hold (PROTOCOL.md §8.7): a fork or a rollback freezes the group instead. Updates the store,
   * topic subscription and sender keys; emits `groupChange` when membership moved.
   */
  async refresh(groupId: string): Promise<GroupRecord | null> {
    return this.fetchAndAdopt(groupId, false);
  }

  /**
   * The one path by which a chain from the key server is adopted ({@link refresh}, and
   * {@link refreshUnlocked} for callers already holding the lock). `heldBefore` is how much of
   * the chain we held when the request went out: an answer shorter than our chain now but not
   * shorter than that is merely stale (a record reached us end to end while it was on its way),
   * not a rollback.
   */
  private async fetchAndAdopt(groupId: string, locked: boolean): Promise<GroupRecord | null> {
    const { store, http } = this.ctx;
    const account = this.ctx.account();
    const run = <T>(f: () => Promise<T>): Promise<T> => (locked ? f() : this.ctx.lock.run(f));
    const held = await store.getGroup(groupId);
    // Frozen: the key server rewrote this group's history once; nothing it says is adopted.
    if (held?.frozen) return held;
    const heldBefore = held?.chain.length ?? 0;
    let chain: Uint8Array[];
    try {
      chain = (await http.getGroup(groupId)).records.map((r) => fromBase64(r));
    } catch (err) {
      // 403/404: the key server no longer counts us as a member (removed, or the
      // group is gone). Stop using the group; the chain we hold stays for history.
      const status = (err as { status?: number }).status;
      if (
        !locked &&
        held &&
        held.members.includes(account.username) &&
        (status === 403 || status === 404)
      ) {
        return this.leaveLocally(held, []);
      }
      throw err;
    }
    const state = verifyMembershipChain(chain);
    if (state.groupId !== groupId)
      throw new ClientError('BAD_INPUT', 'key server returned another group');
    const step = await run(async () => {
      const old = await store.getGroup(groupId);
      const next = this.adoption(groupId, old, chain, state, heldBefore);
      if (next.ops.length) await store.batch(next.ops);
      return next;
    });
    // Under the caller's lock the events wait until the caller is done with the store.
    if (locked) queueMicrotask(step.after);
    else step.after();
    return step.group;
  }

  /**
   * What adopting `chain` (verified, `state`) from the key server means for the stored `old`:
   * nothing (same chain, or a stale answer), a membership step, or a freeze (fork, rollback).
   */
  private adoption(
    groupId: string,
    old: GroupRecord | null,
    chain: Uint8Array[],
    state: GroupState,
    heldBefore: number,
  ): Step {
    if (!old) return this.transition(groupId, null, chain, state);
    if (old.frozen) return { group: old, ops: [], after: () => undefined };
    const account = this.ctx.account();
    switch (compareChains(old.chain, chain)) {
      case 'forked':
        return this.freeze(old, 'forked');
      case 'behind':
        return chain.length < heldBefore
          ? this.freeze(old, 'rolled-back')
          : { group: old, ops: [], after: () => undefined };
      case 'same':
        // Nothing to do, unless a concurrent refresh that met a 403 mid re-key marked us as
        // gone while the chain has us in again.
        if (old.members.includes(account.username) === state.members.has(account.username))
          return { group: old, ops: [], after: () => undefined };
        return this.transition(groupId, old, chain, state);
      case 'extends':
        return this.transition(groupId, old, chain, state);
    }
  }

  /**
   * The store ops and events of moving a group from `old` to the verified `chain`: removed and
   * re-keyed members' sender keys dropped and our own rotated (§8.6), or, when we are no longer
   * in it, every sender key dropped and the topic left.
   */
  private transition(
    groupId: string,
    old: GroupRecord | null,
    chain: Uint8Array[],
    state: GroupState,
  ): Step {
    const account = this.ctx.account();
    const members = [...state.members.keys()].sort();
    const group: GroupRecord = {
      groupId,
      name: state.name,
      chain,
      members,
      admins: members.filter((m) => state.members.get(m)!.admin),
      updatedAt: this.ctx.now(),
    };
    const before = old?.members ?? [];
    const removed = before.filter((m) => !members.includes(m));
    const added = members.filter((m) => !before.includes(m));
    // Re-keyed (removed and re-added with another UIK): their old devices are out, like removed ones.
    const prior = old && old.chain.length < chain.length ? this.stateOf(old) : null;
    const rekeyed = prior
      ? members.filter((m) => {
          const was = prior.members.get(m);
          return !!was && !equalBytes(was.uik, state.members.get(m)!.uik);
        })
      : [];
    const ops: StoreOp[] = [{ op: 'putGroup', group }];
    for (const m of [...removed, ...rekeyed])
      ops.push({ op: 'deleteSenderKeys', groupId, user: m });
    // Rotation on removal: the next message starts a new chain for the remaining members only.
    if (removed.length || rekeyed.length) ops.push({ op: 'deleteOwnSenderKey', groupId });
    if (!members.includes(account.username)) {
      ops.push({ op: 'deleteOwnSenderKey', groupId }, { op: 'deleteSenderKeys', groupId });
      return {
        group,
        ops,
        after: () => {
          this.ctx.unsubscribe(groupTopic(groupId));
          // A group we never were in (a stray notice) is stored but not announced.
          if (!before.includes(account.username)) return;
          this.ctx.events.emit('groupChange', {
            groupId,
            name: group.name,
            members,
            removed: [...new Set([...removed, account.username])],
            added: [],
          });
        },
      };
    }
    return {
      group,
      ops,
      after: () => {
        this.ctx.subscribe(groupTopic(groupId));
        this.ctx.events.emit('groupChange', { groupId, name: group.name, members, removed, added });
      },
    };
  }

  /**
   * Freeze `old` (PROTOCOL.md §8.7): marked, kept as it is, reported once as a `securityNotice`.
   */
  private freeze(old: GroupRecord, reason: GroupFrozen['reason']): Step {
    const at = this.ctx.now();
    const group: GroupRecord = { ...old, frozen: { reason, at } };
    return {
      group,
      ops: [{ op: 'putGroup', group }],
      after: () =>
        this.ctx.events.emit('securityNotice', {
          code: 'GROUP_FORKED',
          user: this.ctx.account().username,
          device: null,
          conversationId: `group:${old.groupId}`,
          groupId: old.groupId,
          message: "this group's history was rewritten by the server",
          at,
        }),
    };
  }

  private async leaveLocally(group: GroupRecord, removed: string[]): Promise<GroupRecord> {
    const account = this.ctx.account();
    const g = { ...group, members: group.members.filter((m) => m !== account.username) };
    await this.ctx.lock.run(() =>
      this.ctx.store.batch([
        { op: 'putGroup', group: g },
        { op: 'deleteOwnSenderKey', groupId: g.groupId },
        { op: 'deleteSenderKeys', groupId: g.groupId },
      ]),
    );
    this.ctx.unsubscribe(groupTopic(g.groupId));
    this.ctx.events.emit('groupChange', {
      groupId: g.groupId,
      name: g.name,
      members: g.members,
      removed: [...new Set([...removed, account.username])],
      added: [],
    });
    return g;
  }

  /**
   * A `group-change` notice from `origin` (PROTOCOL.md §8.7), with the caller holding the lock:
   * its record, verified against the chain we hold, is applied at once (store ops into `ops`,
   * events into `fx`), so a key server that keeps serving the old chain cannot hide a removal.
   * A record that does not verify is dropped (`FORGED_GROUP_CHANGE`); an admin-signed one that
   * differs from ours at a position we hold freezes the group. Without a record, or when we are
   * more than one record behind, the chain is fetched after the commit.
   */
  async applyChangeNotice(
    p: Extract<Payload, { kind: 'group-change' }>,
    origin: Origin,
    ops: StoreOp[],
    fx: Effects,
  ): Promise<void> {
    const fetchLater = (): void => {
      fx.after.push(
        () =>
          void this.refresh(p.groupId).catch((err: unknown) => this.ctx.events.emit('error', err)),
      );
    };
    const held = await this.ctx.store.getGroup(p.groupId);
    if (held?.frozen) return;
    if (!p.record || !held) return fetchLater();
    const heldState = this.stateOf(held);
    // Only a member (per the chain we hold) can vouch for a change; anyone else's notice is a hint.
    if (!heldState.members.has(origin.user)) return fetchLater();
    const forged = (): void => {
      fx.after.push(() =>
        this.ctx.events.emit('securityNotice', {
          code: 'FORGED_GROUP_CHANGE',
          user: origin.user,
          device: origin.device,
          conversationId: `group:${p.groupId}`,
          groupId: p.groupId,
          message:
            "a change to this group that does not verify against the group's history was dropped",
          at: this.ctx.now(),
        }),
      );
    };
    let raw: Uint8Array;
    let rec: MembershipRecord;
    try {
      raw = fromBase64(p.record);
      rec = decodeMembershipRecord(raw);
    } catch {
      return forged();
    }
    if (rec.groupId !== p.groupId) return forged();
    if (rec.seq > heldState.seq + 1) return fetchLater();
    const step = this.checkNoticeRecord(held, heldState, rec, raw);
    if (step === 'forged') return forged();
    if (step) {
      ops.push(...step.ops);
      fx.after.push(step.after);
    }
  }

  /**
   * A record at or just after our head: the next step (it extends our chain), a freeze (an admin
   * of our chain at that position signed something else there: a fork), null (we have it), or
   * 'forged' (it does not verify against our chain, or competes with ours without an admin's
   * signature).
   */
  private checkNoticeRecord(
    held: GroupRecord,
    heldState: GroupState,
    rec: MembershipRecord,
    raw: Uint8Array,
  ): Step | 'forged' | null {
    if (rec.seq === heldState.seq + 1) {
      try {
        const next = applyMembershipRecord(heldState, rec);
        return this.transition(held.groupId, held, [...held.chain, raw], next);
      } catch {
        return 'forged';
      }
    }
    const ours = held.chain[rec.seq]!;
    if (equalBytes(ours, raw)) return null;
    try {
      if (rec.seq === 0) {
        // Anyone can sign a genesis for any id; only our creator's second one is a fork.
        const genesis = decodeMembershipRecord(ours);
        if (
          genesis.actor.username !== rec.actor.username ||
          !equalBytes(genesis.actor.uik, rec.actor.uik)
        )
          return 'forged';
        applyMembershipRecord(null, rec);
      } else {
        // Only an admin's competing record proves a fork: any member can sign a valid `leave`
        // for any position, and must not be able to freeze the group for everyone with it.
        const prefix = verifyMembershipChain(held.chain.slice(0, rec.seq));
        const actor = prefix.members.get(rec.actor.username);
        if (!actor?.admin || !equalBytes(actor.uik, rec.actor.uik)) return 'forged';
        applyMembershipRecord(prefix, rec);
      }
    } catch {
      return 'forged';
    }
    return this.freeze(held, 'forked');
  }

  /**
   * Member devices verified against the chain's UIKs (excluding this device): the only devices
   * our sender key goes to (§8.2). Members come from the verified chain itself, and a device
   * counts only when its certificate is signed by the UIK the chain records for its user.
   */
  private async memberDevices(
    group: GroupRecord,
    state = this.stateOf(group),
  ): Promise<RemoteDevice[]> {
    const account = this.ctx.account();
    const out: RemoteDevice[] = [];
    await Promise.all(
      [...state.members].map(async ([m, { uik }]) => {
        try {
          const { devices } = await this.directory.devices(m);
          for (const d of devices) {
            if (m === account.username && d.deviceId === account.deviceId) continue;
            // Membership verified before handing out sender keys: the device must be certified by the chain's UIK.
            if (d.user === m && equalBytes(d.certificate.uik, uik)) out.push(d);
          }
        } catch (err) {
          this.ctx.events.emit('error', err);
        }
      }),
    );
    return out;
  }

  /** Send a payload to a group (one encryption, signed); returns it. */
  async send(
    groupId: string,
    input: PayloadInput,
    options: { id?: string } = {},
  ): Promise<Payload> {
    const group = await this.requireGroup(groupId);
    const state = this.stateOf(group);
    this.assertCurrent(state);
    const payload = this.messaging.make(input, options.id);
    const devices = await this.memberDevices(group, state);
    const plaintext = pad(encodePayload(payload));
    const account = this.ctx.account();
    const acked = isAcked(payload.kind);
    const now = this.ctx.now();
    const ops: StoreOp[] = [];
    if (payload.kind === 'text' || payload.kind === 'reply' || payload.kind === 'file') {
      ops.push({
        op: 'putMessage',
        message: this.messaging.outgoingRecord(
          `group:${groupId}`,
          payload,
          devices.filter((d) => d.user !== account.username).map((d) => `${d.user}:${d.deviceId}`),
        ),
      });
    }
    ops.push(...(await this.messaging.localEffect(payload, account.username)));
    if (acked)
      ops.push(
        ...outboxOps(
          payload.id,
          devices.map((d) => ({
            user: d.user,
            device: d.deviceId,
            topic: groupTopic(groupId),
            plaintext,
          })),
          now,
        ),
      );
    await this.ctx.store.batch(ops);
    await this.encryptAndPublish(group, devices, plaintext);
    return payload;
  }

  /** Re-send an outbox group message (re-encrypted on the current chain); not to a frozen group. */
  async resend(groupId: string, _messageId: string, plaintext: Uint8Array): Promise<void> {
    if ((await this.ctx.store.getGroup(groupId))?.frozen) return;
    const group = await this.requireGroup(groupId);
    const state = this.stateOf(group);
    this.assertCurrent(state);
    const devices = await this.memberDevices(group, state);
    await this.encryptAndPublish(group, devices, plaintext);
  }

  /**
   * Under the lock: make sure our sender key exists (rotating when due, or when a device it was
   * handed to is no longer a member device, §8.6) and was handed to every current member device,
   * then encrypt and publish.
   */
  private async encryptAndPublish(
    group: GroupRecord,
    memberDevices: RemoteDevice[],
    plaintext: Uint8Array,
  ): Promise<void> {
    const account = this.ctx.account();
    const { groupId } = group;
    const envelope = await this.ctx.lock.run(async () => {
      const now = this.ctx.now();
      // The chain may have moved (or been frozen) since the devices were looked up: the key goes
      // only to devices the chain stored now still vouches for.
      const current = await this.ctx.store.getGroup(groupId);
      if (!current?.members.includes(account.username))
        throw new ClientError('NOT_MEMBER', `not a member of group ${groupId}`);
      assertNotFrozen(current);
      let devices = memberDevices;
      if (compareChains(group.chain, current.chain) !== 'same') {
        const state = this.stateOf(current);
        devices = devices.filter((d) => {
          const uik = state.members.get(d.user)?.uik;
          return !!uik && equalBytes(uik, d.certificate.uik);
        });
      }
      const stored = await this.ctx.store.getOwnSenderKey(groupId);
      let own: OwnSenderKey;
      let distributedTo: string[];
      if (!stored) {
        own = createSenderKey({
          groupId,
          username: account.username,
          deviceId: account.deviceId,
          now,
        }).state;
        distributedTo = [];
      } else {
        own = deserializeOwnSenderKey(stored.state);
        distributedTo = stored.distributedTo;
        // A device that holds our key but is no longer a member device (logged out, lost,
        // its user reset or removed) must not read what comes next: start a new chain.
        const live = new Set(devices.map((d) => `${d.user}:${d.deviceId}`));
        const vanished = distributedTo.some((k) => !live.has(k));
        if (vanished || needsRotation(own, { now })) {
          own = rotateSenderKey(own, { now }).state;
          distributedTo = [];
        }
      }
      const missing = devices.filter((d) => !distributedTo.includes(`${d.user}:${d.deviceId}`));
      if (missing.length) {
        const dist = toBase64(encodeSenderKeyDistribution(senderKeyDistribution(own)));
        const sk = this.messaging.make({ kind: 'sender-key', groupId, distribution: dist });
        this.messaging.senderKeyIds.add(sk.id);
        const skPlain = pad(encodePayload(sk));
        await this.ctx.store.batch(
          outboxOps(
            sk.id,
            missing.map((d) => ({
              user: d.user,
              device: d.deviceId,
              topic: inboxTopic(d.user, d.deviceId),
              plaintext: skPlain,
            })),
            now,
          ),
        );
        await this.messaging.encryptAndPublish(
          missing.map((d) => ({ user: d.user, device: d.deviceId, plaintext: skPlain })),
          true,
        );
        distributedTo = [...distributedTo, ...missing.map((d) => `${d.user}:${d.deviceId}`)];
      }
      const env = groupEncrypt(own, plaintext);
      await this.ctx.store.batch([
        {
          op: 'putOwnSenderKey',
          record: {
            groupId,
            keyId: own.keyId,
            state: serializeOwnSenderKey(own),
            distributedTo,
            createdAt: own.createdAt,
            messageCount: own.iteration,
          },
        },
      ]);
      return env;
    });
    this.ctx.publish(groupTopic(groupId), envelope);
  }

  /** Accept a sender-key distribution that arrived pairwise from `origin` (caller holds the lock). */
  async acceptSenderKey(
    p: Extract<Payload, { kind: 'sender-key' }>,
    origin: Origin,
    ops: StoreOp[],
  ): Promise<void> {
    const dist = decodeSenderKeyDistribution(fromBase64(p.distribution));
    if (
      dist.groupId !== p.groupId ||
      dist.username !== origin.user ||
      dist.deviceId !== origin.device
    ) {
      this.ctx.events.emit(
        'error',
        new ClientError('BAD_INPUT', 'sender key names another sender or group'),
      );
      return;
    }
    let group = await this.ctx.store.getGroup(p.groupId);
    if (!group || !group.members.includes(origin.user)) {
      // A group we have not heard of yet (the sender key can overtake the group-change notice).
      try {
        group = await this.refreshUnlocked(p.groupId);
      } catch (err) {
        this.ctx.events.emit('error', err);
        return;
      }
    }
    if (
      !group ||
      !group.members.includes(origin.user) ||
      !group.members.includes(this.ctx.account().username)
    ) {
      return;
    }
    // The sending device must be certified by the UIK the chain records for its user: a member
    // who reset their identity is not one until an admin re-keyed them (the chain we hold may
    // be behind: fetch it once before refusing).
    if (!(await this.certifiedByChain(group, origin))) {
      const fresh = await this.refreshUnlocked(p.groupId).catch(() => null);
      if (!fresh || !(await this.certifiedByChain(fresh, origin))) {
        this.ctx.events.emit(
          'error',
          new ClientError(
            'NOT_MEMBER',
            `sender key of ${origin.user}/${origin.device} for group ${p.groupId}: the device is not certified by the key the group records`,
          ),
        );
        return;
      }
    }
    const state = createReceiverState(dist);
    ops.push({
      op: 'putSenderKey',
      record: {
        groupId: p.groupId,
        user: origin.user,
        device: origin.device,
        keyId: dist.keyId,
        state: serializeReceiverState(state),
        createdAt: this.ctx.now(),
      },
    });
  }

  /** True when the device `origin` is certified by the UIK `group`'s chain records for its user. */
  private async certifiedByChain(group: GroupRecord, origin: Origin): Promise<boolean> {
    const recorded = this.stateOf(group).members.get(origin.user)?.uik;
    if (!recorded) return false;
    const account = this.ctx.account();
    if (origin.user === account.username) return equalBytes(recorded, account.uik.publicKey);
    try {
      let { devices } = await this.directory.devices(origin.user);
      if (!devices.some((d) => d.deviceId === origin.device))
        ({ devices } = await this.directory.devices(origin.user, true));
      const device = devices.find((d) => d.deviceId === origin.device);
      if (device) return equalBytes(device.certificate.uik, recorded);
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
    // Key server out of reach: the session was set up with the key we trust for the user.
    const contact = await this.ctx.store.getContact(origin.user);
    return !!contact?.uik && equalBytes(contact.uik, recorded);
  }

  /** {@link refresh} while the lock is already held (first sender key of an unknown group). */
  private refreshUnlocked(groupId: string): Promise<GroupRecord | null> {
    return this.fetchAndAdopt(groupId, true);
  }

  /**
   * Handle an envelope from a group topic. Never throws. False when its sender key has not
   * arrived yet (the envelope is then parked, unless it came from the parked ones).
   */
  async handleGroupEnvelope(
    groupId: string,
    envelope: Uint8Array,
    fromPending = false,
  ): Promise<boolean> {
    const [handled] = await this.handleGroupBatch([{ groupId, envelope }], fromPending);
    return handled ?? true;
  }

  /**
   * Handle envelopes from group topics that arrived together, in order, committing a run of
   * ordinary messages as one store batch (issue 6), as {@link Messaging.handleInboxBatch} does
   * for the inbox. Each envelope is decrypted on the receiving chain state the ones before it
   * left (held in memory until the commit), and the advanced states go into the same store
   * batch as the messages they decrypted, so neither is ever stored without the other; ids seen
   * earlier in the batch count as seen. Payloads that read what earlier ones wrote (edits,
   * deletes, reactions, group changes) commit what came before and then go alone. An envelope
   * that fails to decrypt is reported and dropped, leaving the staged state as it was. Events and
   * receipts follow the commit. Returns, per envelope, false when its sender key has not arrived
   * (parked unless `fromPending`). Never throws; a failed commit is reported and its messages
   * are dropped (their senders re-send until a `delivered` receipt comes).
   */
  async handleGroupBatch(
    items: readonly { groupId: string; envelope: Uint8Array }[],
    fromPending = false,
  ): Promise<boolean[]> {
    const { store } = this.ctx;
    const account = this.ctx.account();
    const handled = items.map(() => true);
    const done: Effects[] = [];
    try {
      await this.ctx.lock.run(async () => {
        // Receiving chain states, seen ids and group records of this batch, not committed yet.
        const keys = new Map<string, SenderKeyRecord>();
        const groups = new Map<string, GroupRecord | null>();
        const seen = new Set<string>();
        const staged: StoreOp[] = [];
        const pending: Effects[] = [];
        const commit = async (): Promise<void> => {
          const ops = staged.splice(0);
          const fxs = pending.splice(0);
          groups.clear();
          try {
            if (ops.length) await store.batch(ops);
            done.push(...fxs);
          } catch (err) {
            // Read the states again from the store: the ones staged were not kept.
            keys.clear();
            seen.clear();
            this.ctx.events.emit('error', err);
          }
        };
        for (const [i, { groupId, envelope }] of items.entries()) {
          try {
            const header = peekGroupEnvelope(envelope);
            // MQTT 3.1.1 has no no-local: our own publishes come back.
            if (header.username === account.username && header.deviceId === account.deviceId)
              continue;
            const slot = `${groupId}|${header.username}|${header.deviceId}|${header.keyId}`;
            const rec =
              keys.get(slot) ??
              (await store.getSenderKey(groupId, header.username, header.deviceId, header.keyId));
            if (!rec) {
              handled[i] = false;
              if (!fromPending) await this.park(groupId, envelope);
              continue;
            }
            if (!groups.has(groupId)) groups.set(groupId, await store.getGroup(groupId));
            if (!groups.get(groupId)?.members.includes(header.username)) continue;
            const state = deserializeReceiverState(rec.state);
            const plain = groupDecrypt(state, envelope, groupId);
            const record: SenderKeyRecord = { ...rec, state: serializeReceiverState(state) };
            const ops: StoreOp[] = [{ op: 'putSenderKey', record }];
            let payload: Payload | null = null;
            try {
              payload = decodePayload(unpad(plain));
            } catch (err) {
              // The chain advanced: keep the new state, drop the garbage.
              this.ctx.events.emit('error', err);
            }
            // Sender keys and syncs come pairwise only; on a group topic they are ignored.
            if (payload?.kind === 'sender-key' || payload?.kind === 'sync') payload = null;
            const simple = payload === null || isBatchable(payload.kind);
            if (!simple) await commit();
            const fx: Effects = { after: [], acks: [], refreshGroups: [] };
            if (payload) {
              const { devices } = await this.directory.devices(header.username);
              const origin: Origin = {
                conversationId: `group:${groupId}`,
                user: header.username,
                device: header.deviceId,
                kind: devices.find((d) => d.deviceId === header.deviceId)?.kind ?? 'user',
                group: groupId,
              };
              if (seen.has(payload.id)) {
                // A copy of a message earlier in this batch: acknowledged again, not stored.
                if (isAcked(payload.kind))
                  fx.acks.push({ user: origin.user, device: origin.device, id: payload.id });
              } else await this.messaging.process(payload, origin, ops, fx);
            }
            staged.push(...ops);
            keys.set(slot, record);
            for (const op of ops) if (op.op === 'markSeen') for (const id of op.ids) seen.add(id);
            pending.push(fx);
            if (!simple) await commit();
          } catch (err) {
            this.ctx.events.emit('error', err);
          }
        }
        await commit();
      });
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
    for (const fx of done) {
      this.messaging.runEffects(fx);
      for (const g of fx.refreshGroups)
        void this.refresh(g).catch((err: unknown) => this.ctx.events.emit('error', err));
    }
    return handled;
  }

  /** Keep a group envelope whose sender key has not arrived yet (persisted, bounded). */
  private async park(groupId: string, envelope: Uint8Array): Promise<void> {
    const list = (await this.ctx.store.getSetting<PendingEnvelope[]>(PENDING)) ?? [];
    list.push({ groupId, envelope, at: this.ctx.now() });
    await this.ctx.store.setSetting(PENDING, list.slice(-MAX_PENDING));
  }

  /** A sender key arrived for `groupId`: retry the parked envelopes of that group. */
  async retryPending(groupId: string): Promise<void> {
    const list = (await this.ctx.store.getSetting<PendingEnvelope[]>(PENDING)) ?? [];
    const mine = list.filter((p) => p.groupId === groupId);
    if (!mine.length) return;
    const keep: PendingEnvelope[] = list.filter((p) => p.groupId !== groupId);
    const handled = await this.handleGroupBatch(mine, true);
    mine.forEach((p, i) => {
      if (!handled[i]) keep.push(p);
    });
    await this.ctx.store.setSetting(PENDING, keep);
  }

  /** REKEY_PENDING when the chain records another UIK for us than ours (our identity was reset). */
  private assertCurrent(state: GroupState): void {
    const account = this.ctx.account();
    const me = state.members.get(account.username);
    if (me && !equalBytes(me.uik, account.uik.publicKey)) {
      throw new ClientError(
        'REKEY_PENDING',
        `group ${state.groupId} still records the identity key this account had before its reset: waiting for an admin to re-add it`,
      );
    }
  }

  /** How `user`'s recorded key compares with the key this device trusts for them. */
  private async keyState(user: string, recorded: Uint8Array): Promise<KeyState> {
    const account = this.ctx.account();
    if (user === account.username)
      return equalBytes(recorded, account.uik.publicKey) ? 'current' : 'changed';
    const c = await this.ctx.store.getContact(user);
    if (c?.verified && c.pendingUik && !equalBytes(c.pendingUik, recorded)) return 'awaiting';
    if (c?.uik && !equalBytes(c.uik, recorded)) return 'changed';
    return 'current';
  }

  /**
   * Which members' recorded keys differ from the keys this device trusts. With `lookup` (the
   * default) the members' device lists are fetched first (cached for the directory TTL), which
   * is how a key change is noticed; an adopted change then also starts the automatic re-key.
   */
  async keyStatus(groupId: string, options: { lookup?: boolean } = {}): Promise<GroupKeyStatus> {
    const account = this.ctx.account();
    const group = await this.ctx.store.getGroup(groupId);
    if (!group || !group.members.includes(account.username))
      throw new ClientError('NOT_MEMBER', `not a member of group ${groupId}`);
    const state = this.stateOf(group);
    const others = group.members.filter((m) => m !== account.username);
    if (options.lookup !== false) {
      await mapLimited(others, LOOKUP_PARALLEL, (m) =>
        this.directory.devices(m).catch((err: unknown) => this.ctx.events.emit('error', err)),
      );
    }
    const states = new Map<string, KeyState>();
    for (const [m, rec] of state.members) states.set(m, await this.keyState(m, rec.uik));
    const selfStale = states.get(account.username) !== 'current';
    const admins = [...state.members].filter(([, rec]) => rec.admin).map(([m]) => m);
    return {
      groupId,
      selfStale,
      canRekey: !selfStale && !!state.members.get(account.username)?.admin,
      noAdmin: admins.every((m) => states.get(m) !== 'current'),
      changed: others
        .filter((m) => states.get(m) !== 'current')
        .map((m) => ({
          username: m,
          admin: state.members.get(m)!.admin,
          awaitingAcceptance: states.get(m) === 'awaiting',
        })),
    };
  }

  /**
   * Admin: take a member whose identity key changed back in under the key this device trusts
   * now — `remove` (old key), `add` (new key) and, for an admin, `promote` (PROTOCOL.md §8.1) —
   * then tell everyone; the next message of each member hands its new sender key to the
   * member's new devices. REKEY_PENDING (our own key is the replaced one), NOT_ADMIN,
   * NOT_MEMBER (`user` is not in the group), KEY_CHANGED (a verified contact's new key is not
   * accepted yet), NO_KEY_CHANGE (the recorded key is the trusted one).
   */
  async rekey(groupId: string, user: string): Promise<void> {
    const account = this.ctx.account();
    await this.refresh(groupId);
    let state = this.stateOf(await this.requireGroup(groupId));
    this.assertCurrent(state);
    if (!state.members.get(account.username)?.admin)
      throw new ClientError('NOT_ADMIN', 'only admins can re-key members');
    const member = state.members.get(user);
    if (!member || user === account.username)
      throw new ClientError('NOT_MEMBER', `${user} is not another member of group ${groupId}`);
    const { uik: published } = await this.directory.devices(user, true);
    if (!published) throw new ClientError('NO_DEVICES', `${user} has no identity key yet`);
    await this.directory.assertSendable(user);
    const trusted = (await this.ctx.store.getContact(user))?.uik ?? published;
    if (equalBytes(trusted, member.uik))
      throw new ClientError('NO_KEY_CHANGE', `group ${groupId} already records ${user}'s key`);
    const before = [...state.members.keys()];
    const actor = { username: account.username, uik: account.uik };
    for (let attempt = 0; ; attempt++) {
      const m = state.members.get(user);
      let op: 'remove' | 'add' | 'promote';
      if (m && !equalBytes(m.uik, trusted)) op = 'remove';
      else if (!m) op = 'add';
      else if (member.admin && !m.admin) op = 'promote';
      else break;
      const subject = { username: user, uik: op === 'remove' ? m!.uik : trusted };
      const record = createChange(state, { actor, createdAt: this.ctx.now(), op, subject });
      try {
        await this.ctx.http.appendGroupChange(groupId, toBase64(encodeMembershipRecord(record)));
        state = applyMembershipRecord(state, record);
      } catch (err) {
        // Another admin (perhaps re-keying the same member) appended first: continue from theirs.
        if (!isApiError(err, 'CHAIN_BROKEN') || attempt >= 5) throw err;
        await this.refresh(groupId);
        state = this.stateOf(await this.requireGroup(groupId));
        this.assertCurrent(state);
      }
    }
    await this.refresh(groupId);
    await this.notifyChange(groupId, [...new Set([...before, user, account.username])]);
  }

  /** Re-key `user` in every group we administer where the key we now trust is not recorded. */
  private async autoRekey(user: string): Promise<void> {
    try {
      const account = this.ctx.account();
      const contact = await this.ctx.store.getContact(user);
      if (!contact?.uik || (contact.verified && contact.pendingUik)) return;
      for (const g of await this.ctx.store.listGroups()) {
        if (!g.members.includes(user) || !g.admins.includes(account.username)) continue;
        const state = this.stateOf(g);
        const me = state.members.get(account.username);
        const rec = state.members.get(user);
        if (!me || !equalBytes(me.uik, account.uik.publicKey) || !rec) continue;
        if (equalBytes(rec.uik, contact.uik)) continue;
        await this.rekey(g.groupId, user).catch((err: unknown) => {
          if (!isClientError(err, 'NO_KEY_CHANGE')) this.ctx.events.emit('error', err);
        });
      }
    } catch (err) {
      this.ctx.events.emit('error', err);
    }
  }

  /**
   * After our identity reset: tell each group's admins (a pairwise notice from our new device,
   * which shows them the new key), so their clients can re-key us.
   */
  async announceReset(): Promise<void> {
    const account = this.ctx.account();
    for (const g of await this.ctx.store.listGroups()) {
      if (!g.members.includes(account.username)) continue;
      const admins = g.admins.filter((a) => a !== account.username);
      if (!admins.length) continue;
      await this.messaging
        .sendToUsers(admins, { kind: 'group-change', groupId: g.groupId })
        .catch((err: unknown) => this.ctx.events.emit('error', err));
    }
  }

  /** Typing in a group (not stored, not acknowledged). */
  async sendTyping(groupId: string, typing: boolean): Promise<void> {
    await this.send(groupId, { kind: 'typing', typing, conversation: `group:${groupId}` });
  }

  /** Decode the stored chain records (for UIs that show history). */
  static records(group: GroupRecord): ReturnType<typeof decodeMembershipRecord>[] {
    return group.chain.map((r) => decodeMembershipRecord(r));
  }
}

/** GROUP_FROZEN when the key server rewrote the group's history on this device (§8.7). */
function assertNotFrozen(group: GroupRecord): void {
  if (group.frozen) {
    throw new ClientError(
      'GROUP_FROZEN',
      `group ${group.groupId} is frozen: the key server served its history ${group.frozen.reason === 'forked' ? 'rewritten' : 'rolled back'}`,
    );
  }
}
