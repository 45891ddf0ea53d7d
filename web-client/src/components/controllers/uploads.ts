/**
 * Files on their way out of the open conversation (encrypted, uploaded and sent one by one,
 * from the picker, a paste or a drop) and short-lived error lines of failed actions, for
 * `<upload-status>` to show. Non-visual.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { ConversationId } from '../../services/messenger.ts';
import type { ChatSession } from '../../services/session.ts';
import { makeThumbnail } from '../../services/thumbnail.ts';
import { announcedKind, decryptedMedia } from '../../services/media-type.ts';
import type { VoiceNote } from '../../services/engine-types.ts';
import type { RecordedNote } from '../../services/voice-note.ts';

/** An upload under way, or an error line (`error` set). */
export interface Upload {
  key: number;
  /** File name; empty for the error of another action. */
  name: string;
  /** 0..1. */
  progress: number;
  error?: string;
}

/** How long an action's error line stays (ms). */
const ERROR_MS = 6000;
/** How long a failed upload's line stays (ms). */
const UPLOAD_ERROR_MS = 8000;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Uploads and error lines of one conversation view. */
export class Uploads implements ReactiveController {
  /** What to show, oldest first. */
  list: readonly Upload[] = [];
  private seq = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  private set(list: readonly Upload[]): void {
    this.list = list;
    this.host.requestUpdate();
  }

  /** The view left: nothing is shown any more, so nothing needs removing later. */
  hostDisconnected(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.list = this.list.filter((u) => u.error === undefined);
  }

  private removeLater(key: number, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.set(this.list.filter((u) => u.key !== key));
    }, ms);
    this.timers.add(t);
  }

  /** Show why an action failed, for a few seconds. */
  toast(err: unknown): void {
    const key = ++this.seq;
    this.set([...this.list, { key, name: '', progress: 0, error: messageOf(err) }]);
    this.removeLater(key, ERROR_MS);
  }

  /**
   * Encrypt, upload and send `files` to `conversationId`. `hooks.sending` runs just before each
   * send (the list follows the newest row), `hooks.shown` once a sent image, voice note or video
   * is in the session's media (the list shows it).
   */
  async send(
    s: ChatSession,
    conversationId: ConversationId,
    files: readonly File[],
    hooks: { sending: () => void; shown: () => void },
  ): Promise<void> {
    if (!s.messenger.capabilities.has('files')) return;
    for (const file of files) await this.sendOne(s, conversationId, file, hooks);
  }

  /** Encrypt, upload and send a recorded voice note (PROTOCOL.md §12 "Voice notes"). */
  async sendVoice(
    s: ChatSession,
    conversationId: ConversationId,
    note: RecordedNote,
    hooks: { sending: () => void; shown: () => void },
  ): Promise<void> {
    if (!s.messenger.capabilities.has('files')) return;
    await this.sendOne(s, conversationId, note.file, hooks, note.voice);
  }

  private async sendOne(
    s: ChatSession,
    conversationId: ConversationId,
    file: File,
    hooks: { sending: () => void; shown: () => void },
    voice?: VoiceNote,
  ): Promise<void> {
    const key = ++this.seq;
    this.set([...this.list, { key, name: file.name, progress: 0 }]);
    const patch = (p: Partial<Upload>): void =>
      this.set(this.list.map((u) => (u.key === key ? { ...u, ...p } : u)));
    try {
      const thumb = voice === undefined ? await makeThumbnail(file) : undefined;
      hooks.sending();
      const sent = await s.messenger.sendFile(
        conversationId,
        file,
        (progress) => patch({ progress }),
        thumb,
        voice,
      );
      // The sender has the file already: keep it (judged by its bytes, like a received one)
      // and show or play it when it is inline media, without downloading it back.
      if (!s.media.has(sent.id)) {
        const kind = announcedKind({ mime: file.type, ...(voice !== undefined ? { voice } : {}) });
        const media = await decryptedMedia(file, kind);
        s.media.set(sent.id, media);
        hooks.shown();
      }
      this.set(this.list.filter((u) => u.key !== key));
      s.touch(conversationId);
    } catch (err) {
      patch({ error: messageOf(err) });
      this.removeLater(key, UPLOAD_ERROR_MS);
    }
  }
}
