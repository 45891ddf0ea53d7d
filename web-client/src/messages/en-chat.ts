/**
 * English words of the chat list, the conversation view, bubbles, the composer, pins and forwarding (part of the catalogue in `services/ui-strings.ts`; keys are
 * grouped by what shows them).
 */
export const EN_CHAT = {} as const satisfies Record<string, string>;
