/**
 * `<call-overlay>`: the call UI above the app (docs/WEB.md "Calls"). While a call rings here it
 * is the incoming call sheet (accept / decline, the ringing timeout is the call manager's); while
 * calling or in a call it is the in-call view: the peers' video (or audio), a self view, the call
 * duration, and mute, camera on/off, switch camera or microphone, screen share and hang up. It
 * only shows what {@link CallManager} says and hands it what the user does.
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { icons } from '../icons.ts';
import type { CallManager, CallView } from '../services/call-manager.ts';
import { durationText } from '../services/locale-format.ts';
import { uiText, type UiStringKey } from '../services/ui-strings.ts';
import { shared } from '../styles.ts';

/** The call sheet and in-call view. */
@customElement('call-overlay')
export class CallOverlay extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: contents;
      }
      .sheet,
      .call {
        position: fixed;
        z-index: 50;
        background: var(--bg-1, #111);
        color: var(--fg-1, #eee);
        box-shadow: 0 8px 32px rgb(0 0 0 / 40%);
      }
      .sheet {
        left: 50%;
        top: 1rem;
        transform: translateX(-50%);
        border-radius: 1rem;
        padding: 1rem 1.25rem;
        display: flex;
        gap: 1rem;
        align-items: center;
        min-width: min(26rem, 94vw);
      }
      .sheet .who {
        flex: 1;
      }
      .sheet .who small {
        display: block;
        color: var(--fg-2);
      }
      .call {
        inset: 0;
        display: grid;
        grid-template-rows: auto 1fr auto;
        background: #0b0d10;
        color: #f2f4f7;
      }
      header {
        padding: 0.75rem 1rem;
        display: flex;
        justify-content: space-between;
      }
      .tiles {
        display: grid;
        gap: 0.5rem;
        padding: 0.5rem;
        grid-template-columns: repeat(auto-fit, minmax(240px, 1fr));
        min-height: 0;
      }
      .tile {
        position: relative;
        background: #1a1f26;
        border-radius: 0.75rem;
        overflow: hidden;
        display: grid;
        place-items: center;
        min-height: 160px;
      }
      .tile video {
        width: 100%;
        height: 100%;
        object-fit: cover;
      }
      .tile span {
        position: absolute;
        left: 0.5rem;
        bottom: 0.5rem;
        background: rgb(0 0 0 / 55%);
        padding: 0.1rem 0.5rem;
        border-radius: 999px;
        font-size: 0.85rem;
      }
      .self {
        position: absolute;
        right: 1rem;
        bottom: 5.5rem;
        width: 160px;
        border-radius: 0.5rem;
        border: 2px solid #2d3440;
        background: #1a1f26;
      }
      .controls {
        display: flex;
        justify-content: center;
        gap: 0.75rem;
        padding: 1rem;
      }
      .controls button,
      .sheet button {
        width: 3rem;
        height: 3rem;
        border-radius: 50%;
        display: inline-grid;
        place-items: center;
        border: none;
        background: #2d3440;
        color: inherit;
        cursor: pointer;
      }
      .controls button[aria-pressed='true'] {
        background: #f2f4f7;
        color: #0b0d10;
      }
      button.hang,
      button.decline {
        background: #d93025;
        color: #fff;
      }
      button.accept {
        background: #1e8e3e;
        color: #fff;
      }
      .error {
        position: fixed;
        z-index: 50;
        left: 50%;
        top: 1rem;
        transform: translateX(-50%);
        background: var(--warn-bg);
        color: var(--warn-fg);
        padding: 0.5rem 1rem;
        border-radius: 0.5rem;
      }
    `,
  ];

  /** The signed-in account's calls; nothing shows without one. */
  @property({ attribute: false }) manager: CallManager | undefined;

  @state() private _view: CallView | null = null;
  @state() private _now = Date.now();
  private tick: ReturnType<typeof setInterval> | undefined;
  private readonly onChange = (): void => {
    this._view = this.manager?.view ?? null;
  };

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('manager')) {
      const old = changed.get('manager');
      old?.removeEventListener('change', this.onChange);
      this.manager?.addEventListener('change', this.onChange);
      this._view = this.manager?.view ?? null;
    }
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.tick = setInterval(() => {
      if (this._view?.connectedAt != null) this._now = Date.now();
    }, 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.tick);
    this.manager?.removeEventListener('change', this.onChange);
  }

  private act(fn: (m: CallManager) => Promise<void>): void {
    const m = this.manager;
    if (m) void fn(m).catch((e: unknown) => console.error('call action failed', e));
  }

  override render(): TemplateResult | typeof nothing {
    const v = this._view;
    if (v === null) return nothing;
    if (v.phase === 'idle') {
      return v.error !== ''
        ? html`<div class="error" role="alert" data-call-error=${v.error}>
            ${uiText(`call.error.${v.error}` as UiStringKey)}
          </div>`
        : nothing;
    }
    if (v.phase === 'ringing') return this.renderSheet(v);
    return this.renderCall(v);
  }

  private renderSheet(v: CallView): TemplateResult {
    const media = uiText(v.media === 'audio' ? 'call.voice' : 'call.video').toLowerCase();
    const group = v.conversationId.startsWith('group:');
    return html`<div
      class="sheet"
      role="alertdialog"
      aria-labelledby="incoming"
      aria-describedby="from"
      data-call-sheet
      data-media=${v.media}
    >
      <div class="who">
        <strong id="incoming">${uiText('call.incoming', { media })}</strong>
        <small id="from"
          >${
            group
              ? uiText('call.incomingGroup', { user: v.peer, group: v.conversationId.slice(6) })
              : uiText('call.incomingFrom', { user: v.peer })
          }</small
        >
      </div>
      <button
        class="decline"
        type="button"
        data-call-decline
        aria-label=${uiText('call.decline')}
        title=${uiText('call.decline')}
        @click=${() => this.act((m) => m.decline())}
      >
        ${icons.hangUp}
      </button>
      <button
        class="accept"
        type="button"
        data-call-accept
        aria-label=${uiText('call.accept')}
        title=${uiText('call.accept')}
        @click=${() => this.act((m) => m.accept())}
      >
        ${v.media === 'audio' ? icons.phone : icons.video}
      </button>
    </div>`;
  }

  private renderCall(v: CallView): TemplateResult {
    const video = v.media === 'video';
    const status =
      v.connectedAt !== null
        ? durationText(this._now - v.connectedAt)
        : v.phase === 'outgoing'
          ? uiText('call.calling', { peer: v.peer })
          : uiText('call.connecting');
    const toggle = (
      pressed: boolean,
      on: UiStringKey,
      off: UiStringKey,
      icon: TemplateResult,
      attr: string,
      fn: (m: CallManager) => Promise<void>,
    ) =>
      html`<button
        type="button"
        data-control=${attr}
        aria-pressed=${pressed ? 'true' : 'false'}
        aria-label=${uiText(pressed ? off : on)}
        title=${uiText(pressed ? off : on)}
        @click=${() => this.act(fn)}
      >
        ${icon}
      </button>`;
    return html`<section
      class="call"
      role="dialog"
      aria-label=${uiText('call.inCall', { peer: v.peer })}
      data-call-view
      data-phase=${v.phase}
      data-connected=${v.connectedAt !== null ? 'true' : 'false'}
    >
      <header>
        <strong>${uiText('call.inCall', { peer: v.peer })}</strong>
        <span role="timer" aria-label=${uiText('call.duration')} data-call-duration>${status}</span>
      </header>
      <div class="tiles">
        ${v.remotes.map(
          (r) =>
            html`<div class="tile" data-remote=${r.key}>
              ${
                video
                  ? html`<video
                      autoplay
                      playsinline
                      aria-label=${uiText('call.videoOf', { user: r.user })}
                      .srcObject=${r.stream}
                    ></video>`
                  : html`<audio autoplay .srcObject=${r.stream}></audio>`
              }
              <span>${r.user}</span>
            </div>`,
        )}
      </div>
      ${
        video && v.local !== null
          ? html`<video
              class="self"
              autoplay
              playsinline
              muted
              aria-label=${uiText('call.selfView')}
              .srcObject=${v.local}
            ></video>`
          : nothing
      }
      <div class="controls" role="toolbar" aria-label=${uiText('call.inCall', { peer: v.peer })}>
        ${toggle(
          v.muted,
          'call.mute',
          'call.unmute',
          v.muted ? icons.micOff : icons.mic,
          'mute',
          (m) => m.setMuted(!v.muted),
        )}
        ${
          video
            ? toggle(
                v.cameraOff,
                'call.cameraOff',
                'call.cameraOn',
                v.cameraOff ? icons.videoOff : icons.video,
                'camera',
                (m) => m.setCameraOff(!v.cameraOff),
              )
            : nothing
        }
        ${
          video
            ? html`<button
                type="button"
                data-control="switch-camera"
                aria-label=${uiText('call.switchCamera')}
                title=${uiText('call.switchCamera')}
                @click=${() => this.act((m) => m.switchDevice('videoinput'))}
              >
                ${icons.switch}
              </button>`
            : html`<button
                type="button"
                data-control="switch-mic"
                aria-label=${uiText('call.switchMic')}
                title=${uiText('call.switchMic')}
                @click=${() => this.act((m) => m.switchDevice('audioinput'))}
              >
                ${icons.switch}
              </button>`
        }
        ${
          video
            ? toggle(v.sharing, 'call.shareScreen', 'call.stopShare', icons.screen, 'share', (m) =>
                m.setSharing(!v.sharing),
              )
            : nothing
        }
        <button
          class="hang"
          type="button"
          data-control="hang-up"
          aria-label=${uiText('call.hangUp')}
          title=${uiText('call.hangUp')}
          @click=${() => this.act((m) => m.hangUp())}
        >
          ${icons.hangUp}
        </button>
      </div>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'call-overlay': CallOverlay;
  }
}
