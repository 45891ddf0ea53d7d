/**
 * `<profile-settings>`: Settings → Profile (docs/WEB.md "Profiles"). The display name, a
 * picture chosen from a file, cropped to a square (zoom slider, preview) and resized on a canvas
 * (`avatar-image.ts`), removing the picture, and saving: the profile then goes end-to-end
 * encrypted to contacts, group members and this user's other devices. The page says that others
 * always see the username beside the name.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { MAX_DISPLAY_NAME_LENGTH } from '@sotto/crypto';
import { sessionContext } from '../context.ts';
import { renderAvatar } from '../services/avatar-image.ts';
import { initials, type AvatarUpload } from '../services/profiles.ts';
import type { ChatSession } from '../services/session.ts';
import { colorFor, settingsForm, shared } from '../styles.ts';
import { avatarFace, profileStyles } from './profile-name.ts';
import { styleProps } from './style-props.ts';
import { uiPieces, uiText } from '../services/ui-strings.ts';

/** What the picture will be on save: kept, a new one, or removed. */
type PictureChange = { kind: 'keep' } | { kind: 'remove' } | { kind: 'new'; image: ImageBitmap };

@customElement('profile-settings')
export class ProfileSettings extends LitElement {
  static override styles = [
    shared,
    settingsForm,
    profileStyles,
    css`
      .picture {
        display: flex;
        gap: 1rem;
        align-items: center;
        flex-wrap: wrap;
      }
      .avatar.big,
      canvas {
        width: 96px;
        height: 96px;
        border-radius: 50%;
        font-size: 2rem;
      }
      input[type='file'] {
        display: none;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  @state() private _name = '';
  @state() private _picture: PictureChange = { kind: 'keep' };
  @state() private _zoom = 1;
  @state() private _status = '';
  @state() private _error = '';
  @state() private _busy = false;
  @state() private _hasPicture = false;

  @query('input[type=file]') private _file!: HTMLInputElement;
  @query('canvas') private _canvas: HTMLCanvasElement | null | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.session?.messenger.profiles.own().then((p) => {
      this._name = p?.displayName ?? '';
      this._hasPicture = p?.hasAvatar === true;
    });
  }

  private async choose(): Promise<void> {
    const f = this._file.files?.[0];
    this._file.value = '';
    if (f === undefined) return;
    this._error = '';
    try {
      this._picture = { kind: 'new', image: await createImageBitmap(f) };
      this._zoom = 1;
    } catch {
      this._error = uiText('profileEdit.notPicture');
    }
  }

  override updated(): void {
    // The preview is the very square that will be sent.
    if (this._picture.kind === 'new' && this._canvas)
      void renderAvatar(this._picture.image, this._zoom, this._canvas);
  }

  private async save(e: Event): Promise<void> {
    e.preventDefault();
    this._busy = true;
    this._error = '';
    this._status = '';
    try {
      const s = this.session!;
      let avatar: AvatarUpload | null | undefined;
      if (this._picture.kind === 'remove') avatar = null;
      else if (this._picture.kind === 'new') {
        avatar = await renderAvatar(this._picture.image, this._zoom, this._canvas!);
        if (avatar === null) throw new Error(uiText('profileEdit.tooBig'));
      }
      const name = this._name.trim();
      await s.messenger.profiles.set({
        displayName: name === '' ? null : name,
        ...(avatar !== undefined ? { avatar } : {}),
      });
      this._hasPicture = avatar === undefined ? this._hasPicture : avatar !== null;
      this._picture = { kind: 'keep' };
      await s.profiles.load(s.account.username);
      this._status = uiText('profileEdit.saved');
    } catch (err) {
      this._error = err instanceof Error ? err.message : String(err);
    } finally {
      this._busy = false;
    }
  }

  private renderPicture(): TemplateResult {
    const s = this.session;
    const me = s?.account.username ?? '';
    if (this._picture.kind === 'new')
      return html`<canvas
        data-avatar-preview
        role="img"
        aria-label=${uiText('profileEdit.newPicture')}
      ></canvas>`;
    if (this._picture.kind === 'remove' || !this._hasPicture)
      return html`<span
        class="avatar big"
        role="img"
        aria-label=${uiText('profileEdit.noPicture')}
        style=${styleProps({ background: colorFor(me) })}
        >${this._picture.kind === 'remove' ? initials(this._name.trim() || me) : avatarFace(s, me)}</span
      >`;
    return html`<span
      class="avatar big"
      role="img"
      aria-label=${uiText('profileEdit.currentPicture')}
      style=${styleProps({ background: colorFor(me) })}
      >${avatarFace(s, me)}</span
    >`;
  }

  override render(): TemplateResult {
    const me = this.session?.account.username ?? '';
    const shown =
      this._picture.kind === 'new' || (this._picture.kind === 'keep' && this._hasPicture);
    return html`<form data-profile-form @submit=${this.save}>
      <div class="picture">
        ${this.renderPicture()}
        <div class="row">
          <button type="button" ?disabled=${this._busy} @click=${() => this._file.click()}>
            ${uiText('profileEdit.change')}
          </button>
          ${
            shown
              ? html`<button
                  type="button"
                  ?disabled=${this._busy}
                  @click=${() => (this._picture = { kind: 'remove' })}
                >
                  ${uiText('profileEdit.remove')}
                </button>`
              : nothing
          }
        </div>
        <input
          type="file"
          accept="image/png,image/jpeg,image/webp,image/gif,image/avif"
          aria-label=${uiText('profileEdit.file')}
          @change=${this.choose}
        />
      </div>
      ${
        this._picture.kind === 'new'
          ? html`<label
              >${uiText('profileEdit.zoom')}
              <input
                type="range"
                min="1"
                max="3"
                step="0.1"
                .value=${String(this._zoom)}
                @input=${(e: Event) => (this._zoom = Number((e.target as HTMLInputElement).value))}
            /></label>`
          : nothing
      }
      <label
        >${uiText('profileEdit.displayName')}
        <input
          name="displayName"
          maxlength=${MAX_DISPLAY_NAME_LENGTH}
          autocomplete="nickname"
          .value=${this._name}
          @input=${(e: Event) => (this._name = (e.target as HTMLInputElement).value)}
      /></label>
      <p class="muted">
        ${uiPieces('profileEdit.privacy', { user: html`<strong>@${me}</strong>` })}
      </p>
      <div class="row">
        <button type="submit" ?disabled=${this._busy}>${uiText('profileEdit.save')}</button>
      </div>
      ${this._status !== '' ? html`<p role="status" data-profile-status>${this._status}</p>` : nothing}
      ${this._error !== '' ? html`<p class="error" role="alert">${this._error}</p>` : nothing}
    </form>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'profile-settings': ProfileSettings;
  }
}
