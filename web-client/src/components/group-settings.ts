/**
 * `<group-settings>`: a group's verified member list with admin marks and bot/bridge badges;
 * admins add and remove members (after a confirmation naming them), promote or demote admins and
 * manage invite links (`<group-invites>`); anyone can leave (confirmed too). The heading counts
 * who is online and the list marks them, from the presence the browser follows. Members whose
 * identity key changed (and our own key replaced by a reset) show in `<group-key-banner>`, with
 * "Re-add with new key" for admins. Every change is
 * a membership record signed by the engine with the user's identity key.
 */
/* eslint-disable @typescript-eslint/unbound-method -- Lit calls template event listeners with `this` bound to the host element (renderOptions.host). */
import { LitElement, css, html, nothing, type TemplateResult } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import { consume } from '@lit/context';
import { sessionContext } from '../context.ts';
import { SessionEvents } from '../session-events.ts';
import type { GroupInfo } from '../services/messenger.ts';
import type { ChatSession } from '../services/session.ts';
import { icons } from '../icons.ts';
import { infoTabs, infoTabStyles } from './conversation-media.ts';
import { colorFor, shared } from '../styles.ts';
import { avatarFace, profileStyles, userName } from './profile-name.ts';
import './group-key-banner.ts';
import './group-invites.ts';
import './confirm-dialog.ts';
import type { ConfirmDialog } from './confirm-dialog.ts';
import { membersLabel, onlineMembers } from '../services/group-presence.ts';
import { groupConversationId } from '../services/messenger.ts';
import { styleProps } from './style-props.ts';
import { BusyAction } from './controllers/busy-action.ts';
import { uiText } from '../services/ui-strings.ts';

/** Group members and admin actions. */
@customElement('group-settings')
export class GroupSettings extends LitElement {
  static override styles = [
    shared,
    infoTabStyles,
    profileStyles,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
        overflow-y: auto;
      }
      section {
        padding: 1rem;
        display: grid;
        gap: 0.75rem;
        max-width: 640px;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        display: flex;
        align-items: center;
        gap: 0.6rem;
        padding: 0.45rem 0;
        border-bottom: 1px solid var(--bg-2);
        flex-wrap: wrap;
      }
      li .name {
        flex: 1;
        min-width: 120px;
      }
      .tag {
        font-size: 0.72rem;
        border: 1px solid var(--border);
        border-radius: 999px;
        padding: 0 0.45rem;
        margin-left: 0.3rem;
        color: var(--fg-2);
      }
      form {
        display: flex;
        gap: 0.5rem;
      }
      form input {
        flex: 1;
      }
    `,
  ];

  @consume({ context: sessionContext, subscribe: true })
  @property({ attribute: false })
  session: ChatSession | undefined;

  /** The group. */
  @property() groupId = '';

  @state() private _info: GroupInfo | undefined;
  private readonly action = new BusyAction(this);
  @query('confirm-dialog') private _confirm!: ConfirmDialog;

  private readonly onHistory = (): void => void this.load();
  protected readonly events = new SessionEvents(this, () => this.session, {
    history: this.onHistory,
    live: () => this.requestUpdate(),
  });

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('groupId') || changed.has('session')) void this.load();
  }

  private async load(): Promise<void> {
    const s = this.session;
    if (s === undefined || this.groupId === '') return;
    try {
      this._info = await s.messenger.groupInfo(this.groupId);
      s.messenger.watchPresence(this._info.members.map((m) => m.username));
    } catch (err) {
      this.action.fail(err);
    }
  }

  /** Run a membership change; true when it went through. */
  private async run(action: () => Promise<void>): Promise<boolean> {
    if (!(await this.action.run(action))) return false;
    this.session?.touch(groupConversationId(this.groupId));
    await this.load();
    return true;
  }

  private add(e: Event): void {
    e.preventDefault();
    const s = this.session;
    const input = (e.target as HTMLFormElement).elements.namedItem('username') as HTMLInputElement;
    const username = input.value.trim().toLowerCase();
    if (s === undefined || username === '') return;
    void this.run(async () => {
      await s.messenger.addMember(this.groupId, username);
      input.value = '';
    });
  }

  /** Remove `username` once the admin confirmed it. */
  private async removeMember(username: string, group: string): Promise<void> {
    const ok = await this._confirm.ask({
      title: uiText('groupSettings.removeTitle', { user: username, group }),
      text: uiText('groupSettings.removeText', { user: username }),
      confirm: uiText('groupSettings.removeConfirm', { user: username }),
    });
    if (ok === null) return;
    await this.run(() => this.session!.messenger.removeMember(this.groupId, username));
  }

  /** Leave once confirmed, then go back to the chat list. */
  private async leave(group: string): Promise<void> {
    const ok = await this._confirm.ask({
      title: uiText('groupSettings.leaveTitle', { group }),
      text: uiText('groupSettings.leaveText'),
      confirm: uiText('groupSettings.leaveConfirm', { group }),
    });
    if (ok === null) return;
    if (await this.run(() => this.session!.messenger.leaveGroup(this.groupId)))
      location.hash = '#/';
  }

  override render(): TemplateResult {
    const s = this.session;
    const info = this._info;
    const me = s?.account.username ?? '';
    const amAdmin = info?.members.some((m) => m.username === me && m.admin) === true;
    const amMember = info?.members.some((m) => m.username === me) === true;
    const online = new Set(
      s !== undefined && info !== undefined
        ? onlineMembers(
            info.members.map((m) => m.username),
            s.presence,
            me,
            s.connection === 'online',
          )
        : [],
    );
    return html`<header class="bar">
        <a
          class="icon"
          href="#/c/${encodeURIComponent(groupConversationId(this.groupId))}"
          aria-label=${uiText('common.backToConversation')}
          >${icons.back}</a
        >
        <h2>${info?.name ?? uiText('groupSettings.heading')}</h2>
      </header>
      ${infoTabs(groupConversationId(this.groupId), 'info')}
      ${info !== undefined && amMember ? html`<group-key-banner .groupId=${this.groupId} lookup></group-key-banner>` : nothing}
      <section>
        ${this.action.error !== '' ? html`<p class="error" role="alert">${this.action.error}</p>` : nothing}
        ${
          info === undefined
            ? html`<p class="muted" role="status">${uiText('groupSettings.loading')}</p>`
            : html`<h3 class="flush" data-member-count>
                  ${membersLabel(info.members.length, online.size)}
                </h3>
                <ul aria-label=${uiText('groupSettings.members')}>
                  ${info.members.map(
                    (m) =>
                      html`<li data-member=${m.username}>
                        <span
                          class="avatar"
                          style=${styleProps({ background: colorFor(m.username) })}
                          aria-hidden="true"
                          >${avatarFace(s, m.username)}</span
                        >
                        <span class="name"
                          >${userName(s, m.username)}${m.username === me ? uiText('groupSettings.you') : ''}${
                            m.admin
                              ? html`<span class="tag">${uiText('groupSettings.admin')}</span>`
                              : nothing
                          }${
                            online.has(m.username)
                              ? html`<span class="tag" data-online>${uiText('list.online')}</span>`
                              : nothing
                          }${
                            m.kind === 'bot' || m.kind === 'bridge'
                              ? html`<span class="tag">${m.kind}</span>`
                              : nothing
                          }</span
                        >
                        ${
                          amAdmin && m.username !== me
                            ? html`<button
                                  ?disabled=${this.action.busy}
                                  aria-label=${uiText(m.admin ? 'groupSettings.removeAdminLabel' : 'groupSettings.makeAdminLabel', { user: m.username })}
                                  @click=${() =>
                                    this.run(() =>
                                      s!.messenger.setAdmin(this.groupId, m.username, !m.admin),
                                    )}
                                >
                                  ${uiText(m.admin ? 'groupSettings.removeAdmin' : 'groupSettings.makeAdmin')}
                                </button>
                                <button
                                  class="danger"
                                  ?disabled=${this.action.busy}
                                  aria-label=${uiText('groupSettings.removeConfirm', { user: m.username })}
                                  @click=${() => void this.removeMember(m.username, info.name)}
                                >
                                  ${uiText('groupSettings.remove')}
                                </button>`
                            : nothing
                        }
                      </li>`,
                  )}
                </ul>
                ${
                  amAdmin
                    ? html`<form @submit=${this.add} aria-label=${uiText('groupSettings.addForm')}>
                        <input
                          name="username"
                          placeholder=${uiText('groupSettings.addPlaceholder')}
                          aria-label=${uiText('groupSettings.addLabel')}
                          autocapitalize="none"
                        />
                        <button type="submit" class="primary" ?disabled=${this.action.busy}>
                          ${uiText('groupSettings.add')}
                        </button>
                      </form>`
                    : html`<p class="muted">${uiText('groupSettings.onlyAdmins')}</p>`
                }
                ${
                  amAdmin
                    ? html`<group-invites
                        .groupId=${this.groupId}
                        @invites-changed=${() => void this.load()}
                      ></group-invites>`
                    : nothing
                }
                ${
                  amMember
                    ? html`<button
                        class="danger"
                        ?disabled=${this.action.busy}
                        @click=${() => void this.leave(info.name)}
                      >
                        ${uiText('groupSettings.leave')}
                      </button>`
                    : nothing
                }`
        }
      </section>
      <confirm-dialog></confirm-dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'group-settings': GroupSettings;
  }
}
