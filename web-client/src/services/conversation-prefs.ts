/**
 * Per-conversation choices of this device: muted (for 1 hour, 8 hours or until unmuted) and
 * archived. Kept in the engine's store as one setting (`conversationPrefs`), so they are as
 * protected as the messages and never leave the device. A muted conversation still counts
 * unread messages; it only makes no sound and shows no notification. An archived one leaves the
 * main chat list for its "Archived" section until the user takes it out again.
 */
import type { HistoryStore } from './history.ts';
import {
  CONVERSATION_PREFS_SETTING as SETTING,
  mutedUntilOf,
  type ConversationPref,
} from './notify-rules.ts';

export type { ConversationPref } from './notify-rules.ts';

/** How long a mute lasts: an hour, eight hours, or until unmuted. */
export type MuteDuration = '1h' | '8h' | 'forever';

const HOUR_MS = 3_600_000;

/** The length of each timed mute (ms). */
export const MUTE_MS: Record<Exclude<MuteDuration, 'forever'>, number> = {
  '1h': HOUR_MS,
  '8h': 8 * HOUR_MS,
};

/** The per-conversation choices, loaded once, written through on every change. */
export class ConversationPrefs {
  private prefs: Record<string, ConversationPref> = {};
  /** Resolves once the saved choices are read. */
  readonly loaded: Promise<void>;

  constructor(
    private readonly history: HistoryStore,
    private readonly changed: () => void,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.loaded = history.setting<Record<string, ConversationPref>>(SETTING, {}).then(
      (saved) => {
        // Choices made before the read finished win over the saved ones.
        this.prefs = { ...saved, ...this.prefs };
        // Nothing saved: nothing to show differently (no re-render at every start).
        if (Object.keys(saved).length > 0) this.changed();
      },
      (err: unknown) => console.warn('could not read conversation settings', err),
    );
  }

  /** Until when `id` is muted: ms since the epoch, -1 for forever, 0 when it is not muted. */
  mutedUntil(id: string): number {
    return mutedUntilOf(this.prefs, id, this.now());
  }

  /** Whether `id` is muted now. */
  isMuted(id: string): boolean {
    return this.mutedUntil(id) !== 0;
  }

  /** Whether `id` is archived. */
  isArchived(id: string): boolean {
    return this.prefs[id]?.archived === true;
  }

  /** Mute `id` for `duration`, or unmute it with null. */
  mute(id: string, duration: MuteDuration | null): Promise<void> {
    const mutedUntil =
      duration === null ? undefined : duration === 'forever' ? -1 : this.now() + MUTE_MS[duration];
    return this.update(id, { mutedUntil });
  }

  /** Archive `id`, or take it out of the archive. */
  archive(id: string, archived: boolean): Promise<void> {
    return this.update(id, { archived: archived ? true : undefined });
  }

  private async update(
    id: string,
    change: Partial<Record<keyof ConversationPref, unknown>>,
  ): Promise<void> {
    const next: ConversationPref = { ...this.prefs[id] };
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete next[k as keyof ConversationPref];
      else (next as Record<string, unknown>)[k] = v;
    }
    this.prefs = { ...this.prefs, [id]: next };
    if (Object.keys(next).length === 0) delete this.prefs[id];
    this.changed();
    await this.history.setSetting(SETTING, this.prefs);
  }
}
