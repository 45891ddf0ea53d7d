/**
 * `@name` completion in the composer: typing `@` offers the conversation's members in a list
 * above the message box; ↑/↓ choose, Enter or Tab writes `@name `, Esc closes, a click picks.
 * The box keeps the focus and points at the chosen option (`aria-activedescendant`), so screen
 * readers follow the choice. What a sent text mentions is worked out from the text itself
 * (`findMentions`), so a name typed in full counts as much as one picked here.
 */
import { css, html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import { mentionOptions, mentionQuery } from '../../services/mentions.ts';
import { uiText } from '../../services/ui-strings.ts';

/** The look of the list (the host adds it to its styles). */
export const mentionStyles = css`
  :host {
    position: relative;
  }
  .mentions {
    position: absolute;
    bottom: 100%;
    left: 0.5rem;
    z-index: 5;
    margin: 0 0 0.3rem;
    padding: 0.25rem 0;
    list-style: none;
    min-width: 12rem;
    background: var(--bg);
    border: 1px solid var(--border);
    border-radius: 8px;
    box-shadow: var(--shadow);
  }
  .mentions li {
    padding: 0.35rem 0.8rem;
    cursor: pointer;
  }
  .mentions li[aria-selected='true'] {
    background: var(--accent);
    color: var(--on-accent);
  }
`;

/** Completes the `@` word before the caret of the host's message box. */
export class MentionComplete implements ReactiveController {
  /** Members offered now (empty: the list is closed). */
  offered: string[] = [];
  /** Index of the highlighted option. */
  active = 0;
  /** Where the `@` being completed starts in the text. */
  private start = -1;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly options: {
      input: () => HTMLTextAreaElement | null;
      /** The other members of the conversation. */
      members: () => readonly string[];
      /** The text changed by a pick (the host saves the draft, says it is typing). */
      picked: () => void;
    },
  ) {
    host.addController(this);
  }

  hostDisconnected(): void {
    this.close();
  }

  /** Id of the highlighted option, for the box's `aria-activedescendant`. */
  get activeId(): string | undefined {
    const u = this.offered[this.active];
    return u === undefined ? undefined : `mention-${u}`;
  }

  /** The text or the caret moved: offer members for the `@` word being typed, if any. */
  update(): void {
    const el = this.options.input();
    const q = el === null ? undefined : mentionQuery(el.value, el.selectionStart ?? 0);
    const offered = q === undefined ? [] : mentionOptions(this.options.members(), q.query);
    this.start = q?.start ?? -1;
    if (offered.join() !== this.offered.join()) this.active = 0;
    this.offered = offered;
    this.host.requestUpdate();
  }

  /** Keys while the list is open; true when the key was the list's. */
  onKeyDown(e: KeyboardEvent): boolean {
    const n = this.offered.length;
    if (n === 0 || e.isComposing) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      this.active = (this.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.host.requestUpdate();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      this.pick(this.offered[this.active] ?? '');
    } else if (e.key === 'Escape') {
      this.close();
    } else {
      return false;
    }
    e.preventDefault();
    e.stopPropagation();
    return true;
  }

  private close(): void {
    if (this.offered.length === 0) return;
    this.offered = [];
    this.host.requestUpdate();
  }

  /** Replace the `@` word with `@user ` and put the caret after it. */
  private pick(user: string): void {
    const el = this.options.input();
    if (el === null || user === '' || this.start < 0) return;
    const caret = el.selectionStart ?? el.value.length;
    const insert = `@${user} `;
    el.value = el.value.slice(0, this.start) + insert + el.value.slice(caret);
    const at = this.start + insert.length;
    el.setSelectionRange(at, at);
    el.focus();
    this.close();
    this.options.picked();
  }

  /** The list above the box, or nothing while closed. */
  render(): unknown {
    if (this.offered.length === 0) return nothing;
    return html`<ul
      class="mentions"
      id="mention-list"
      role="listbox"
      aria-label=${uiText('mention.list')}
    >
      ${this.offered.map(
        (u, i) =>
          html`<li
            role="option"
            id="mention-${u}"
            data-mention-option=${u}
            aria-selected=${i === this.active ? 'true' : 'false'}
            @mousedown=${(e: Event) => {
              // Keep the focus in the box.
              e.preventDefault();
              this.pick(u);
            }}
          >
            @${u}
          </li>`,
      )}
    </ul>`;
  }
}
