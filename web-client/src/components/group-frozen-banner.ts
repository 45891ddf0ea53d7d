/**
 * `<group-frozen-banner>`: shown in a group conversation the engine froze because the key server
 * served a history of the group's membership that does not extend the one this device had
 * verified (rewritten: `forked`; an older one: `rolled-back`; the engine's `GROUP_FORKED`).
 * Nothing is sent to a frozen group; the messages already here stay readable.
 */
import { LitElement, css, html, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { GroupFrozenReason } from '../services/messenger.ts';
import { banner, shared } from '../styles.ts';
import { uiText } from '../services/ui-strings.ts';

/** Why the composer of a frozen group is disabled (shown in its place). */
export function frozenComposerReason(reason: GroupFrozenReason): string {
  return uiText(reason === 'rolled-back' ? 'frozen.composer.rolledBack' : 'frozen.composer.forked');
}

/** The banner of a frozen group. */
@customElement('group-frozen-banner')
export class GroupFrozenBanner extends LitElement {
  static override styles = [
    shared,
    banner,
    css`
      .banner p {
        margin: 0.15rem 0;
      }
    `,
  ];

  /** Why the engine froze the group. */
  @property() reason: GroupFrozenReason = 'forked';

  override render(): TemplateResult {
    return html`<div class="banner danger" role="alert" data-frozen=${this.reason}>
      <p>
        <strong
          >${uiText(this.reason === 'rolled-back' ? 'frozen.rolledBack' : 'frozen.forked')}
          ${uiText('frozen.nothingSent')}</strong
        >
      </p>
      <p>${uiText('frozen.advice')}</p>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'group-frozen-banner': GroupFrozenBanner;
  }
}
