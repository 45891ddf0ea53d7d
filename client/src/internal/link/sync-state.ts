/**
 * The state a linked device inherits (PROTOCOL.md §13): trusted contact keys,
 * verification marks, group chains and a reference to the history blob. The
 * existing device builds it ({@link syncState}); the new device parses it
 * defensively ({@link parseState}) and stores it ({@link applyState}).
 */
import {
  decodeProfileFields,
  fromBase64,
  fromUtf8,
  toBase64,
  utf8,
  verifyMembershipChain,
  MAX_LINK_STATE_BYTES,
} from '@sotto/crypto';
import type { ClientError } from '../../errors.ts';
import type { ContactRecord, GroupRecord, StoreOp } from '../../store/types.ts';
import type { Ctx } from '../context.ts';
import { OWN_PROFILE_SETTING, contactProfile, type Profile } from '../profiles.ts';
import { parseHistoryRef, type HistoryRef } from '../history.ts';
import type { LinkerDeps } from './types.ts';

/** The state synced to a linked device (JSON inside the sealed bundle). */
export interface LinkState {
  v: 1;
  contacts: {
    username: string;
    uik: string;
    verified: boolean;
    displayName?: string;
    /** The contact's profile as received (PROTOCOL.md §12 "Profiles"), with its version. */
    profile?: Profile;
  }[];
  /** Our own profile. */
  profile?: Profile;
  /** Groups we are a member of, with the membership chain we verified (base64url records). */
  groups: { groupId: string; chain: string[] }[];
  /** The encrypted message history (history.ts), absent when not copied. */
  history?: HistoryRef;
}

/** The state a new device gets: trusted keys, verification marks, group chains. */
export async function syncState(ctx: Ctx, history: HistoryRef | null): Promise<Uint8Array> {
  const me = ctx.account().username;
  const contacts = (await ctx.store.listContacts())
    .filter((c) => c.uik !== null && c.username !== me)
    .map((c) => ({
      username: c.username,
      uik: toBase64(c.uik!),
      verified: c.verified,
      ...(c.displayName !== undefined ? { displayName: c.displayName } : {}),
      ...profileField(contactProfile(c)),
    }));
  const own = await ctx.store.getSetting<Profile>(OWN_PROFILE_SETTING);
  const groups = (await ctx.store.listGroups())
    .filter((g) => g.members.includes(me))
    .map((g) => ({ groupId: g.groupId, chain: g.chain.map((r) => toBase64(r)) }));
  const full: LinkState = {
    v: 1,
    contacts,
    groups,
    ...profileField(own ?? null),
    ...(history ? { history } : {}),
  };
  let bytes = utf8(JSON.stringify(full));
  // Very long group histories: send ids only; the new device fetches and verifies the chains.
  if (bytes.length > MAX_LINK_STATE_BYTES) {
    bytes = utf8(
      JSON.stringify({ ...full, groups: groups.map((g) => ({ groupId: g.groupId, chain: [] })) }),
    );
  }
  if (bytes.length > MAX_LINK_STATE_BYTES) bytes = utf8(JSON.stringify({ ...full, groups: [] }));
  return bytes;
}

function profileField(p: Profile | null): { profile?: Profile } {
  return p ? { profile: p } : {};
}

/**
 * A synced profile checked like a received `profile` payload (the name cleaned, the picture's
 * fields in range), null when absent or malformed.
 */
function checkedProfile(value: unknown): Profile | null {
  if (typeof value !== 'object' || value === null) return null;
  try {
    const f = decodeProfileFields(value as Record<string, unknown>);
    return f.version === undefined ? null : { ...f, version: f.version };
  } catch {
    return null;
  }
}

/** A contact record's profile fields from a synced profile. */
function profileFields(p: Profile | null): Partial<ContactRecord> {
  if (!p) return {};
  return {
    ...(p.displayName !== undefined ? { displayName: p.displayName } : {}),
    ...(p.avatar !== undefined ? { avatar: p.avatar } : {}),
    profileVersion: p.version,
  };
}

/** Parse the synced state defensively: it came from our own device, but a bug must not break linking. */
export function parseState(bytes: Uint8Array): LinkState & { historyError?: ClientError } {
  const empty: LinkState = { v: 1, contacts: [], groups: [] };
  try {
    const raw = JSON.parse(fromUtf8(bytes)) as Partial<LinkState>;
    let history: HistoryRef | undefined;
    let historyError: ClientError | undefined;
    try {
      history = parseHistoryRef(raw.history);
    } catch (err) {
      historyError = err as ClientError;
    }
    return {
      ...(history ? { history } : {}),
      ...(historyError ? { historyError } : {}),
      ...profileField(checkedProfile(raw.profile)),
      v: 1,
      contacts: Array.isArray(raw.contacts)
        ? raw.contacts.filter(
            (c) =>
              typeof c?.username === 'string' &&
              typeof c.uik === 'string' &&
              typeof c.verified === 'boolean',
          )
        : [],
      groups: Array.isArray(raw.groups)
        ? raw.groups.filter((g) => typeof g?.groupId === 'string' && Array.isArray(g.chain))
        : [],
    };
  } catch {
    return empty;
  }
}

/** Store the synced contacts and group chains on the new device. */
export async function applyState(ctx: Ctx, deps: LinkerDeps, state: LinkState): Promise<void> {
  const now = ctx.now();
  const ops: StoreOp[] = [];
  for (const c of state.contacts) {
    try {
      ops.push({
        op: 'putContact',
        contact: {
          username: c.username,
          uik: fromBase64(c.uik),
          verified: c.verified,
          pendingUik: null,
          ...(typeof c.displayName === 'string' ? { displayName: c.displayName } : {}),
          ...profileFields(checkedProfile(c.profile)),
          updatedAt: now,
        },
      });
    } catch (err) {
      ctx.events.emit('error', err);
    }
  }
  if (state.profile) ops.push({ op: 'setSetting', key: OWN_PROFILE_SETTING, value: state.profile });
  for (const g of state.groups) {
    if (g.chain.length === 0) continue;
    try {
      const chain = g.chain.map((r) => fromBase64(r));
      const verified = verifyMembershipChain(chain);
      if (verified.groupId !== g.groupId) continue;
      const members = [...verified.members.keys()].sort();
      const group: GroupRecord = {
        groupId: g.groupId,
        name: verified.name,
        chain,
        members,
        admins: members.filter((m) => verified.members.get(m)!.admin),
        updatedAt: now,
      };
      ops.push({ op: 'putGroup', group });
    } catch (err) {
      ctx.events.emit('error', err);
    }
  }
  await ctx.store.batch(ops);
  // Catch up with changes made since the existing device's copy (forks and rollbacks refused).
  for (const g of state.groups) {
    await deps.refreshGroup(g.groupId).catch((err: unknown) => ctx.events.emit('error', err));
  }
}
