/**
 * Group administration (PROTOCOL.md §8.1): creating a group, appending signed changes and
 * telling the members (one pairwise fan-out), and re-keying a member whose identity key
 * changed — automatically for a key adopted on first use, after acceptance for a verified
 * contact — plus the key status the UI shows. A device whose own recorded key is the replaced
 * one refuses to send (REKEY_PENDING) until an admin re-added it.
 */
import {
  applyMembershipRecord,
  createChange,
  createGenesis,
  encodeMembershipRecord,
  equalBytes,
  toBase64,
} from '@sotto/crypto';
import { ClientError, isClientError } from '../../errors.ts';
import { isApiError } from '../../http.ts';
import { newMessageId } from '../../payload.ts';
import type { Ctx } from '../context.ts';
import { mapLimited } from '../limit.ts';
import { LOOKUP_PARALLEL, type Pairwise } from '../pairwise.ts';
import type { Directory } from '../trust.ts';
import type { GroupChain } from './chain.ts';

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

/** Creating groups, changing membership and re-keying members (PROTOCOL.md §8.1). */
export class GroupAdmin {
  constructor(
    private readonly ctx: Ctx,
    private readonly directory: Directory,
    private readonly chain: GroupChain,
    private readonly pairwise: Pairwise,
  ) {
    // A key adopted without the user's decision (unverified contact, trust on first use) is
    // taken into the groups we administer at once; a verified contact's change waits for
    // acceptance and then for the admin's explicit re-key.
    ctx.events.on('keyChange', (e) => {
      if (!e.blocked) queueMicrotask(() => void this.autoRekey(e.user));
    });
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
    await this.chain.refresh(groupId);
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
    await this.chain.refresh(groupId);
    const group = await this.chain.requireGroup(groupId);
    const state = this.chain.stateOf(group);
    this.chain.assertCurrent(state);
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
    await this.chain.refresh(groupId);
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
      await this.pairwise.sendToUsers(users, {
        kind: 'group-change',
        groupId,
        ...(record ? { record } : {}),
      });
    } catch (err) {
      this.ctx.events.emit('error', err);
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
    const state = this.chain.stateOf(group);
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
    await this.chain.refresh(groupId);
    let state = this.chain.stateOf(await this.chain.requireGroup(groupId));
    this.chain.assertCurrent(state);
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
        await this.chain.refresh(groupId);
        state = this.chain.stateOf(await this.chain.requireGroup(groupId));
        this.chain.assertCurrent(state);
      }
    }
    await this.chain.refresh(groupId);
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
        const state = this.chain.stateOf(g);
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
      await this.pairwise
        .sendToUsers(admins, { kind: 'group-change', groupId: g.groupId })
        .catch((err: unknown) => this.ctx.events.emit('error', err));
    }
  }

  /**
   * After our guest rename from `from` (PROTOCOL.md §3.3): append our self-signed `rename`
   * record to every group whose chain still names us as `from` with our key, so each member's
   * client moves us to our new name. A chain that moved on meanwhile is fetched and tried again.
   * Returns the groups still naming `from` (none: done).
   */
  async renameSelf(from: string): Promise<string[]> {
    const account = this.ctx.account();
    const left: string[] = [];
    for (const g of await this.ctx.store.listGroups()) {
      if (!g.members.includes(from) || g.frozen) continue;
      let done = false;
      for (let attempt = 0; attempt < 3 && !done; attempt++) {
        const group = (await this.chain.refresh(g.groupId)) ?? g;
        const state = this.chain.stateOf(group);
        const held = state.members.get(from);
        if (!held || !equalBytes(held.uik, account.uik.publicKey)) {
          done = true; // moved already, or not us: nothing to sign
          break;
        }
        const record = createChange(state, {
          op: 'rename',
          actor: { username: from, uik: account.uik },
          to: account.username,
          createdAt: this.ctx.now(),
        });
        try {
          await this.ctx.http.appendGroupChange(
            g.groupId,
            toBase64(encodeMembershipRecord(record)),
          );
          await this.chain.refresh(g.groupId);
          done = true;
        } catch (err) {
          // Someone appended first (or our own record went in on another path): look again.
          if (!isApiError(err, 'CHAIN_BROKEN') && !isApiError(err, 'FORK')) throw err;
        }
      }
      if (!done) left.push(g.groupId);
    }
    return left;
  }
}
