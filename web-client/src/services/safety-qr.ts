/**
 * Safety numbers and their QR codes (PROTOCOL.md "Safety numbers"): what the contact-info view
 * shows for a contact, and the check of a QR payload scanned from (or pasted by) that contact.
 * The QR carries both identity keys, so a match proves the two devices see the same keys.
 */
import type { SottoClient } from '@sotto/client';
import {
  encodeSafetyQr,
  fromBase64,
  toBase64,
  verifySafetyQr,
  type SafetyIdentity,
} from '@sotto/crypto';
import type { ClientStore } from './engine-types.ts';
import { MessengerError, type SafetyInfo } from './messenger.ts';
import { uiText } from './ui-strings.ts';

/** Our identity and `username`'s, as the safety QR encodes them. */
async function identities(
  client: SottoClient,
  store: ClientStore,
  username: string,
): Promise<[SafetyIdentity, SafetyIdentity]> {
  // Computing the number fetches and pins the contact's key when it is not known yet.
  await client.trust.safetyNumber(username);
  const [account, contact] = await Promise.all([
    store.getAccount(),
    client.trust.contact(username),
  ]);
  if (account === null || contact?.uik == null) {
    throw new MessengerError('FAILED', uiText('error.noIdentityKey', { user: username }));
  }
  return [
    { username: account.username, uik: account.uik.publicKey },
    { username, uik: contact.uik },
  ];
}

/** The safety number with `username`, the QR payload to show them and whether they are verified. */
export async function safetyInfo(
  client: SottoClient,
  store: ClientStore,
  username: string,
): Promise<SafetyInfo> {
  const digits = await client.trust.safetyNumber(username);
  const [local, remote] = await identities(client, store, username);
  const contact = await client.trust.contact(username);
  return {
    digits,
    qrPayload: toBase64(encodeSafetyQr(local, remote)),
    verified: contact?.verified === true,
  };
}

/** Check a payload scanned from `username`'s screen; marks them verified when it matches. */
export async function verifyScannedQr(
  client: SottoClient,
  store: ClientStore,
  username: string,
  payload: string,
): Promise<boolean> {
  const [local, remote] = await identities(client, store, username);
  let ok = false;
  try {
    ok = verifySafetyQr(fromBase64(payload), local, remote);
  } catch {
    ok = false; // Not a safety code at all.
  }
  if (ok) await client.trust.setVerified(username, true);
  return ok;
}
