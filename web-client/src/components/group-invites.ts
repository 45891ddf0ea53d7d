/**
 * `<group-invites>`: a group admin's invite links (issue 17; docs/WEB.md "Invite links"). Make
 * one with an expiry and a use limit, copy it (its secret is shown this once: the chain keeps
 * only the invite's public key), see every invite with its uses and state, and revoke one.
 * Each change is a membership record the engine signs with the admin's identity key, so every
 * member's timeline says "alice created an invite link" / "alice revoked an invite link".
 *
 * @fires invites-changed - the group's chain moved (the settings re-read the members)
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import type { InviteInfo } from '../services/invites.ts';
import type { ChatSession } from '../services/session.ts';
import { shared } from '../styles.ts';
import { momentLabel } from './time-labels.ts';
import { BusyAction } from './controllers/busy-action.ts';

const HOUR = 3_600_000;
/** The expiries offered, in ms. */
const EXPIRIES: readonly [string, number][] = [
  ['1 hour', HOUR],
  ['1 day', 24 * HOUR],
  ['7 days', 7 * 24 * HOUR],
  ['30 days', 30 * 24 * HOUR],
];

/** Invite links of one group, for its admins. */
@customElement('group-invites')
export class GroupInvites extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        gap: 0.6rem;
      }
      form {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem;
        align-items: end;
      }
      label {
        display: grid;
        gap: 0.2rem;
        font-size: 0.85rem;
      }
      input[type='number'] {
        width: 6rem;
      }
      .link {
        display: flex;
        gap: 0.5rem;
      }
      .link input {
        flex: 1;
        font-family: monospace;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: flex;
        gap: 0.6rem;
        align-items: center;
        padding: 0.35rem 0;
        border-bottom: 1px solid var(--bg-2);
      }
      li span {
        flex: 1;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** The group. */
  @property() groupId = '';

  @state() private _invites: InviteInfo[] | undefined;
  @state() private _link = '';
  @state() private _status = '';
  private readonly action = new BusyAction(this);

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('groupId') || changed.has('session')) void this.load();
  }

  private async load(): Promise<void> {
    const s = this.session;
    if (s === undefined || this.groupId === '') return;
    try {
      this._invites = await s.messenger.invites.list(this.groupId);
    } catch (err) {
      this.action.fail(err);
    }
  }

  private async run(action: () => Promise<void>): Promise<void> {
    if (!(await this.action.run(action))) return;
    this.dispatchEvent(new CustomEvent('invites-changed', { bubbles: true, composed: true }));
    await this.load();
  }

  private create(e: Event): void {
    e.preventDefault();
    const s = this.session;
    const form = e.target as HTMLFormElement;
    const expiresInMs = Number((form.elements.namedItem('expiry') as HTMLSelectElement).value);
    const maxUses = Number((form.elements.namedItem('uses') as HTMLInputElement).value || '0');
    if (s === undefined) return;
    if (!Number.isInteger(maxUses) || maxUses < 0) {
      this.action.fail(new RangeError('The use limit is a whole number (0 for no limit).'));
      return;
    }
    void this.run(async () => {
      const made = await s.messenger.invites.create(this.groupId, { expiresInMs, maxUses });
      this._link = made.link;
      this._status = '';
    });
  }

  private async copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this._link);
      this._status = 'Link copied.';
    } catch {
      this._status = 'Copying is not allowed here: select the link and copy it.';
    }
  }

  private describe(i: InviteInfo): string {
    const uses = i.maxUses === 0 ? `${i.uses} uses` : `${i.uses} of ${i.maxUses} uses`;
    const state = i.revoked
      ? 'revoked'
      : i.expiresAt <= Date.now()
        ? 'expired'
        : i.maxUses !== 0 && i.uses >= i.maxUses
          ? 'used up'
          : `expires ${momentLabel(i.expiresAt)}`;
    return `${state} · ${uses} · by ${i.createdBy}`;
  }

  override render(): TemplateResult {
    const live = (i: InviteInfo) => !i.revoked && i.expiresAt > Date.now();
    return html`<h3 class="flush">Invite links</h3>
      <p class="muted">
        Anyone with a link can join until it expires, is used up or you revoke it. The link is shown
        once: Sotto keeps no copy of its secret.
      </p>
      ${this.action.error !== '' ? html`<p class="error" role="alert">${this.action.error}</p>` : nothing}
      <form @submit=${this.create} aria-label="Create an invite link">
        <label
          >Expires after
          <select name="expiry">
            ${EXPIRIES.map(
              ([label, ms]) =>
                html`<option value=${ms} ?selected=${label === '7 days'}>${label}</option>`,
            )}
          </select></label
        >
        <label
          >Use limit (0 = none)
          <input name="uses" type="number" min="0" step="1" value="0" inputmode="numeric"
        /></label>
        <button type="submit" class="primary" ?disabled=${this.action.busy}>
          Create invite link
        </button>
      </form>
      ${
        this._link !== ''
          ? html`<div class="link">
                <input
                  readonly
                  aria-label="New invite link"
                  .value=${this._link}
                  data-invite-link
                />
                <button type="button" @click=${() => void this.copy()}>Copy link</button>
              </div>
              <p class="muted" role="status">${this._status}</p>`
          : nothing
      }
      ${
        this._invites !== undefined && this._invites.length > 0
          ? html`<ul aria-label="Invites">
              ${this._invites.map(
                (i, n) =>
                  html`<li data-invite=${i.id} data-live=${String(live(i))}>
                    <span>Invite ${this._invites!.length - n}: ${this.describe(i)}</span>
                    ${
                      live(i)
                        ? html`<button
                            class="danger"
                            ?disabled=${this.action.busy}
                            aria-label="Revoke invite ${this._invites!.length - n}"
                            @click=${() =>
                              this.run(() =>
                                this.session!.messenger.invites.revoke(this.groupId, i.id),
                              )}
                          >
                            Revoke
                          </button>`
                        : nothing
                    }
                  </li>`,
              )}
            </ul>`
          : nothing
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'group-invites': GroupInvites;
  }
}
