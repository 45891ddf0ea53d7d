/**
 * `<account-devices>`: Settings → Signed-in devices (issue 19). Each device with its name
 * (browser and system by default, editable), kind, when it was added and last active, this one
 * marked; remove another device (the key server asks for the password or a passkey again when
 * the last proof is over 5 minutes old: step-up, `<step-up-prompt>`).
 */
import { LitElement, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import type { DeviceInfo } from '@sotto/client';
import { messengerContext } from '../context.ts';
import { MessengerError, securityOf, type MessengerService } from '../services/messenger.ts';
import { uiText } from '../services/ui-strings.ts';
import { renameForm } from './rename-form.ts';
import { settingsList, shared } from '../styles.ts';
import './step-up-prompt.ts';
import { dateTimeText } from '../services/locale-format.ts';

@customElement('account-devices')
export class AccountDevices extends LitElement {
  static override styles = [shared, settingsList];

  @consume({ context: messengerContext, subscribe: true })
  @property({ attribute: false })
  messenger: MessengerService | undefined;

  @state() private _devices: DeviceInfo[] | undefined;
  @state() private _editing: string | null = null;
  /** The removal waiting for a recent password or passkey (step-up). */
  @state() private _confirmRemove: string | null = null;
  @state() private _error = '';
  @state() private _busy = false;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private api() {
    return securityOf(this.messenger);
  }

  private async load(): Promise<void> {
    try {
      this._devices = await (await this.api()).listDevices();
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    }
  }

  private async run(action: () => Promise<void>): Promise<void> {
    this._busy = true;
    this._error = '';
    try {
      await action();
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    } finally {
      this._busy = false;
    }
  }

  private async rename(deviceId: string, name: string): Promise<void> {
    await this.run(async () => {
      await (await this.api()).renameDevice(deviceId, name);
      this._editing = null;
      await this.load();
    });
  }

  private async removeDevice(deviceId: string): Promise<void> {
    await this.run(async () => {
      try {
        await (await this.api()).removeDevice(deviceId);
      } catch (err) {
        if (err instanceof MessengerError && err.code === 'REAUTH_REQUIRED') {
          this._confirmRemove = deviceId;
          return;
        }
        throw err;
      }
      this._confirmRemove = null;
      await this.load();
    });
  }

  private renderDevice(d: DeviceInfo): TemplateResult {
    const editing = this._editing === d.deviceId;
    return html`<li data-device=${d.deviceId} ?data-current=${d.current}>
      <div class="row">
        <strong data-device-name>${d.name}</strong>
        <span class="muted">${uiText(`devices.kind.${d.kind}`)}</span>
        ${d.current ? html`<span class="badge">${uiText('devices.current')}</span>` : nothing}
      </div>
      <span class="muted"
        >${uiText('devices.times', { added: dateTimeText(d.createdAt), active: dateTimeText(d.lastActiveAt) })}</span
      >
      ${
        editing
          ? renameForm({
              kind: 'device',
              current: d.name,
              label: uiText('devices.nameLabel', { name: d.name }),
              busy: this._busy,
              save: (name) => void this.rename(d.deviceId, name),
              cancel: () => (this._editing = null),
            })
          : html`<div class="row">
              <button
                type="button"
                data-rename
                aria-label=${uiText('devices.renameLabel', { name: d.name })}
                @click=${() => (this._editing = d.deviceId)}
              >
                ${uiText('devices.rename')}
              </button>
              ${
                d.current
                  ? nothing
                  : html`<button
                      type="button"
                      data-remove
                      ?disabled=${this._busy}
                      aria-label=${uiText('devices.removeLabel', { name: d.name })}
                      @click=${() => this.removeDevice(d.deviceId)}
                    >
                      ${uiText('devices.remove')}
                    </button>`
              }
            </div>`
      }
      ${
        this._confirmRemove === d.deviceId
          ? html`<step-up-prompt
              .label=${uiText('devices.confirmPassword', { name: d.name })}
              @stepped-up=${() => this.removeDevice(d.deviceId)}
            ></step-up-prompt>`
          : nothing
      }
    </li>`;
  }

  override render(): TemplateResult {
    return html`
      ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
      ${
        this._devices === undefined
          ? html`<p class="muted">${uiText('devices.loading')}</p>`
          : html`<ul data-account-devices>
              ${this._devices.map((d) => this.renderDevice(d))}
            </ul>`
      }
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'account-devices': AccountDevices;
  }
}
