/**
 * `@lit/context` keys through which services reach the components (STYLE.md: no globals).
 * `<sotto-app>` provides both; views consume them with `@consume({ subscribe: true })`.
 */
import { createContext } from '@lit/context';
import type { MessengerService } from './services/messenger.ts';
import type { ChatSession } from './services/session.ts';

/** The engine adapter; undefined while the engine chunk is still loading. */
export const messengerContext = createContext<MessengerService | undefined>(
  Symbol('sotto-messenger'),
);

/** The signed-in session; undefined before sign-in. */
export const sessionContext = createContext<ChatSession | undefined>(Symbol('sotto-session'));
