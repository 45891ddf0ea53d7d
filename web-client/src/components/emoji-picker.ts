/**
 * `<emoji-picker>`: a small categorized emoji grid with a name filter, loaded on first use.
 * Arrow keys move between emoji, Enter picks, Escape closes.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, type TemplateResult } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { shared } from '../styles.ts';
import { uiText } from '../services/ui-strings.ts';

/** Emoji by category, each with a few search words. */
export const EMOJI: Record<string, [string, string][]> = {
  Smileys: [
    ['😀', 'grin smile happy'],
    ['😂', 'joy laugh tears'],
    ['🤣', 'rofl laugh'],
    ['😊', 'blush smile'],
    ['😍', 'love eyes heart'],
    ['😘', 'kiss'],
    ['😎', 'cool sunglasses'],
    ['🤔', 'thinking hmm'],
    ['😮', 'wow surprised'],
    ['😢', 'cry sad'],
    ['😭', 'sob cry'],
    ['😡', 'angry mad'],
    ['😴', 'sleep tired'],
    ['🙃', 'upside down'],
    ['😉', 'wink'],
    ['🥳', 'party celebrate'],
    ['😬', 'grimace awkward'],
    ['🙄', 'eye roll'],
    ['😅', 'sweat smile'],
    ['🤯', 'mind blown'],
  ],
  Gestures: [
    ['👍', 'thumbs up yes ok'],
    ['👎', 'thumbs down no'],
    ['👏', 'clap applause'],
    ['🙏', 'pray thanks please'],
    ['👋', 'wave hello bye'],
    ['🤝', 'handshake deal'],
    ['💪', 'strong muscle'],
    ['👌', 'ok perfect'],
    ['✌️', 'peace victory'],
    ['🤞', 'fingers crossed luck'],
    ['🫶', 'heart hands'],
    ['👀', 'eyes look'],
  ],
  Hearts: [
    ['❤️', 'heart love red'],
    ['🧡', 'orange heart'],
    ['💛', 'yellow heart'],
    ['💚', 'green heart'],
    ['💙', 'blue heart'],
    ['💜', 'purple heart'],
    ['🖤', 'black heart'],
    ['💔', 'broken heart'],
    ['✨', 'sparkles'],
    ['🔥', 'fire hot lit'],
    ['⭐', 'star'],
    ['💯', 'hundred perfect'],
  ],
  Things: [
    ['🎉', 'tada party'],
    ['🎂', 'cake birthday'],
    ['☕', 'coffee'],
    ['🍕', 'pizza'],
    ['🍺', 'beer'],
    ['⚽', 'football soccer'],
    ['🚀', 'rocket launch ship'],
    ['💡', 'idea bulb'],
    ['📎', 'paperclip attach'],
    ['🔒', 'lock secure'],
    ['✅', 'check done'],
    ['❌', 'cross no'],
  ],
};

/** Emoji whose search words start with every word of `filter`. */
export function filterEmoji(filter: string): string[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const all = Object.values(EMOJI).flat();
  if (words.length === 0) return all.map(([e]) => e);
  return all
    .filter(([, names]) => words.every((w) => names.split(' ').some((n) => n.startsWith(w))))
    .map(([e]) => e);
}

/**
 * Emoji grid.
 *
 * @fires emoji-selected - `CustomEvent<string>` the chosen emoji
 * @fires close - the picker should close (Escape)
 */
@customElement('emoji-picker')
export class EmojiPicker extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        width: min(320px, 92vw);
        background: var(--bg);
        border: 1px solid var(--border);
        border-radius: 12px;
        box-shadow: var(--shadow);
        padding: 0.5rem;
      }
      input {
        width: 100%;
        margin-bottom: 0.4rem;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(8, 1fr);
        max-height: 220px;
        overflow-y: auto;
      }
      .grid button {
        border: none;
        background: transparent;
        font-size: 1.3rem;
        padding: 0.2rem;
        min-height: 34px;
      }
      h3 {
        grid-column: 1 / -1;
        font-size: 0.75rem;
        margin: 0.3rem 0 0.1rem;
        color: var(--fg-2);
      }
    `,
  ];

  @state() private _filter = '';

  override firstUpdated(): void {
    this.renderRoot.querySelector('input')?.focus();
  }

  private pick(emoji: string): void {
    this.dispatchEvent(
      new CustomEvent<string>('emoji-selected', { detail: emoji, bubbles: true, composed: true }),
    );
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === 'Escape') {
      e.stopPropagation();
      this.dispatchEvent(new Event('close', { bubbles: true, composed: true }));
      return;
    }
    const buttons = [...this.renderRoot.querySelectorAll<HTMLButtonElement>('.grid button')];
    const i = buttons.indexOf((this.renderRoot as ShadowRoot).activeElement as HTMLButtonElement);
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 8, ArrowUp: -8 }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    const next = buttons[Math.max(0, Math.min(buttons.length - 1, i < 0 ? 0 : i + step))];
    next?.focus();
  }

  override render(): TemplateResult {
    const filtered = this._filter !== '';
    const list = filterEmoji(this._filter);
    return html`<div @keydown=${this.onKey} role="dialog" aria-label=${uiText('emoji.picker')}>
      <input
        type="search"
        placeholder=${uiText('emoji.search')}
        aria-label=${uiText('emoji.search')}
        @input=${(e: Event) => (this._filter = (e.target as HTMLInputElement).value)}
        @keydown=${(e: KeyboardEvent) => {
          if (e.key === 'Enter' && list[0] !== undefined) this.pick(list[0]);
        }}
      />
      <div class="grid">
        ${
          filtered
            ? list.map(
                (e) => html`<button aria-label=${e} @click=${() => this.pick(e)}>${e}</button>`,
              )
            : Object.entries(EMOJI).map(
                ([cat, items]) =>
                  html`<h3>${cat}</h3>
                    ${items.map(
                      ([e, name]) =>
                        html`<button
                          aria-label=${name.split(' ')[0] ?? e}
                          @click=${() => this.pick(e)}
                        >
                          ${e}
                        </button>`,
                    )}`,
              )
        }
      </div>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'emoji-picker': EmojiPicker;
  }
}
