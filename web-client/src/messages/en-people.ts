/**
 * English words of sign-in, settings, notifications, profiles, contact info, group settings and the header (part of the catalogue in `services/ui-strings.ts`; keys are
 * grouped by what shows them).
 */
export const EN_PEOPLE = {} as const satisfies Record<string, string>;
