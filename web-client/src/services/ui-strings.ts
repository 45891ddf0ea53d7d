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
  'notice.callMissed': 'Missed {media} call from {user}',
  'notice.callEnded': '{media} call · {duration}',
  'notice.callDeclined': 'Declined {media} call from {user}',
  'notice.callUnanswered': '{media} call · no answer',
  'call.voice': 'Voice',
  'call.video': 'Video',
  'call.startVoice': 'Start voice call',
  'call.startVideo': 'Start video call',
  'call.incoming': 'Incoming {media} call',
  'call.incomingFrom': '{user} is calling',
  'call.incomingGroup': '{user} is calling in {group}',
  'call.accept': 'Accept call',
  'call.decline': 'Decline call',
  'call.calling': 'Calling {peer}…',
  'call.connecting': 'Connecting…',
  'call.inCall': 'Call with {peer}',
  'call.mute': 'Mute microphone',
  'call.unmute': 'Unmute microphone',
  'call.cameraOff': 'Turn camera off',
  'call.cameraOn': 'Turn camera on',
  'call.switchCamera': 'Switch camera',
  'call.switchMic': 'Switch microphone',
  'call.shareScreen': 'Share screen',
  'call.stopShare': 'Stop sharing screen',
  'call.hangUp': 'Hang up',
  'call.duration': 'Call duration',
  'call.videoOf': 'Video of {user}',
  'call.selfView': 'Your camera',
  'call.error.failed': 'The call could not connect.',
  'call.error.busy': 'Busy in another call.',
  'call.error.fingerprint':
    'The call was ended: the media certificate was not the one your contact’s encrypted offer named.',
  'call.error.tooMany': 'Group calls take at most {max} people.',
  'call.error.media': 'No access to camera or microphone.',

  'keyLog.notChecked': 'Key log: not checked yet',
  'keyLog.entries.one': '1 entry',
  'keyLog.entries.other': '{count} entries',
  'keyLog.clean': 'Key log: {entries} checked, none unexpected · {time}',
  'keyLog.unexpected': 'Key log: {entries} checked, {unexpected} unexpected · {time}',
  'keyLog.unexpectedAlert':
    'Key log: {entries} checked, {unexpected} unexpected — see the alert · {time}',
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
