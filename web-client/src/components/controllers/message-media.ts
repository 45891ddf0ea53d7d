/**
 * What rows show besides their own record: the messages they quote (read once from the local
 * history), inline images, voice notes and videos (decrypted in the page automatically up to
 * {@link AUTO_IMAGE_BYTES}) and the progress of a file the user downloads. Non-visual:
 * `<message-list>` passes the results to each `<message-bubble>`; decrypted files are kept in
 * the session's `media`, judged by their bytes (services/media-type.ts: only raster images are
 * inline and only the allowed audio/video containers play, the rest is saved as
 * `application/octet-stream` under a sanitised name). No lifecycle of its own: it only asks the
 * host to render when something arrived.
 */
import type { ReactiveControllerHost } from 'lit';
import type { MessageRecord } from '../../services/engine-types.ts';
import type { ChatSession } from '../../services/session.ts';
import { fileOf, replyToOf } from '../message-bubble.ts';
import { safeFileName } from '../../services/file-name.ts';
import {
  announcedKind,
  decryptedMedia,
  revokeMedia,
  saveUrlOf,
} from '../../services/media-type.ts';

/**
 * Files the sender calls images, voice notes, audio or video, up to this size, are decrypted
 * automatically; whether they are shown or played inline is then up to their bytes.
 */
export const AUTO_IMAGE_BYTES = 8 * 1024 * 1024;

/** Whether `m`'s file is one the page decrypts without being asked (by its announced kind). */
function autoLoads(m: MessageRecord): boolean {
  const file = fileOf(m);
  if (file === null || m.deleted || file.size > AUTO_IMAGE_BYTES) return false;
  return file.mime.startsWith('image/') || announcedKind(m.body) !== undefined;
}

/** Quotes, inline images and download progress of the rows of one conversation. */
export class MessageMedia {
  private quotes = new Map<string, MessageRecord | null>();
  private fetchingImages = new Set<string>();
  private progress = new Map<string, number>();

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly session: () => ChatSession | undefined,
  ) {}

  /** Forget the quotes (another conversation). */
  reset(): void {
    this.quotes.clear();
  }

  /** The message `m` quotes, once read (undefined: none, or not read yet). */
  quoteOf(m: MessageRecord): MessageRecord | undefined {
    const reply = replyToOf(m);
    return reply !== undefined ? (this.quotes.get(reply) ?? undefined) : undefined;
  }

  /** Download progress of `m`'s file (0..1), -1 when none is under way. */
  progressOf(m: MessageRecord): number {
    return this.progress.get(m.id) ?? -1;
  }

  /** Load quoted messages and decrypt inline images of freshly loaded rows. */
  load(rows: readonly MessageRecord[]): void {
    const s = this.session();
    if (s === undefined) return;
    for (const m of rows) {
      const reply = replyToOf(m);
      if (reply !== undefined && !this.quotes.has(reply)) {
        this.quotes.set(reply, null);
        void s.history.get(reply).then((q) => {
          this.quotes.set(reply, q ?? null);
          this.host.requestUpdate();
        });
      }
      if (
        autoLoads(m) &&
        !s.media.has(m.id) &&
        !this.fetchingImages.has(m.id) &&
        s.messenger.capabilities.has('files')
      ) {
        this.fetchingImages.add(m.id);
        void s.messenger
          .downloadFile(m)
          .then((bytes) => decryptedMedia(bytes, announcedKind(m.body)))
          .then((media) => {
            if (s.media.has(m.id)) {
              revokeMedia(media); // the sender's own copy got there first
              return;
            }
            s.media.set(m.id, media);
            this.host.requestUpdate();
          })
          .catch(() => {
            // Not downloadable now (offline, expired blob): the thumbnail stays; retry later.
          })
          .finally(() => this.fetchingImages.delete(m.id));
      }
    }
  }

  /**
   * Decrypt `m`'s file (once per session) and hand it to the browser as a download: an
   * `application/octet-stream` object URL saved through `<a download>` under the sanitised
   * name, so nothing is opened or navigated to in the app's origin.
   */
  async download(m: MessageRecord): Promise<void> {
    const s = this.session();
    const file = fileOf(m);
    if (s === undefined || file === null) return;
    try {
      let media = s.media.get(m.id);
      if (media === undefined) {
        this.setProgress(m.id, 0);
        media = await decryptedMedia(
          await s.messenger.downloadFile(m, (p) => this.setProgress(m.id, p)),
          announcedKind(m.body),
        );
        s.media.set(m.id, media);
      }
      const a = document.createElement('a');
      a.href = saveUrlOf(media);
      a.download = safeFileName(file.name);
      a.rel = 'noopener';
      a.click();
    } finally {
      this.progress.delete(m.id);
      this.host.requestUpdate();
    }
  }

  private setProgress(id: string, p: number): void {
    this.progress.set(id, p);
    this.host.requestUpdate();
  }
}
