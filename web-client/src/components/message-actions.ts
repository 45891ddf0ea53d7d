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
  return html`<div class="actions" role="toolbar" aria-label="Message actions">
    ${button('Reply', icons.reply, () => fire('reply', m))}
    ${
      a.can.has('reactions')
        ? html`${QUICK_REACTIONS.slice(0, 3).map((emoji) =>
            button(`React ${emoji}`, emoji, () =>
              fire<ReactDetail>('react', { message: m, emoji, remove: mine === emoji }),
            ),
          )}
          ${button('More reactions', '☺︎', () => fire('pick-reaction', m))}`
        : nothing
    }
    ${
      file !== null
        ? html`<button
            aria-label="Download ${safeFileName(file.name)}"
            title="Download"
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
            a.pinned ? 'Unpin' : 'Pin',
            icons.pin,
            () => fire<PinDetail>('pin', { message: m, pinned: !a.pinned }),
            'pin',
          )
        : nothing
    }
    ${button('Forward', icons.forward, () => fire('forward', m), 'forward')}
    ${m.outgoing && file === null && a.can.has('edit') ? button('Edit', icons.edit, () => fire('edit', m)) : nothing}
    ${
      m.outgoing && a.can.has('delete')
        ? button('Delete for everyone', icons.trash, () => fire('delete', m))
        : nothing
    }
    ${
      m.outgoing
        ? nothing
        : html`<button
            aria-label="Report this message from ${m.sender}"
            title="Report"
            data-report
            @click=${() => fire('report', m)}
          >
            ⚑
          </button>`
    }
  </div>`;
}
