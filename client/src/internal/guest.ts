/**
 * Guest accounts on the client side (issue 17, docs/API.md "Guests"): the display name a guest
 * chose, kept on the device and sent as an end-to-end encrypted `profile` payload
 * (PROTOCOL.md §12) into every room it joins, so members see it beside the `guest_…` name.
 */
import { ClientError } from '../errors.ts';
import type { PayloadInput } from '../payload.ts';
import type { ClientStore } from '../store/types.ts';

/** Setting that holds the display name chosen at {@link SottoClient.continueAsGuest}. */
export const DISPLAY_NAME_SETTING = 'profile.displayName';

/** Longest display name a `profile` payload carries. */
const DISPLAY_NAME_MAX = 64;

/** A display name as given, trimmed; `BAD_INPUT` when empty or longer than 64 characters. */
export function checkDisplayName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || n.length > DISPLAY_NAME_MAX)
    throw new ClientError('BAD_INPUT', `displayName must be 1–${DISPLAY_NAME_MAX} characters`);
  return n;
}

/** Send the stored display name (if any) into `conversation`. */
export async function announceDisplayName(
  store: Pick<ClientStore, 'getSetting'>,
  send: (to: string, input: PayloadInput) => Promise<unknown>,
  conversation: string,
): Promise<void> {
  const displayName = await store.getSetting<string>(DISPLAY_NAME_SETTING);
  if (displayName) await send(conversation, { kind: 'profile', displayName });
}
