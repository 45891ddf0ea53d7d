/**
 * `<passkey-settings>`: Settings → Passkeys (issue 19; docs/WEB.md "Passkeys"). Add a passkey
 * with a name (the browser's own prompt: screen lock or security key), see when each was added
 * and last used, rename one, remove one. Adding and removing need a recent password or passkey
 * (step-up): when the key server says so, `<step-up-prompt>` asks and the action runs again.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import type { PasskeyInfo } from '@sotto/client';
import { messengerContext } from '../context.ts';
import { MessengerError, securityOf, type MessengerService } from '../services/messenger.ts';
import { createPasskey, passkeysSupported } from '../services/passkeys.ts';
import { uiText } from '../services/ui-strings.ts';
import { renameForm } from './rename-form.ts';
import { settingsList, shared } from '../styles.ts';
import './step-up-prompt.ts';
import { dateTimeText } from '../services/locale-format.ts';

@customElement('passkey-settings')
export class PasskeySettings extends LitElement {
  static override styles = [
    shared,
    settingsList,
    css`
      form[data-passkey-add] {
        display: flex;
        gap: 0.5rem;
        flex-wrap: wrap;
      }
    `,
  ];

  @consume({ context: messengerContext, subscribe: true })
  @property({ attribute: false })
  messenger: MessengerService | undefined;

  @state() private _passkeys: PasskeyInfo[] | undefined;
  @state() private _editing: string | null = null;
  /** The action waiting for a recent password or passkey (step-up). */
  @state() private _pending: (() => Promise<void>) | null = null;
  @state() private _error = '';
  @state() private _busy = false;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.run(() => this.load());
  }

  private api() {
    return securityOf(this.messenger);
  }

  private async load(): Promise<void> {
    this._passkeys = await (await this.api()).listPasskeys();
  }

  /** Run `action`; a REAUTH_REQUIRED keeps it for `<step-up-prompt>`, other errors show as text. */
  private async run(action: () => Promise<void>): Promise<void> {
    this._busy = true;
    this._error = '';
    try {
      await action();
    } catch (err) {
      if (err instanceof MessengerError && err.code === 'REAUTH_REQUIRED') this._pending = action;
      else this._error = err instanceof Error ? err.message : String(err);
    } finally {
      this._busy = false;
    }
  }

  private readonly steppedUp = async (): Promise<void> => {
    const action = this._pending;
    this._pending = null;
    if (action !== null) await this.run(action);
  };

  private async add(e: Event): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const name = ((new FormData(form).get('name') as string | null) ?? '').trim();
    await this.run(async () => {
      await (await this.api()).registerPasskey(createPasskey, name === '' ? undefined : name);
      form.reset();
      await this.load();
    });
  }

  private async rename(id: string, name: string): Promise<void> {
    await this.run(async () => {
      await (await this.api()).renamePasskey(id, name);
      this._editing = null;
      await this.load();
    });
  }

  private removePasskey(id: string): Promise<void> {
    return this.run(async () => {
      await (await this.api()).removePasskey(id);
      await this.load();
    });
  }

  private renderPasskey(p: PasskeyInfo): TemplateResult {
    const used = p.lastUsedAt === null ? uiText('passkey.neverUsed') : dateTimeText(p.lastUsedAt);
    return html`<li data-passkey=${p.id}>
      <strong data-passkey-name>${p.name}</strong>
      <span class="muted"
        >${uiText('passkey.times', { added: dateTimeText(p.createdAt), used })}</span
      >
      ${
        this._editing === p.id
          ? renameForm({
              kind: 'passkey',
              current: p.name,
              label: uiText('passkey.newNameLabel', { name: p.name }),
              busy: this._busy,
              save: (name) => void this.rename(p.id, name),
              cancel: () => (this._editing = null),
            })
          : html`<div class="row">
              <button
                type="button"
                data-passkey-rename
                aria-label=${uiText('passkey.renameLabel', { name: p.name })}
                @click=${() => (this._editing = p.id)}
              >
                ${uiText('passkey.rename')}
              </button>
              <button
                type="button"
                data-passkey-remove
                ?disabled=${this._busy}
                aria-label=${uiText('passkey.removeLabel', { name: p.name })}
                @click=${() => this.removePasskey(p.id)}
              >
                ${uiText('passkey.remove')}
              </button>
            </div>`
      }
    </li>`;
  }

  override render(): TemplateResult {
    const list = this._passkeys;
    return html`
      <p class="muted">${uiText('passkey.intro')}</p>
      ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      ${
        this._pending !== null
          ? html`<step-up-prompt @stepped-up=${this.steppedUp}></step-up-prompt>`
          : nothing
      }
      ${
        list === undefined
          ? nothing
          : list.length === 0
            ? html`<p data-no-passkeys>${uiText('passkey.none')}</p>`
            : html`<ul data-passkeys>
                ${list.map((p) => this.renderPasskey(p))}
              </ul>`
      }
      ${
        passkeysSupported()
          ? html`<form data-passkey-add @submit=${this.add}>
              <input
                name="name"
                maxlength="64"
                autocomplete="off"
                aria-label=${uiText('passkey.nameLabel')}
                placeholder=${uiText('passkey.nameLabel')}
              />
              <button type="submit" ?disabled=${this._busy}>${uiText('passkey.add')}</button>
            </form>`
          : html`<p class="muted">${uiText('passkey.unsupported')}</p>`
      }
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'passkey-settings': PasskeySettings;
  }
}
