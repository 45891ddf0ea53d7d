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
import { uiPlural, uiText, type UiStringKey } from '../services/ui-strings.ts';

const HOUR = 3_600_000;
/** The expiries offered, in ms. */
const EXPIRIES: readonly [UiStringKey, number][] = [
  ['invites.expiry.hour', HOUR],
  ['invites.expiry.day', 24 * HOUR],
  ['invites.expiry.week', 7 * 24 * HOUR],
  ['invites.expiry.month', 30 * 24 * HOUR],
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
      this.action.fail(new RangeError(uiText('invites.usesInvalid')));
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
      this._status = uiText('invites.copied');
    } catch {
      this._status = uiText('invites.copyRefused');
    }
  }

  private describe(i: InviteInfo, n: number): string {
    const uses =
      i.maxUses === 0
        ? uiPlural('invites.usesCount', i.uses)
        : uiPlural('invites.usesOf', i.maxUses, { used: i.uses });
    const state = i.revoked
      ? uiText('invites.revoked')
      : i.expiresAt <= Date.now()
        ? uiText('invites.expired')
        : i.maxUses !== 0 && i.uses >= i.maxUses
          ? uiText('invites.usedUp')
          : uiText('invites.expires', { time: momentLabel(i.expiresAt) });
    return uiText('invites.item', { n, state, uses, user: i.createdBy });
  }

  override render(): TemplateResult {
    const live = (i: InviteInfo) => !i.revoked && i.expiresAt > Date.now();
    return html`<h3 class="flush">${uiText('invites.title')}</h3>
      <p class="muted">${uiText('invites.intro')}</p>
      ${this.action.error !== '' ? html`<p class="error" role="alert">${this.action.error}</p>` : nothing}
      <form @submit=${this.create} aria-label=${uiText('invites.form')}>
        <label
          >${uiText('invites.expiry')}
          <select name="expiry">
            ${EXPIRIES.map(
              ([label, ms]) =>
                html`<option value=${ms} ?selected=${label === 'invites.expiry.week'}>
                  ${uiText(label)}
                </option>`,
            )}
          </select></label
        >
        <label
          >${uiText('invites.uses')}
          <input name="uses" type="number" min="0" step="1" value="0" inputmode="numeric"
        /></label>
        <button type="submit" class="primary" ?disabled=${this.action.busy}>
          ${uiText('invites.create')}
        </button>
      </form>
      ${
        this._link !== ''
          ? html`<div class="link">
                <input
                  readonly
                  aria-label=${uiText('invites.newLink')}
                  .value=${this._link}
                  data-invite-link
                />
                <button type="button" @click=${() => void this.copy()}>
                  ${uiText('invites.copy')}
                </button>
              </div>
              <p class="muted" role="status">${this._status}</p>`
          : nothing
      }
      ${
        this._invites !== undefined && this._invites.length > 0
          ? html`<ul aria-label=${uiText('invites.list')}>
              ${this._invites.map(
                (i, n) =>
                  html`<li data-invite=${i.id} data-live=${String(live(i))}>
                    <span>${this.describe(i, this._invites!.length - n)}</span>
                    ${
                      live(i)
                        ? html`<button
                            class="danger"
                            ?disabled=${this.action.busy}
                            aria-label=${uiText('invites.revokeLabel', { n: this._invites!.length - n })}
                            @click=${() =>
                              this.run(() =>
                                this.session!.messenger.invites.revoke(this.groupId, i.id),
                              )}
                          >
                            ${uiText('invites.revoke')}
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
