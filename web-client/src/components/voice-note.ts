/**
 * `<voice-note>`: the player of one voice note inside a message bubble — play/pause, the
 * sender's waveform as a seek slider (click, or arrow keys / Home / End when focused), elapsed
 * and total time, and 1× / 1.5× / 2× speed. The length drawn is the one the sender measured
 * (PROTOCOL.md §12 "Voice notes"): recorded WebM carries none the browser could read before the
 * end, so the player seeks by it too.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, svg, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { clock } from '../services/voice-note.ts';
import { uiText } from '../services/ui-strings.ts';
import { shared } from '../styles.ts';

/** Playback speeds offered, in the order the speed button cycles through them. */
export const VOICE_SPEEDS = [1, 1.5, 2] as const;

/** Share of the note one arrow key press moves. */
const SEEK_STEP = 0.05;

/**
 * One voice note.
 *
 * @fires played - the user started playing it for the first time in this view
 */
@customElement('voice-note')
export class VoiceNotePlayer extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: flex;
        align-items: center;
        gap: 0.45rem;
        min-width: min(260px, 60vw);
        padding: 0.15rem 0;
      }
      button.play {
        min-width: 36px;
        min-height: 36px;
        border-radius: 50%;
        padding: 0;
      }
      .wave {
        flex: 1;
        height: 32px;
        cursor: pointer;
        border-radius: 4px;
      }
      .wave:focus-visible {
        outline: 2px solid var(--accent);
      }
      .wave svg {
        width: 100%;
        height: 100%;
        display: block;
      }
      .bar {
        fill: var(--fg-2);
        opacity: 0.55;
      }
      .bar.done {
        fill: var(--accent);
        opacity: 1;
      }
      .time {
        font-size: 0.75rem;
        color: var(--fg-2);
        font-variant-numeric: tabular-nums;
        min-width: 2.6rem;
        text-align: right;
      }
      button.speed {
        min-height: 26px;
        min-width: 2.6rem;
        padding: 0 0.35rem;
        border-radius: 999px;
        font-size: 0.75rem;
      }
      .unplayed {
        width: 8px;
        height: 8px;
        border-radius: 50%;
        background: var(--accent);
      }
    `,
  ];

  /** Object URL of the decrypted audio (typed by its container); empty while not loaded. */
  @property() src = '';
  /** The sender's length of the note (ms). */
  @property({ type: Number }) durationMs = 0;
  /** Waveform levels 0..1 (the sender's). */
  @property({ attribute: false }) levels: readonly number[] = [];
  /** This device (or, for an outgoing note, a recipient) has played it. */
  @property({ type: Boolean }) played = false;

  @state() private _playing = false;
  @state() private _positionMs = 0;
  @state() private _speed: (typeof VOICE_SPEEDS)[number] = 1;
  @query('audio') private _audio!: HTMLAudioElement | null;

  private firedPlayed = false;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this._audio?.pause();
  }

  private get fraction(): number {
    return this.durationMs > 0 ? Math.min(1, this._positionMs / this.durationMs) : 0;
  }

  private async toggle(): Promise<void> {
    const a = this._audio;
    if (a === null || this.src === '') return;
    if (!a.paused) {
      a.pause();
      return;
    }
    a.playbackRate = this._speed;
    await a.play();
    if (!this.firedPlayed) {
      this.firedPlayed = true;
      this.dispatchEvent(new CustomEvent('played', { bubbles: true, composed: true }));
    }
  }

  private seekTo(fraction: number): void {
    const f = Math.min(1, Math.max(0, fraction));
    this._positionMs = f * this.durationMs;
    const a = this._audio;
    if (a !== null && this.src !== '') a.currentTime = this._positionMs / 1000;
  }

  private onWaveClick(e: MouseEvent): void {
    const box = (e.currentTarget as HTMLElement).getBoundingClientRect();
    if (box.width > 0) this.seekTo((e.clientX - box.left) / box.width);
  }

  private onWaveKey(e: KeyboardEvent): void {
    const moves: Record<string, number> = {
      ArrowRight: this.fraction + SEEK_STEP,
      ArrowUp: this.fraction + SEEK_STEP,
      ArrowLeft: this.fraction - SEEK_STEP,
      ArrowDown: this.fraction - SEEK_STEP,
      Home: 0,
      End: 1,
    };
    const to = moves[e.key];
    if (to === undefined) return;
    e.preventDefault();
    this.seekTo(to);
  }

  private cycleSpeed(): void {
    const i = VOICE_SPEEDS.indexOf(this._speed);
    this._speed = VOICE_SPEEDS[(i + 1) % VOICE_SPEEDS.length]!;
    if (this._audio !== null) this._audio.playbackRate = this._speed;
  }

  private onTime(): void {
    const a = this._audio;
    if (a !== null) this._positionMs = Math.min(this.durationMs, a.currentTime * 1000);
  }

  private onEnded(): void {
    this._playing = false;
    this._positionMs = 0;
    if (this._audio !== null) this._audio.currentTime = 0;
  }

  private renderWave(): TemplateResult {
    const levels = this.levels.length > 0 ? this.levels : [0];
    const n = levels.length;
    const done = this.fraction * n;
    return svg`<svg viewBox="0 0 ${n * 3} 32" preserveAspectRatio="none" aria-hidden="true">
      ${levels.map((l, i) => {
        const h = Math.max(2, l * 30);
        return svg`<rect class="bar ${i < done ? 'done' : ''}" x=${i * 3} y=${(32 - h) / 2}
          width="2" height=${h} rx="1"></rect>`;
      })}
    </svg>`;
  }

  override render(): TemplateResult {
    const loading = this.src === '';
    const label = loading
      ? uiText('voice.loading')
      : this._playing
        ? uiText('voice.pause')
        : uiText('voice.play');
    const total = clock(this.durationMs);
    return html`<button
        class="play"
        aria-label=${label}
        title=${label}
        ?disabled=${loading}
        @click=${this.toggle}
      >
        ${this._playing ? '❚❚' : '▶'}
      </button>
      <div
        class="wave"
        role="slider"
        tabindex="0"
        aria-label=${uiText('voice.position')}
        aria-valuemin="0"
        aria-valuemax=${Math.round(this.durationMs / 1000)}
        aria-valuenow=${Math.round(this._positionMs / 1000)}
        aria-valuetext=${uiText('voice.positionText', {
          position: clock(this._positionMs),
          total,
        })}
        data-samples=${this.levels.length}
        data-position-ms=${Math.round(this._positionMs)}
        @click=${this.onWaveClick}
        @keydown=${this.onWaveKey}
      >
        ${this.renderWave()}
      </div>
      <span class="time"
        >${this._playing || this._positionMs > 0 ? clock(this._positionMs) : total}</span
      >
      ${
        this.played
          ? nothing
          : html`<span
              class="unplayed"
              role="img"
              aria-label=${uiText('voice.unplayed')}
              title=${uiText('voice.unplayed')}
            ></span>`
      }
      <button
        class="speed"
        aria-label=${uiText('voice.speed', { speed: `${this._speed}×` })}
        title=${uiText('voice.speed', { speed: `${this._speed}×` })}
        data-speed=${this._speed}
        @click=${this.cycleSpeed}
      >
        ${this._speed}×
      </button>
      ${
        loading
          ? nothing
          : html`<audio
              preload="auto"
              src=${this.src}
              @play=${() => (this._playing = true)}
              @pause=${() => (this._playing = false)}
              @timeupdate=${this.onTime}
              @ended=${this.onEnded}
            ></audio>`
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'voice-note': VoiceNotePlayer;
  }
}
