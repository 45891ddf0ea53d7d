/**
 * The actions toolbar of a `<message-bubble>` (reply, reactions, download, open, edit, delete,
 * pin, forward, report): buttons shown on hover and on keyboard focus, each with its accessible
 * name. A template of the bubble (its styles are the bubble's `.actions`), kept apart so the
 * bubble stays about drawing the message. Forward is offered for texts and files only (timeline
 * lines have no toolbar at all); Pin only where this account may pin (PROTOCOL.md §12 "Pins").
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { MessageRecord } from '../services/engine-types.ts';
import { safeFileName } from '../services/file-name.ts';
import { uiText } from '../services/ui-strings.ts';
import { icons } from '../icons.ts';

/** Quick reactions offered on every message. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

/** Detail of the `react` event. */
export interface ReactDetail {
  message: MessageRecord;
  emoji: string;
  remove: boolean;
}

/** Detail of the `pin` event: pin (`pinned` true) or unpin `message`. */
export interface PinDetail {
  message: MessageRecord;
  pinned: boolean;
}

/** What the toolbar needs from its bubble. */
export interface ActionsContext {
  me: string;
  can: ReadonlySet<string>;
  /** The message's attachment, if it has one. */
  file: { name: string } | null;
  /** A decrypted video is playing inline (offer the viewer). */
  video: boolean;
  pinned: boolean;
  canPin: boolean;
  fire: <T>(name: string, detail: T) => void;
}

/** The toolbar of message `m` (not deleted). */
export function renderActions(m: MessageRecord, a: ActionsContext): TemplateResult {
  const mine = m.reactions[a.me];
  const { file, fire } = a;
  const button = (label: string, content: unknown, click: () => void, data = '') =>
    html`<button aria-label=${label} title=${label} data-action=${data || nothing} @click=${click}>
      ${content}
    </button>`;
  return html`<div class="actions" role="toolbar" aria-label=${uiText('actions.label')}>
    ${button(uiText('actions.reply'), icons.reply, () => fire('reply', m))}
    ${
      a.can.has('reactions')
        ? html`${QUICK_REACTIONS.slice(0, 3).map((emoji) =>
            button(uiText('actions.react', { emoji }), emoji, () =>
              fire<ReactDetail>('react', { message: m, emoji, remove: mine === emoji }),
            ),
          )}
          ${button(uiText('actions.moreReactions'), '☺︎', () => fire('pick-reaction', m))}`
        : nothing
    }
    ${
      file !== null
        ? html`<button
            aria-label=${uiText('actions.downloadFile', { name: safeFileName(file.name) })}
            title=${uiText('actions.download')}
            @click=${() => fire('download', m)}
          >
            ${icons.download}
          </button>`
        : nothing
    }
    ${
      file !== null && a.video
        ? button(uiText('media.open', { name: safeFileName(file.name) }), '⤢', () =>
            fire('open-media', m),
          )
        : nothing
    }
    ${
      a.canPin
        ? button(
            uiText(a.pinned ? 'actions.unpin' : 'actions.pin'),
            icons.pin,
            () => fire<PinDetail>('pin', { message: m, pinned: !a.pinned }),
            'pin',
          )
        : nothing
    }
    ${button(uiText('actions.forward'), icons.forward, () => fire('forward', m), 'forward')}
    ${m.outgoing && file === null && a.can.has('edit') ? button(uiText('actions.edit'), icons.edit, () => fire('edit', m)) : nothing}
    ${
      m.outgoing && a.can.has('delete')
        ? button(uiText('actions.delete'), icons.trash, () => fire('delete', m))
        : nothing
    }
    ${
      m.outgoing
        ? nothing
        : html`<button
            aria-label=${uiText('actions.reportFrom', { user: m.sender })}
            title=${uiText('actions.report')}
            data-report
            @click=${() => fire('report', m)}
          >
            ⚑
          </button>`
    }
  </div>`;
}
