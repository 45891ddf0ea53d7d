/**
 * Invite links (PROTOCOL.md §8.1 "Join policies and invites", WEB.md "Invite links"): the one
 * place their text form is built and parsed. The secret sits in the URL fragment, which
 * browsers never send to a server, so the key server never learns it:
 *
 *     https://<server>/#/join/<groupId>/<base64url secret>
 *
 * Runtime: any.
 */
import { fromBase64, GROUP_ID_PATTERN, INVITE_SECRET_BYTES, toBase64 } from '@sotto/crypto';
import { ClientError } from './errors.ts';

/** A parsed invite link. */
export interface InviteLink {
  groupId: string;
  /** The invite secret ({@link INVITE_SECRET_BYTES} bytes). */
  secret: Uint8Array;
}

/** The fragment route of an invite: `#/join/<groupId>/<secret>`. */
export function inviteFragment(groupId: string, secret: Uint8Array): string {
  if (!GROUP_ID_PATTERN.test(groupId)) throw new RangeError('groupId is not a valid group id');
  if (secret.length !== INVITE_SECRET_BYTES) {
    throw new RangeError(`secret must be ${INVITE_SECRET_BYTES} bytes`);
  }
  return `#/join/${groupId}/${toBase64(secret)}`;
}

/** The full link on `baseUrl` (the server's public URL; any path and fragment of it are dropped). */
export function inviteLink(baseUrl: string, groupId: string, secret: Uint8Array): string {
  const u = new URL(baseUrl);
  return `${u.origin}/${inviteFragment(groupId, secret)}`;
}

const FRAGMENT = /^#\/join\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_-]{43})$/;

/**
 * Parse a link, or just its fragment (`#/join/…`). BAD_INPUT for anything else: the user
 * pasted something that is not an invite.
 */
export function parseInviteLink(text: string): InviteLink {
  const t = text.trim();
  const hash = t.startsWith('#') ? t : t.includes('#') ? t.slice(t.indexOf('#')) : '';
  const m = FRAGMENT.exec(hash);
  if (!m) throw new ClientError('BAD_INPUT', 'not an invite link (…/#/join/<room>/<secret>)');
  let secret: Uint8Array;
  try {
    secret = fromBase64(m[2]!);
  } catch (cause) {
    throw new ClientError('BAD_INPUT', 'the invite secret is not base64url', { cause });
  }
  if (secret.length !== INVITE_SECRET_BYTES) {
    throw new ClientError('BAD_INPUT', 'the invite secret has the wrong length');
  }
  return { groupId: m[1]!, secret };
}
