/**
 * Shapes the engine's events carry (`context.ts` `ClientEvents`) that belong to modules which
 * themselves use the context: defined here, apart from both, so no import cycle forms.
 * `pins.ts` and `profiles.ts` re-export them.
 */
import type { ProfileAvatar } from '@sotto/crypto';

/** A pinned message of a conversation. */
export interface PinnedMessage {
  messageId: string;
  /** Who pinned it. */
  by: string;
  /** The pinner's clock when they pinned it (ms). */
  at: number;
}

/** A user's profile as the engine holds it. */
export interface Profile {
  /** Cleaned display name; absent: none (show the username). */
  displayName?: string;
  /** The picture's encrypted blob; `Profiles.avatar` fetches and decrypts it. */
  avatar?: ProfileAvatar;
  /** Orders profiles: a received one replaces the held one only when its version is higher. */
  version: number;
}
