/**
 * Shared component styles. Colours come from CSS custom properties set on `:root` in
 * `index.html` (light, dark via `prefers-color-scheme` or `data-theme`), so every shadow
 * root follows the theme without re-rendering.
 */
import { css } from 'lit';

/** Buttons, inputs and small utilities used by most views. */
export const shared = css`
  :host {
    box-sizing: border-box;
    color: var(--fg);
    font: inherit;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  button {
    font: inherit;
    color: inherit;
    background: var(--bg-2);
    border: 1px solid var(--border);
    border-radius: 8px;
    padding: 0.45rem 0.8rem;
    cursor: pointer;
    min-height: 36px;
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 0.35rem;
  }
  button:hover:not(:disabled) {
    background: var(--bg-3);
  }
  button:disabled {
    opacity: 0.5;
    cursor: not-allowed;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: var(--on-accent);
  }
  button.primary:hover:not(:disabled) {
    background: var(--accent-2);
  }
  button.danger {
    color: var(--danger);
  }
  button.icon {
    background: transparent;
    border: none;
    padding: 0.35rem;
    min-width: 36px;
    font-size: 1.15rem;
    line-height: 1;
  }
  a.icon {
    display: inline-grid;
    place-items: center;
    min-width: 36px;
    min-height: 36px;
    border-radius: 8px;
    text-decoration: none;
    font-size: 1.15rem;
  }
  a.icon:hover {
    background: var(--bg-3);
  }
  input,
  textarea,
  select {
    font: inherit;
    color: inherit;
    background: var(--bg);
    border: 1px solid var(--border);
    border-radius: 8px;
    padding: 0.5rem 0.65rem;
    min-height: 36px;
  }
  :focus-visible {
    outline: 2px solid var(--accent);
    outline-offset: 2px;
  }
  .muted {
    color: var(--fg-2);
  }
  /* Layout tweaks as classes: the CSP (scripts/web-headers.ts) refuses style attributes. */
  .flush {
    margin: 0;
  }
  .flush-above {
    margin: 0 0 0.75rem;
  }
  .narrow {
    max-width: 420px;
  }
  .break-all {
    word-break: break-all;
  }
  .error {
    color: var(--danger);
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
  header.bar {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    padding: 0.5rem 0.75rem;
    min-height: 56px;
    border-bottom: 1px solid var(--border);
    background: var(--bg-2);
  }
  header.bar h2 {
    flex: 1;
    margin: 0;
    font-size: 1.05rem;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .avatar {
    flex: none;
    width: 40px;
    height: 40px;
    border-radius: 50%;
    display: grid;
    place-items: center;
    font-weight: 600;
    color: #fff;
    position: relative;
    text-transform: uppercase;
  }
  .dot {
    position: absolute;
    right: -1px;
    bottom: -1px;
    width: 12px;
    height: 12px;
    border-radius: 50%;
    background: var(--online);
    border: 2px solid var(--bg);
  }
`;

/** A settings form: fields stacked with their labels, a row of buttons. */
export const settingsForm = css`
  form {
    display: grid;
    gap: 0.5rem;
    max-width: 24rem;
  }
  label {
    display: grid;
    gap: 0.2rem;
  }
  .row {
    display: flex;
    gap: 0.5rem;
    flex-wrap: wrap;
  }
`;

/** A settings list (devices, passkeys): one item per entry, with its actions and inline forms. */
export const settingsList = css`
  ul {
    list-style: none;
    padding: 0;
    display: grid;
    gap: 0.75rem;
  }
  li {
    display: grid;
    gap: 0.25rem;
  }
  .row,
  li form {
    display: flex;
    gap: 0.5rem;
    flex-wrap: wrap;
    align-items: center;
  }
`;

/** A stable hue (0–359) for a name. */
export function hueFor(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % 360;
}

/** A stable background colour for a name (avatars with white initials). */
export function colorFor(name: string): string {
  return `hsl(${hueFor(name)} 55% 45%)`;
}

/** A native modal `<dialog>` (confirm-dialog, forward-picker): its box, backdrop, title and buttons. */
export const modalDialog = css`
  dialog {
    max-width: min(26rem, calc(100vw - 2rem));
    border: 1px solid var(--border);
    border-radius: 12px;
    background: var(--bg);
    color: var(--fg);
    padding: 1.2rem;
  }
  dialog::backdrop {
    background: rgb(0 0 0 / 40%);
  }
  h2 {
    margin: 0 0 0.5rem;
    font-size: 1.1rem;
  }
  .buttons {
    display: flex;
    justify-content: flex-end;
    gap: 0.5rem;
    margin-top: 1rem;
  }
`;

/** A checkbox with its label and a muted explanation beside it (`<label class="check">`). */
export const checkRow = css`
  label.check {
    display: flex;
    gap: 0.6rem;
    align-items: flex-start;
  }
  label.check input {
    min-height: 0;
    margin-top: 0.2rem;
  }
`;

/**
 * A banner across the top of a view: a warning (`.banner`) or a blocking alert (`.banner.danger`,
 * its buttons in the banner's colours inverted so they stay readable in both themes: white on the
 * light button face was unreadable). One definition for the key-change, group-key, frozen-group,
 * own-key and guest banners; each adds only its own layout.
 */
export const banner = css`
  :host {
    display: block;
  }
  .banner {
    padding: 0.6rem 0.8rem;
    background: var(--warn-bg);
    color: var(--warn-fg);
    border-bottom: 1px solid var(--border);
  }
  .banner.danger {
    background: var(--danger);
    color: var(--on-danger);
  }
  .banner.danger button {
    background: var(--on-danger);
    color: var(--danger);
    border-color: var(--on-danger);
    font-weight: 600;
  }
  .banner p {
    margin: 0;
  }
  .banner a {
    color: inherit;
    font-weight: 600;
  }
`;
