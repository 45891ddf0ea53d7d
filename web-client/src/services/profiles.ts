/**
 * Profiles as the views show them (docs/WEB.md "Profiles", PROTOCOL.md §12 "Profiles"): the
 * engine's `profile` API behind a small port, and the session's {@link ProfileDirectory}, which
 * caches each user's display name and picture and says how to name them.
 *
 * Identity rules ([PROFILE-3], docs/SECURITY.md "Profiles"): a display name is the user's claim
 * and never replaces the username — every place that shows a display name shows the `@username`
 * beside it, and a display name that looks like another known user's name or username is
 * flagged. Safety numbers and verification name the username alone. A picture is shown only
 * when its decrypted bytes are a raster image by their magic numbers (`media-type.ts`), from an
 * object URL typed by those bytes.
 */
import type { SottoClient } from '@sotto/client';
import { inlineImageType, SNIFF_BYTES } from './media-type.ts';

/** A user's profile as received (our own for our name). */
export interface ProfileInfo {
  displayName?: string;
  /** They have a picture ({@link ProfilePort.avatar} fetches it). */
  hasAvatar: boolean;
}

/** A picture to set, already cropped square and resized (see `avatar-image.ts`). */
export interface AvatarUpload {
  bytes: Uint8Array;
  mime: 'image/jpeg' | 'image/webp' | 'image/png';
  width: number;
  height: number;
}

/** What the views can do with profiles. */
export interface ProfilePort {
  /** Our own profile, null before one was set. */
  own(): Promise<ProfileInfo | null>;
  /**
   * Change our profile (absent keeps a field, `null` removes it) and send it, encrypted, to our
   * contacts, group members and other devices. BAD_INPUT for a name over 64 characters.
   */
  set(input: { displayName?: string | null; avatar?: AvatarUpload | null }): Promise<void>;
  /** `user`'s profile, null when none is known. */
  of(user: string): Promise<ProfileInfo | null>;
  /** `user`'s decrypted picture (their claim: check the bytes), null without one. */
  avatar(user: string): Promise<Uint8Array | null>;
}

/** The port over an engine (read each call). */
export function createProfilePort(engine: () => SottoClient): ProfilePort {
  const info = (p: { displayName?: string; avatar?: unknown } | null): ProfileInfo | null =>
    p
      ? {
          ...(p.displayName !== undefined ? { displayName: p.displayName } : {}),
          hasAvatar: p.avatar !== undefined,
        }
      : null;
  return {
    own: async () => info(await engine().profile.get()),
    async set(input) {
      const { avatar } = input;
      await engine().profile.set({
        ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
        ...(avatar === null
          ? { avatar: null }
          : avatar !== undefined
            ? {
                avatar: {
                  data: avatar.bytes,
                  mime: avatar.mime,
                  width: avatar.width,
                  height: avatar.height,
                },
              }
            : {}),
      });
    },
    of: async (user) => info(await engine().profile.of(user)),
    avatar: (user) => engine().profile.avatar(user),
  };
}

/** How to name a user. */
export interface UserLabel {
  /** What to show first: the display name, or the username when there is none. */
  name: string;
  /** `@username` when {@link name} is a display name (always shown beside it), else ''. */
  handle: string;
  /**
   * The display name looks like another known user's username or display name (or ours): the
   * views flag it ("not @alice").
   */
  lookalike: string | null;
}

/**
 * A name folded for comparison: compatibility forms (full-width, ligatures) made plain,
 * accents and case dropped, and white space, dots, dashes and underscores removed, so
 * "Alice", "ａｌｉｃｅ", "A.lice" and "alicé" compare equal.
 */
export function foldName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[\s._\-·]/gu, '');
}

/** Initials for an avatar without a picture: first letters of the first two words. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/u).filter(Boolean);
  const first = (w: string | undefined): string => [...(w ?? '')][0] ?? '';
  return (first(words[0]) + (words.length > 1 ? first(words[words.length - 1]) : '')).toUpperCase();
}

interface Entry {
  info: ProfileInfo | null;
  /** Object URL of the picture, typed by its bytes; null: none, or not a raster image. */
  url: string | null;
}

/** The session's cache of profiles: labels and pictures, loaded on first use. */
export class ProfileDirectory {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<void>>();
  /** The newest load of each user (an older one finishing later is dropped). */
  private readonly generations = new Map<string, number>();
  /** Grows with every profile loaded: views that draw names re-render when it moved. */
  revision = 0;

  constructor(
    private readonly port: ProfilePort,
    private readonly me: string,
    /** Something changed: the views re-render (the session's `live` event). */
    private readonly changed: () => void,
  ) {}

  /** How to name `user` now (loads the profile in the background on first use). */
  label(user: string): UserLabel {
    const displayName = this.entry(user)?.info?.displayName;
    if (displayName === undefined) return { name: user, handle: '', lookalike: null };
    return { name: displayName, handle: `@${user}`, lookalike: this.lookalike(user, displayName) };
  }

  /** Object URL of `user`'s picture, null when none (shown as initials). */
  avatarUrl(user: string): string | null {
    return this.entry(user)?.url ?? null;
  }

  /** Another user whose name `displayName` of `user` can be taken for, or null. */
  private lookalike(user: string, displayName: string): string | null {
    const folded = foldName(displayName);
    if (folded === '' || folded === foldName(user)) return null;
    for (const [other, e] of this.entries) {
      if (other === user) continue;
      const otherName = e.info?.displayName;
      if (foldName(other) === folded || (otherName && foldName(otherName) === folded)) return other;
    }
    if (foldName(this.me) === folded) return this.me;
    return null;
  }

  private entry(user: string): Entry | undefined {
    const e = this.entries.get(user);
    if (e === undefined && !this.loading.has(user)) void this.load(user);
    return e;
  }

  /** (Re)load `user`'s profile and picture, then tell the views. */
  load(user: string): Promise<void> {
    // A profile event can start a load while an earlier one (begun before the profile arrived)
    // is still reading: only the latest load's answer is kept, or the older, empty one could
    // land last and hide the name (seen in the profiles browser test).
    const generation = (this.generations.get(user) ?? 0) + 1;
    this.generations.set(user, generation);
    const run = async (): Promise<void> => {
      let info: ProfileInfo | null = null;
      let url: string | null = null;
      try {
        info = await this.port.of(user);
        if (info?.hasAvatar) {
          const bytes = await this.port.avatar(user);
          const type = bytes ? inlineImageType(bytes.subarray(0, SNIFF_BYTES)) : null;
          if (bytes && type) url = URL.createObjectURL(new Blob([bytes.slice()], { type }));
        }
      } catch (err) {
        console.warn(`could not load the profile of ${user}`, err);
      }
      if (this.generations.get(user) !== generation) {
        if (url) URL.revokeObjectURL(url);
        return;
      }
      const old = this.entries.get(user)?.url;
      if (old) URL.revokeObjectURL(old);
      this.entries.set(user, { info, url });
      this.loading.delete(user);
      this.revision++;
      this.changed();
    };
    const p = run();
    this.loading.set(user, p);
    return p;
  }

  /** Release the pictures' object URLs (log out). */
  dispose(): void {
    for (const e of this.entries.values()) if (e.url) URL.revokeObjectURL(e.url);
    this.entries.clear();
  }
}
