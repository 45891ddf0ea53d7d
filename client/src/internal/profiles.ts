/**
 * Profiles (PROTOCOL.md §12 "Profiles", docs/CLIENT.md "Profiles"): the user's display name and
 * picture, kept in the store, sent end-to-end encrypted as a `profile` payload to every contact,
 * every group member and our own other devices when it changes, and into a conversation the
 * first time we send there (or when members joined a group since), so late joiners get it too.
 * The picture is an encrypted blob like an attachment: the key server stores ciphertext only.
 * Receiving is apply/profile.ts.
 */
import {
  AVATAR_MIMES,
  MAX_AVATAR_BYTES,
  MAX_AVATAR_SIDE,
  MAX_DISPLAY_NAME_LENGTH,
  cleanDisplayName,
  type ProfileAvatar,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import type { Payload, PayloadInput } from '../payload.ts';
import type { ContactRecord, GroupRecord } from '../store/types.ts';
import type { Ctx } from './context.ts';
import { groupConversation, parseConversation } from './conversation.ts';
import { downloadDecrypted, uploadEncrypted } from './files.ts';

/** Setting that holds this user's own {@link Profile}. */
export const OWN_PROFILE_SETTING = 'profile.own';
/** Setting: per conversation, the profile version sent there and (groups) to which members. */
const SHARED_SETTING = 'profile.shared';

import type { Profile } from './event-shapes.ts';

export type { Profile };

/** A picture to set: the image bytes (already cropped and resized by the application). */
export interface AvatarInput {
  data: Uint8Array;
  mime: ProfileAvatar['mime'];
  width: number;
  height: number;
}

/** What {@link Profiles.set} changes: absent keeps the field, `null` removes it. */
export interface ProfileInput {
  displayName?: string | null;
  avatar?: AvatarInput | null;
}

type Shared = Record<string, { v: number; members?: string[] }>;

/** A display name as it will be sent: cleaned; `BAD_INPUT` when longer than 64 once cleaned. */
export function checkDisplayName(name: string): string {
  const n = cleanDisplayName(name);
  if (n.length > MAX_DISPLAY_NAME_LENGTH)
    throw new ClientError(
      'BAD_INPUT',
      `displayName must be at most ${MAX_DISPLAY_NAME_LENGTH} characters`,
    );
  return n;
}

function checkAvatar(a: AvatarInput): void {
  if (!(AVATAR_MIMES as readonly string[]).includes(a.mime))
    throw new ClientError('BAD_INPUT', `avatar.mime must be one of ${AVATAR_MIMES.join(', ')}`);
  if (a.data.length === 0 || a.data.length > MAX_AVATAR_BYTES)
    throw new ClientError('BAD_INPUT', `avatar must be 1 to ${MAX_AVATAR_BYTES} bytes`);
  for (const side of [a.width, a.height]) {
    if (!Number.isSafeInteger(side) || side < 1 || side > MAX_AVATAR_SIDE)
      throw new ClientError('BAD_INPUT', `avatar sides must be 1 to ${MAX_AVATAR_SIDE} pixels`);
  }
}

/** A contact record's profile fields, null when it has none. */
export function contactProfile(c: ContactRecord | null): Profile | null {
  if (!c || (c.profileVersion === undefined && c.displayName === undefined)) return null;
  return {
    ...(c.displayName !== undefined ? { displayName: c.displayName } : {}),
    ...(c.avatar !== undefined ? { avatar: c.avatar } : {}),
    version: c.profileVersion ?? 0,
  };
}

/** The payload that carries `p`. */
function payloadOf(p: Profile): PayloadInput {
  return {
    kind: 'profile',
    ...(p.displayName !== undefined ? { displayName: p.displayName } : {}),
    ...(p.avatar !== undefined ? { avatar: p.avatar } : {}),
    version: p.version,
  };
}

/** The sending paths a profile goes out on. */
export interface ProfileSends {
  /** Pairwise to one user (and a `sync` copy to our own devices). */
  direct(user: string, input: PayloadInput): Promise<Payload>;
  /** Once, encrypted for a group. */
  group(groupId: string, input: PayloadInput): Promise<Payload>;
  /** Pairwise to every device of each user (ours included), in one fan-out. */
  users(users: string[], input: PayloadInput): Promise<Payload>;
  isBlocked(user: string): boolean;
}

/** The engine's `profile` API and the sharing rules. */
export class Profiles {
  /** Sharing runs one at a time, so the markers in {@link SHARED_SETTING} never race. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Shares queued and not begun yet, by conversation. */
  readonly #queuedShares = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: Ctx,
    private readonly sends: ProfileSends,
  ) {}

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** This user's profile, null when never set. */
  async own(): Promise<Profile | null> {
    return (await this.ctx.store.getSetting<Profile>(OWN_PROFILE_SETTING)) ?? null;
  }

  /** Store a new own profile (a guest's name at sign-up); not sent. */
  async saveOwn(input: ProfileInput): Promise<Profile> {
    const old = await this.own();
    let avatar = old?.avatar;
    if (input.avatar === null) avatar = undefined;
    else if (input.avatar !== undefined) {
      checkAvatar(input.avatar);
      const ref = await uploadEncrypted(this.ctx.http, input.avatar.data);
      const { mime, width, height } = input.avatar;
      avatar = { ...ref, mime, width, height };
    }
    let displayName = old?.displayName;
    if (input.displayName === null) displayName = undefined;
    else if (input.displayName !== undefined) {
      const n = checkDisplayName(input.displayName);
      displayName = n === '' ? undefined : n;
    }
    const profile: Profile = {
      ...(displayName !== undefined ? { displayName } : {}),
      ...(avatar !== undefined ? { avatar } : {}),
      // Strictly above the old version, even if this clock is behind the device that set it.
      version: Math.max(this.ctx.now(), (old?.version ?? 0) + 1),
    };
    await this.ctx.store.setSetting(OWN_PROFILE_SETTING, profile);
    this.ctx.events.emit('profile', { user: this.ctx.account().username, profile });
    return profile;
  }

  /**
   * Change the profile and send it to every contact, every member of our groups and our own
   * other devices (one pairwise fan-out); returns it as stored.
   */
  async set(input: ProfileInput): Promise<Profile> {
    const profile = await this.saveOwn(input);
    await this.serial(async () => {
      const me = this.ctx.account().username;
      const contacts = (await this.ctx.store.listContacts()).map((c) => c.username);
      const groups = (await this.ctx.store.listGroups()).filter(
        (g) => g.members.includes(me) && !g.frozen,
      );
      const users = [...new Set([me, ...contacts, ...groups.flatMap((g) => g.members)])].filter(
        (u) => u === me || !this.sends.isBlocked(u),
      );
      await this.sends.users(users, payloadOf(profile));
      const shared: Shared = {};
      for (const u of users) if (u !== me) shared[`dm:${u}`] = { v: profile.version };
      for (const g of groups)
        shared[groupConversation(g.groupId)] = { v: profile.version, members: g.members };
      await this.ctx.store.setSetting(SHARED_SETTING, shared);
    });
    return profile;
  }

  /** A user's profile (our own for our username), null when none is known. */
  async of(user: string): Promise<Profile | null> {
    if (user === this.ctx.account().username) return this.own();
    return contactProfile(await this.ctx.store.getContact(user));
  }

  /** The decrypted picture of `user` (verified against its digest), null when they have none. */
  async avatar(user: string): Promise<Uint8Array | null> {
    const a = (await this.of(user))?.avatar;
    return a ? downloadDecrypted(this.ctx.http, a) : null;
  }

  /**
   * Send our profile into `conversationId` unless this version went there already (for a
   * group: to all of its current members). Called after we send a message there and when a
   * group we are in gains members, so a new contact or a late joiner gets it.
   */
  share(conversationId: string): Promise<void> {
    // A share of this conversation already queued and not begun reads everything afresh when it
    // begins, so a call now asks for nothing more: a burst of sends into one conversation costs a
    // few shares (each reads the own profile and the markers), not one a message (issue 23).
    const queued = this.#queuedShares.get(conversationId);
    if (queued !== undefined) return queued;
    const share = this.serial(async () => {
      this.#queuedShares.delete(conversationId);
      const profile = await this.own();
      if (!profile) return;
      const shared = (await this.ctx.store.getSetting<Shared>(SHARED_SETTING)) ?? {};
      const was = shared[conversationId];
      const t = parseConversation(conversationId);
      let group: GroupRecord | null = null;
      if (t.type === 'group') {
        group = await this.ctx.store.getGroup(t.groupId);
        if (!group || group.frozen || !group.members.includes(this.ctx.account().username)) return;
      }
      const seen = new Set(was?.members ?? []);
      const fresh =
        was?.v === profile.version && (!group || group.members.every((m) => seen.has(m)));
      if (fresh) return;
      if (t.type === 'group') await this.sends.group(t.groupId, payloadOf(profile));
      else if (t.user === this.ctx.account().username || this.sends.isBlocked(t.user)) return;
      else await this.sends.direct(t.user, payloadOf(profile));
      shared[conversationId] = {
        v: profile.version,
        ...(group ? { members: group.members } : {}),
      };
      await this.ctx.store.setSetting(SHARED_SETTING, shared);
    });
    this.#queuedShares.set(conversationId, share);
    return share;
  }
}
