/**
 * `<chat-composer>`: the message input. Enter sends, Shift+Enter breaks the line, Escape
 * cancels a reply or edit, paste of images/files attaches them, the emoji picker is loaded on
 * first use. Emits throttled typing start/stop signals. The microphone button records a voice
 * note (services/voice-note.ts): click it to record, then send or cancel; or hold it and release
 * to send at once (release outside the button, or Escape, cancels).
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { MessageRecord } from '../services/engine-types.ts';
import { previewOf } from '../services/history.ts';
import { icons } from '../icons.ts';
import { shared } from '../styles.ts';
import { uiText } from '../services/ui-strings.ts';
import { clock, VoiceRecording, type RecordedNote } from '../services/voice-note.ts';
import { STICKERS, stickerFile, stickerPreview, type Sticker } from '../services/stickers.ts';
import { findMentions, type Mention } from '../services/mentions.ts';
import { MentionComplete, mentionStyles } from './controllers/mention-complete.ts';

/** Resend "typing" while the user keeps typing, at this interval (ms). */
export const TYPING_REFRESH_MS = 4000;
/** Send "stopped typing" after this long without a key (ms). */
export const TYPING_IDLE_MS = 3000;
/** A press on the microphone longer than this is hold-to-record: releasing sends (ms). */
export const HOLD_TO_RECORD_MS = 400;

/**
 * The browser sizes the message box to its text (`field-sizing: content`, Chromium 123+), so
 * `autosize` leaves it alone. Measuring `scrollHeight` after each keystroke
 * and each send forced a synchronous layout of the whole page, the conversation included: 1 s of
 * the sending page's 9 s of CPU for 500 messages at 100/s (issue 23, docs/PERFORMANCE.md).
 */
const SIZES_ITSELF = typeof CSS !== 'undefined' && CSS.supports('field-sizing', 'content');

/** Files from a paste or drop (images pasted as screenshots get a name). */
export function filesFrom(data: DataTransfer | null): File[] {
  if (data === null) return [];
  const out: File[] = [];
  for (const f of Array.from(data.files)) out.push(f);
  if (out.length === 0) {
    for (const item of Array.from(data.items)) {
      if (item.kind !== 'file') continue;
      const f = item.getAsFile();
      if (f !== null) out.push(f);
    }
  }
  return out.map((f) =>
    f.name !== '' && f.name !== 'image.png'
      ? f
      : new File([f], `pasted-${Date.now()}.${f.type.split('/')[1] ?? 'bin'}`, { type: f.type }),
  );
}

/**
 * Message composer.
 *
 * @fires send - `CustomEvent<{ text: string; mentions: Mention[] }>` send a new message (or the
 *   edit); `mentions` are the members the text names as `@name`
 * @fires typing - `CustomEvent<{ typing: boolean }>` typing started / stopped
 * @fires files - `CustomEvent<{ files: File[] }>` attach and send files
 * @fires cancel - the reply or edit was cancelled
 * @fires draft - `CustomEvent<{ text: string }>` the unsent text changed (not while editing)
 * @fires edit-last - ↑ in an empty composer: edit the last own message
 * @fires voice-note - `CustomEvent<RecordedNote>` send this recorded voice note
 * @fires composer-error - `CustomEvent<Error>` recording could not start (no microphone, refused)
 */
@customElement('chat-composer')
export class ChatComposer extends LitElement {
  static override styles = [
    shared,
    mentionStyles,
    css`
      :host {
        display: block;
        border-top: 1px solid var(--border);
        background: var(--bg-2);
        padding: 0.5rem;
        position: relative;
      }
      .row {
        display: flex;
        gap: 0.35rem;
        align-items: flex-end;
      }
      textarea {
        flex: 1;
        resize: none;
        /* Grows with its lines up to max-height without script (see SIZES_ITSELF). */
        field-sizing: content;
        max-height: 160px;
        min-height: 40px;
        line-height: 1.35;
      }
      .context {
        display: flex;
        gap: 0.5rem;
        align-items: center;
        font-size: 0.85rem;
        padding: 0.25rem 0.5rem 0.45rem;
      }
      .context span {
        flex: 1;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
        border-left: 3px solid var(--accent);
        padding-left: 0.5rem;
      }
      .disabled {
        text-align: center;
        color: var(--fg-2);
        padding: 0.6rem;
      }
      textarea[hidden] {
        display: none;
      }
      .recording {
        flex: 1;
        display: flex;
        align-items: center;
        gap: 0.5rem;
        min-height: 40px;
        padding: 0 0.5rem;
        font-variant-numeric: tabular-nums;
      }
      .recording .dot {
        width: 10px;
        height: 10px;
        border-radius: 50%;
        background: var(--danger);
      }
      button.mic[aria-pressed='true'] {
        color: var(--danger);
        border-color: var(--danger);
      }
      .stickers {
        position: absolute;
        bottom: 100%;
        left: 0.5rem;
        z-index: 5;
        display: grid;
        grid-template-columns: repeat(3, 72px);
        gap: 6px;
        padding: 8px;
        background: var(--bg);
        border: 1px solid var(--border);
        border-radius: 12px;
        box-shadow: var(--shadow);
      }
      .stickers button {
        padding: 4px;
        min-height: 0;
      }
      .stickers img {
        width: 64px;
        height: 64px;
        display: block;
      }
      .picker {
        position: absolute;
        bottom: 100%;
        left: 0.5rem;
        z-index: 5;
      }
    `,
  ];

  /** Message being replied to. */
  @property({ attribute: false }) replyTo: MessageRecord | undefined;
  /** Own message being edited. */
  @property({ attribute: false }) editing: MessageRecord | undefined;
  /** When set, the composer is replaced by this explanation. */
  @property() disabledReason = '';
  /** Attachments offered. */
  @property({ type: Boolean }) canFiles = false;
  /** The other members of the conversation: `@` offers them, and a sent text mentions them. */
  @property({ attribute: false }) members: readonly string[] = [];

  @state() private _picker = false;
  /** The sticker pack is open (previews drawn on first open). */
  @state() private _stickers: { sticker: Sticker; url: string }[] | undefined;
  @state() private _pickerLoaded = false;
  @query('textarea') private _input!: HTMLTextAreaElement;

  /** A voice note is being recorded (the row shows its time, cancel and send). */
  @state() private _recording = false;
  @state() private _elapsedMs = 0;

  private typingSince = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private recording: VoiceRecording | undefined;
  private recordTick: ReturnType<typeof setInterval> | undefined;
  /** When the microphone button was pressed (0: not held). */
  private heldSince = 0;

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('editing') && this.editing !== undefined && this._input !== null) {
      const text = this.editing.body.text;
      this._input.value = typeof text === 'string' ? text : '';
      this.autosize();
      this._input.focus();
    }
    if (changed.has('replyTo') && this.replyTo !== undefined) this._input?.focus();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stopTyping();
    this.cancelRecording();
  }

  private async startRecording(): Promise<void> {
    if (this.recording !== undefined) return;
    const rec = new VoiceRecording(() => {
      this.fire('composer-error', new Error(uiText('voice.limit')));
      void this.finishRecording();
    });
    this.recording = rec;
    this._recording = true;
    this._elapsedMs = 0;
    try {
      await rec.start();
    } catch (err) {
      if (this.recording === rec) this.endRecording();
      const reason = err instanceof Error ? err.message : String(err);
      this.fire('composer-error', new Error(uiText('voice.micUnavailable', { reason })));
      return;
    }
    if (this.recording !== rec) {
      rec.cancel(); // cancelled while the microphone was opening
      return;
    }
    this.recordTick = setInterval(() => (this._elapsedMs = rec.elapsedMs), 200);
  }

  private endRecording(): void {
    clearInterval(this.recordTick);
    this.recording = undefined;
    this.heldSince = 0;
    this._recording = false;
    this._elapsedMs = 0;
  }

  private async finishRecording(): Promise<void> {
    const rec = this.recording;
    if (rec === undefined) return;
    this.endRecording();
    const note = await rec.finish();
    if (note !== undefined) this.fire<RecordedNote>('voice-note', note);
  }

  private cancelRecording(): void {
    const rec = this.recording;
    if (rec === undefined) return;
    this.endRecording();
    rec.cancel();
  }

  private onMicDown(e: PointerEvent): void {
    if (e.button !== 0 || this.recording !== undefined) return;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    this.heldSince = performance.now();
    void this.startRecording();
  }

  private onMicUp(e: PointerEvent): void {
    const since = this.heldSince;
    this.heldSince = 0;
    if (since === 0 || this.recording === undefined) return;
    if (performance.now() - since < HOLD_TO_RECORD_MS) return; // a click: keep recording
    const box = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const inside =
      e.clientX >= box.left &&
      e.clientX <= box.right &&
      e.clientY >= box.top &&
      e.clientY <= box.bottom;
    if (inside) void this.finishRecording();
    else this.cancelRecording(); // released away from the button
  }

  private onMicClick(e: MouseEvent): void {
    // Pointer presses are handled by down/up; a keyboard activation (detail 0) toggles.
    if (e.detail !== 0) return;
    if (this.recording === undefined) void this.startRecording();
    else void this.finishRecording();
  }

  /** Focus the text field. */
  override focus(): void {
    this._input?.focus();
  }

  /** Replace the unsent text (a saved draft); no typing signal, no `draft` event. */
  setText(text: string): void {
    if (this._input === null) return;
    this.stopTyping();
    this._input.value = text;
    this.autosize();
  }

  private readonly mention = new MentionComplete(this, {
    input: () => this._input ?? null,
    members: () => this.members,
    picked: () => this.onInput(),
  });

  private fire<T>(name: string, detail?: T): void {
    this.dispatchEvent(
      new CustomEvent<T | undefined>(name, { detail, bubbles: true, composed: true }),
    );
  }

  private autosize(): void {
    if (SIZES_ITSELF) return;
    const t = this._input;
    t.style.height = 'auto';
    t.style.height = `${Math.min(t.scrollHeight + 2, 160)}px`;
  }

  private onInput(): void {
    this.autosize();
    this.mention.update();
    if (this.editing !== undefined) return;
    this.fire('draft', { text: this._input.value });
    const now = Date.now();
    if (this._input.value.trim() === '') {
      this.stopTyping();
      return;
    }
    if (now - this.typingSince > TYPING_REFRESH_MS) {
      this.typingSince = now;
      this.fire('typing', { typing: true });
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  private stopTyping(): void {
    clearTimeout(this.idleTimer);
    if (this.typingSince !== 0) {
      this.typingSince = 0;
      this.fire('typing', { typing: false });
    }
  }

  private onKeyDown(e: KeyboardEvent): void {
    if (this.mention.onKeyDown(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.submit();
    } else if (
      e.key === 'ArrowUp' &&
      !e.altKey &&
      !e.shiftKey &&
      this._input.value === '' &&
      this.editing === undefined
    ) {
      e.preventDefault();
      this.fire('edit-last');
    } else if (e.key === 'Escape') {
      if (this._recording) this.cancelRecording();
      else if (this._stickers !== undefined) this._stickers = undefined;
      else if (this._picker) this._picker = false;
      else if (this.replyTo !== undefined || this.editing !== undefined) this.cancel();
    }
  }

  private cancel(): void {
    if (this.editing !== undefined) {
      this._input.value = '';
      this.autosize();
    }
    this.fire('cancel');
  }

  private submit(): void {
    const text = this._input.value.trim();
    if (text === '') return;
    const wasDraft = this.editing === undefined;
    this.fire<{ text: string; mentions: Mention[] }>('send', {
      text,
      mentions: findMentions(text, new Set(this.members)),
    });
    this._input.value = '';
    if (wasDraft) this.fire('draft', { text: '' });
    this.autosize();
    // Typing ends with no signal of its own: the message ends it where it arrives (session.ts
    // ends a sender's indicator on their message, else it expires), and a `typing: false`
    // envelope sent with it took the engine's lock and a receive batch ahead of it (issue 23).
    clearTimeout(this.idleTimer);
    this.typingSince = 0;
  }

  private onPaste(e: ClipboardEvent): void {
    if (!this.canFiles) return;
    const files = filesFrom(e.clipboardData);
    if (files.length > 0) {
      e.preventDefault();
      this.fire('files', { files });
    }
  }

  private async togglePicker(): Promise<void> {
    if (!this._pickerLoaded) {
      await import('./emoji-picker.ts');
      this._pickerLoaded = true;
    }
    this._picker = !this._picker;
  }

  private toggleStickers(): void {
    this._stickers =
      this._stickers === undefined
        ? STICKERS.map((sticker) => ({ sticker, url: stickerPreview(sticker) }))
        : undefined;
  }

  private async sendSticker(sticker: Sticker): Promise<void> {
    this._stickers = undefined;
    this.fire('files', { files: [await stickerFile(sticker)] });
  }

  private insertEmoji(e: CustomEvent<string>): void {
    const t = this._input;
    const start = t.selectionStart ?? t.value.length;
    const end = t.selectionEnd ?? t.value.length;
    t.value = t.value.slice(0, start) + e.detail + t.value.slice(end);
    t.selectionStart = t.selectionEnd = start + e.detail.length;
    this._picker = false;
    t.focus();
    this.onInput();
  }

  private onFilePicked(e: Event): void {
    const input = e.target as HTMLInputElement;
    const files = Array.from(input.files ?? []);
    input.value = '';
    if (files.length > 0) this.fire('files', { files });
  }

  override render(): TemplateResult {
    if (this.disabledReason !== '') {
      return html`<div class="disabled" role="status">${this.disabledReason}</div>`;
    }
    const ctx = this.editing ?? this.replyTo;
    return html`${
        ctx !== undefined
          ? html`<div class="context">
              <span
                >${this.editing !== undefined ? uiText('composer.editing') : uiText('composer.replyingTo', { user: ctx.sender })}:
                ${previewOf(ctx)}</span
              >
              <button class="icon" aria-label=${uiText('composer.cancel')} @click=${this.cancel}>
                ${icons.close}
              </button>
            </div>`
          : nothing
      }
      ${
        this._stickers !== undefined
          ? html`<div class="stickers" role="group" aria-label=${uiText('stickers.pack')}>
              ${this._stickers.map(
                ({ sticker, url }) =>
                  html`<button
                    aria-label=${uiText('stickers.send', { name: sticker.label })}
                    title=${sticker.label}
                    @click=${() => void this.sendSticker(sticker)}
                  >
                    <img src=${url} alt="" />
                  </button>`,
              )}
            </div>`
          : nothing
      }
      ${
        this._picker
          ? html`<div class="picker">
              <emoji-picker
                @emoji-selected=${this.insertEmoji}
                @close=${() => (this._picker = false)}
              ></emoji-picker>
            </div>`
          : nothing
      }
      <div class="row">
        <button
          class="icon"
          aria-label=${uiText('composer.emoji')}
          aria-expanded=${this._picker}
          title=${uiText('composer.emoji')}
          @click=${this.togglePicker}
        >
          ${icons.smile}
        </button>
        ${
          this.canFiles
            ? html`<button
                class="icon"
                aria-label=${uiText('stickers.open')}
                title=${uiText('stickers.open')}
                aria-expanded=${this._stickers !== undefined}
                @click=${this.toggleStickers}
              >
                ★
              </button>`
            : nothing
        }
        ${
          this.canFiles
            ? html`<button
                  class="icon"
                  aria-label=${uiText('composer.attach')}
                  title=${uiText('composer.attach')}
                  @click=${() =>
                    this.renderRoot.querySelector<HTMLInputElement>('input[type=file]')?.click()}
                >
                  ${icons.attach}
                </button>
                <input type="file" multiple hidden @change=${this.onFilePicked} />`
            : nothing
        }
        ${
          this._recording
            ? html`<button
                  class="icon"
                  aria-label=${uiText('voice.cancel')}
                  title=${uiText('voice.cancel')}
                  @click=${this.cancelRecording}
                >
                  ${icons.trash}
                </button>
                <div
                  class="recording"
                  role="status"
                  data-elapsed-ms=${Math.round(this._elapsedMs)}
                  @keydown=${this.onKeyDown}
                >
                  <span class="dot" aria-hidden="true"></span>
                  ${uiText('voice.recording', { time: clock(this._elapsedMs) })}
                </div>`
            : nothing
        }
        ${this.mention.render()}
        <textarea
          rows="1"
          placeholder=${uiText('composer.message')}
          aria-label=${uiText('composer.message')}
          aria-controls=${this.mention.activeId !== undefined ? 'mention-list' : nothing}
          aria-activedescendant=${this.mention.activeId ?? nothing}
          ?hidden=${this._recording}
          @input=${this.onInput}
          @keydown=${this.onKeyDown}
          @paste=${this.onPaste}
        ></textarea>
        ${
          this.canFiles && this.editing === undefined
            ? html`<button
                class="icon mic"
                aria-label=${uiText('voice.record')}
                title=${uiText('voice.record')}
                aria-pressed=${this._recording ? 'true' : 'false'}
                @pointerdown=${this.onMicDown}
                @pointerup=${this.onMicUp}
                @click=${this.onMicClick}
                @keydown=${(e: KeyboardEvent) => {
                  if (e.key === 'Escape') this.cancelRecording();
                }}
              >
                ${icons.mic}
              </button>`
            : nothing
        }
        ${
          this._recording
            ? html`<button
                class="primary"
                aria-label=${uiText('voice.send')}
                title=${uiText('voice.send')}
                @click=${this.finishRecording}
              >
                ${icons.send}
              </button>`
            : html`<button
                class="primary"
                aria-label=${uiText('composer.send')}
                @click=${this.submit}
              >
                ${icons.send}
              </button>`
        }
      </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'chat-composer': ChatComposer;
  }
}
