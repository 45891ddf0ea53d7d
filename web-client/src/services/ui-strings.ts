/**
 * Every user-visible English string of the services layer, keyed, in one catalogue ready for
 * translation: a translation is another object with the same keys. Parameters are written
 * `{name}` in the text and filled by {@link uiText}, so a translator can move them within the
 * sentence. The views keep their own words in their templates; this module holds what the
 * services hand to them (error messages, progress labels, notification previews, the title,
 * the own-key monitor's status line).
 * Timeline notices and list previews (`notice.*`, `preview.*`) are read by `services/history.ts`.
 */

/** The English catalogue. Keys are grouped by what shows them. */
const EN = {
  'app.title': 'Sotto',

  'progress.loading': 'Loading encryption…',
  'progress.register': 'Creating your account and keys…',
  'progress.newIdentity': 'Creating your new identity key…',
  'progress.login': 'Checking your password…',
  'progress.connecting': 'Connecting securely…',
  'progress.ready': 'Ready',

  'error.notSignedIn': 'not signed in',
  'error.linkRequired':
    'This account’s keys live on another device. Link this browser from that device.',
  'error.badLinkCode': 'That is not a link code from a device of this account.',
  'error.wrongUserLinkCode': 'That link code belongs to another account.',
  'error.linkExpired': 'The link code expired. Show a new one and try again.',
  'error.linkMismatch':
    'The key from your other device does not match the one the server publishes. Do not use this server until you know why.',
  'error.linkCancelled': 'Linking was cancelled.',
  'error.keyChanged': 'The contact’s safety number changed. Review it before sending.',
  'error.noDevices': 'That user has not finished setting up yet.',
  'error.userNotSetUp': '{user} has not finished setting up yet.',
  'error.notMember': 'You are not a member of this group.',
  'error.notAdmin': 'Only group admins can do that.',
  'error.rekeyPending':
    'Your identity reset replaced the key this group knows you by. An admin has to re-add you first.',
  'error.noKeyChange': 'The group already has this member’s current key.',
  'error.groupFrozen':
    'This group is frozen: the server rewrote its history, so nothing is sent to it.',
  'error.groupUnavailable': 'This group is not available.',
  'error.noIdentityKey': '{user} has no identity key yet.',
  'error.weakPassword': 'The server refused the new password: use at least 8 characters.',
  'error.rateLimited': 'Too many attempts. Try again in {wait}.',
  'error.rateLimitedSoon': 'Too many attempts. Wait a moment and try again.',
  'wait.second': '1 second',
  'wait.seconds': '{n} seconds',
  'wait.minute': '1 minute',
  'wait.minutes': '{n} minutes',
  'error.locked': 'Sotto is locked. Enter the app-lock passphrase.',
  'error.badPassphrase': 'Wrong passphrase. Nothing was changed; try again.',
  'error.storeTampered':
    'The data saved on this browser was changed outside Sotto and cannot be read.',

  'preview.file': 'File: {name}',
  'preview.photo': 'Photo: {name}',
  'preview.newMessage': 'New message',
  'preview.deleted': 'Message deleted',
  'notice.keyChange': 'Your safety number with {user} changed',
  'notice.security': 'Security notice',

  'keyLog.notChecked': 'Key log: not checked yet',
  'keyLog.entries.one': '1 entry',
  'keyLog.entries.other': '{count} entries',
  'keyLog.clean': 'Key log: {entries} checked, none unexpected · {time}',
  'keyLog.unexpected': 'Key log: {entries} checked, {unexpected} unexpected · {time}',
  'keyLog.unexpectedAlert':
    'Key log: {entries} checked, {unexpected} unexpected — see the alert · {time}',

  'admin.title': 'Administration',
  'admin.notOperator': 'Only server operators can open Administration.',
  'admin.reports': 'Reports',
  'admin.noReports': 'No reports.',
  'admin.reportLine': '{reporter} reported {reported} {where} · {time} · {status}',
  'admin.inDm': 'in a direct message',
  'admin.inRoom': 'in room {room}',
  'admin.contentMissing':
    'The reported messages were sent end-to-end encrypted to operators’ devices; this device did not receive them.',
  'admin.note': 'Reporter’s note: {note}',
  'admin.ban': 'Ban {user}',
  'admin.closeRoom': 'Close room {room}',
  'admin.dismiss': 'Dismiss report from {reporter}',
  'admin.banTitle': 'Ban a user',
  'admin.username': 'Username',
  'admin.reason': 'Reason (shown to the user)',
  'admin.banButton': 'Ban',
  'admin.bans': 'Banned users',
  'admin.noBans': 'Nobody is banned.',
  'admin.unban': 'Unban {user}',
  'admin.roomsTitle': 'Close a room',
  'admin.roomId': 'Room (group id)',
  'admin.closeButton': 'Close room',
  'admin.closed': 'Closed rooms',
  'admin.noClosed': 'No closed rooms.',
  'admin.reopen': 'Reopen room {room}',
  'admin.log': 'Moderation log',
  'admin.logLine': '{time} · {actor} · {action} · {target}',
  'admin.done': 'Done: {what}',
  'admin.failed': 'Failed: {why}',
} as const satisfies Record<string, string>;

/** A key of the catalogue. */
export type UiStringKey = keyof typeof EN;

/** A catalogue: one text per key (English is {@link EN}). */
export type UiStrings = Record<UiStringKey, string>;

let active: UiStrings = EN;

/** Use another catalogue (a translation) from now on; `undefined` goes back to English. */
export function setUiStrings(strings: UiStrings | undefined): void {
  active = strings ?? EN;
}

/**
 * The text of `key` with its `{name}` parameters filled in; a parameter the text names but
 * `params` lacks is left as written, so a missing value shows rather than vanishing.
 *
 * @example uiText('error.userNotSetUp', { user: 'bob' }) // "bob has not finished setting up yet."
 */
export function uiText(key: UiStringKey, params: Record<string, string | number> = {}): string {
  return active[key].replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = params[name];
    return v === undefined ? whole : String(v);
  });
}
