/**
 * How a user appears wherever a name or avatar is drawn (docs/WEB.md "Profiles"): the picture or
 * initials inside an `.avatar`, and the display name with the `@username` always beside it and a
 * warning when the name looks like another user's ([PROFILE-3] in services/profiles.ts). Template
 * helpers, not elements: the list, header, bubbles and member list each keep their own layout.
 */
import { css, html, nothing, type TemplateResult } from 'lit';
import type { ChatSession } from '../services/session.ts';
import { initials } from '../services/profiles.ts';
import { uiText } from '../services/ui-strings.ts';

/** Styles of {@link avatarFace} and {@link userName}; add to a component's `styles`. */
export const profileStyles = css`
  .avatar img {
    width: 100%;
    height: 100%;
    border-radius: 50%;
    object-fit: cover;
  }
  .handle {
    font-weight: 400;
    font-size: 0.85em;
    color: var(--fg-2);
  }
  .lookalike {
    font-weight: 600;
    font-size: 0.8em;
    color: var(--warn-fg);
    background: var(--warn-bg);
    border-radius: 4px;
    padding: 0 0.3em;
  }
`;

/** Inside an `.avatar`: `user`'s picture, else the initials of how they are named. */
export function avatarFace(session: ChatSession | undefined, user: string): TemplateResult {
  const url = session?.profiles.avatarUrl(user) ?? null;
  if (url !== null) return html`<img src=${url} alt="" data-avatar-img=${user} />`;
  const name = session?.profiles.label(user).name ?? user;
  return html`${initials(name)}`;
}

/** `user`'s display name, their `@username` beside it, and the look-alike warning. */
export function userName(session: ChatSession | undefined, user: string): TemplateResult {
  const l = session?.profiles.label(user) ?? { name: user, handle: '', lookalike: null };
  return html`<span data-display-name=${user}>${l.name}</span>${
      l.handle !== '' ? html` <span class="handle" data-handle>${l.handle}</span>` : nothing
    }${
      l.lookalike !== null
        ? html` <span class="lookalike" data-lookalike=${l.lookalike}
            >${uiText('profile.lookalike', {
              user: l.lookalike,
            })}</span
          >`
        : nothing
    }`;
}
