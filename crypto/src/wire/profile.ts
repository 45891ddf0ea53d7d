/**
 * The fields of a `profile` payload (PROTOCOL.md §12 "Profiles"): a user's display name and
 * picture, sent end-to-end encrypted to their contacts, their groups and their own devices.
 * Defined once here; `payload.ts` decodes the kind with {@link decodeProfileFields}, and senders
 * clean a name with the same {@link cleanDisplayName} receivers apply, so both sides agree on
 * what a name may contain.
 *
 * A profile is the whole profile, not a change: a missing `displayName` or `avatar` means the
 * user has none. `version` orders profiles (a receiver keeps the highest it has seen), so a
 * device that re-sends an old copy to a late joiner never overwrites a newer one elsewhere.
 */

/** Longest display name, in UTF-16 code units, after {@link cleanDisplayName}. */
export const MAX_DISPLAY_NAME_LENGTH = 64;

/** Longest display name as sent, before cleaning (the rest would be stripped characters). */
export const MAX_RAW_DISPLAY_NAME_LENGTH = 256;

/** Largest profile picture, in bytes of the image (before encryption). */
export const MAX_AVATAR_BYTES = 128 * 1024;

/** Largest side of a profile picture, in pixels. */
export const MAX_AVATAR_SIDE = 512;

/** Image formats a profile picture may use. */
export const AVATAR_MIMES = ['image/jpeg', 'image/webp', 'image/png'] as const;

/**
 * The picture: an encrypted blob in the key server's blob store, exactly like an attachment
 * (PROTOCOL.md §9.2) — `key` is its secretstream key, `hash` the digest of the ciphertext, both
 * base64url; the server holds only the ciphertext.
 */
export interface ProfileAvatar {
  blobId: string;
  key: string;
  hash: string;
  /** Bytes of the image. */
  size: number;
  mime: (typeof AVATAR_MIMES)[number];
  width: number;
  height: number;
}

/** The kind fields of a `profile` payload. */
export interface ProfileFields {
  /** Cleaned ({@link cleanDisplayName}), 1–64 UTF-16 units; absent: no display name. */
  displayName?: string;
  avatar?: ProfileAvatar;
  /**
   * Orders the profiles of one user: the sender's clock (ms) when the user last changed it.
   * Absent in profiles of older clients; receivers then use the payload's `ts`.
   */
  version?: number;
}

/** A field problem: payload.ts turns it into `PayloadError('INVALID_FIELD')`. */
export class ProfileFieldError extends Error {
  override readonly name = 'ProfileFieldError';
}

function fail(field: string, why: string): never {
  throw new ProfileFieldError(`payload field ${field} ${why}`);
}

/**
 * Characters a name never keeps: controls (Cc), format characters (Cf: the bidi overrides and
 * isolates that reorder what is shown, zero-width joiners and spaces that make look-alikes),
 * line and paragraph separators, and the private-use and unassigned ranges a font may draw as
 * anything.
 */
const STRIPPED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/gu;

/**
 * A display name as shown: {@link STRIPPED} characters removed, runs of white space made one
 * space, trimmed. May be empty (then there is no display name).
 */
export function cleanDisplayName(name: string): string {
  return name.replace(STRIPPED, '').replace(/\s+/gu, ' ').trim();
}

const B64 = /^[A-Za-z0-9_-]{1,64}$/;
const ENTITY = /^[A-Za-z0-9_-]{1,64}$/;

function intIn(
  o: Record<string, unknown>,
  field: string,
  min: number,
  max: number,
  label = field,
): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    fail(label, `must be an integer from ${min} to ${max}`);
  return v;
}

function decodeAvatar(value: unknown): ProfileAvatar {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail('avatar', 'must be an object');
  const a = value as Record<string, unknown>;
  const text = (field: string, pattern: RegExp): string => {
    const v = a[field];
    if (typeof v !== 'string' || !pattern.test(v)) fail(`avatar.${field}`, 'is malformed');
    return v;
  };
  const mime = a.mime;
  if (!(AVATAR_MIMES as readonly unknown[]).includes(mime))
    fail('avatar.mime', `must be one of ${AVATAR_MIMES.join(', ')}`);
  return {
    blobId: text('blobId', ENTITY),
    key: text('key', B64),
    hash: text('hash', B64),
    size: intIn(a, 'size', 1, MAX_AVATAR_BYTES, 'avatar.size'),
    mime: mime as ProfileAvatar['mime'],
    width: intIn(a, 'width', 1, MAX_AVATAR_SIDE, 'avatar.width'),
    height: intIn(a, 'height', 1, MAX_AVATAR_SIDE, 'avatar.height'),
  };
}

/**
 * The fields of a `profile` payload object. The name is cleaned here, so every receiver stores
 * and shows the cleaned form; one that is longer than {@link MAX_DISPLAY_NAME_LENGTH} after
 * cleaning, or longer than {@link MAX_RAW_DISPLAY_NAME_LENGTH} as sent, is refused. Throws
 * {@link ProfileFieldError}.
 */
export function decodeProfileFields(o: Record<string, unknown>): ProfileFields {
  const out: ProfileFields = {};
  if (o.displayName !== undefined) {
    const raw = o.displayName;
    if (typeof raw !== 'string' || raw.length > MAX_RAW_DISPLAY_NAME_LENGTH)
      fail('displayName', `must be a string of at most ${MAX_RAW_DISPLAY_NAME_LENGTH}`);
    const name = cleanDisplayName(raw);
    if (name.length > MAX_DISPLAY_NAME_LENGTH)
      fail('displayName', `is longer than ${MAX_DISPLAY_NAME_LENGTH} once cleaned`);
    if (name !== '') out.displayName = name;
  }
  if (o.avatar !== undefined) out.avatar = decodeAvatar(o.avatar);
  if (o.version !== undefined) out.version = intIn(o, 'version', 0, Number.MAX_SAFE_INTEGER);
  return out;
}
