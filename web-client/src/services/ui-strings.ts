/**
 * The messages module: every user-visible English string of the web client, keyed, in one
 * catalogue ready for translation (a translation is another object with the same keys, see
 * {@link setUiStrings} and docs/WEB.md "Strings and locales"). Parameters are written `{name}`
 * in the text and filled by {@link uiText}, so a translator can move them within the sentence;
 * words that change with a number have one key per plural category (`….one`, `….other`, and
 * `….few`/`….many` where a language needs them), chosen by {@link uiPlural} through
 * `Intl.PluralRules` of the catalogue's language. Dates, times and durations are not words of
 * ours: `components/time-labels.ts` and `services/locale-format.ts` format them with `Intl` in
 * the browser's locale.
 *
 * This file holds the services' words and those of the views that moved here first; the views
 * of settings, account and security (`messages/en-account.ts`) and of the conversation's banners
 * and dialogs (`messages/en-conversation.ts`) keep theirs beside it, merged into one catalogue.
 * `web-client/test/ui-strings.test.ts` fails when a converted component writes English into its
 * template instead of taking it from here.
 */
import { EN_ACCOUNT } from '../messages/en-account.ts';
import { EN_CONVERSATION } from '../messages/en-conversation.ts';
import { EN_CHAT } from '../messages/en-chat.ts';
import { EN_PEOPLE } from '../messages/en-people.ts';
import { displayLocale } from './locale-format.ts';

/** The English catalogue's own part. Keys are grouped by what shows them. */
const EN_CORE = {
  'app.title': 'Sotto',

  'progress.loading': 'Loading encryption…',
  'progress.register': 'Creating your account and keys…',
  'progress.newIdentity': 'Creating your new identity key…',
  'progress.login': 'Checking your password…',
  'progress.connecting': 'Connecting securely…',
  'progress.ready': 'Ready',
  'progress.guest': 'Creating a guest account…',

  'guest.continue': 'Continue as guest',
  'guest.nameLabel': 'Your name as a guest (optional)',
  'guest.continueHint':
    'No password: a guest account lives in this browser only, can join rooms by link or from Explore rooms and message their members, and expires when left unused.',
  'guest.invited': 'You were invited to a room. Sign up, log in or continue as guest to join it.',
  'guest.notice': 'Guest account — expires after {idle} without use.',
  'guest.upgrade': 'Upgrade to a full account',
  'guest.upgradeHint':
    'Set a password to keep this account: your keys, rooms and messages stay, under your name ({user}) or a username you choose here. Your contacts see the new name.',
  'guest.username': 'Username (leave empty to keep your guest name)',
  'guest.password': 'New password (at least 8 characters)',
  'guest.upgradeButton': 'Set password and upgrade',
  'guest.cancel': 'Cancel',
  'guest.dismiss': 'Dismiss',
  'guest.noPassword':
    'A guest account has no password yet: set one with “Upgrade to a full account” in the banner above.',
  'guest.upgrading': 'Upgrading…',
  'guest.upgraded': 'Your account is now a full account. Log in as {user} with your password.',
  'guest.notAllowed':
    'Guest accounts cannot do that: they can join rooms and message their members, but not create rooms or message anyone else. Upgrade to a full account first.',
  'guest.disabled': 'This server does not offer guest accounts.',
  'guest.logOutWarning':
    'This is a guest account without a password: after logging out nobody can log in to it again, and it expires. Upgrade to a full account first to keep it.',

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
  'preview.voice': 'Voice note ({duration})',
  'preview.video': 'Video: {name}',

  'viewer.label': 'Photos and videos',
  'viewer.position': '{index} of {count}',
  'viewer.previous': 'Previous photo or video',
  'viewer.next': 'Next photo or video',
  'viewer.close': 'Close the viewer',
  'viewer.download': 'Download',
  'viewer.loading': 'Loading…',
  'viewer.notShown': '{name} cannot be shown here; download it to open it.',
  'media.open': 'Open {name} full size',
  'media.tab': 'Media',
  'media.infoTab': 'Info',
  'media.tabs': 'Conversation info',
  'media.scanned': 'Photos and videos among the latest {count} messages.',
  'media.empty': 'No photos or videos in this conversation yet.',
  'media.videoLoading': 'Video loading',

  'stickers.open': 'Stickers',
  'stickers.pack': 'Sticker pack',
  'stickers.send': 'Send sticker: {name}',

  'voice.record': 'Record a voice note (click, or hold and release to send)',
  'voice.recording': 'Recording {time}',
  'voice.cancel': 'Cancel the voice note',
  'voice.send': 'Send the voice note',
  'voice.micUnavailable': 'The microphone is not available: {reason}',
  'voice.limit': 'Voice notes stop at 15 minutes; this one was sent.',
  'voice.play': 'Play voice note',
  'voice.pause': 'Pause voice note',
  'voice.loading': 'Voice note loading',
  'voice.position': 'Voice note position',
  'voice.positionText': '{position} of {total}',
  'voice.unplayed': 'Not played yet',
  'voice.speed': 'Playback speed {speed}, change',
  'preview.newMessage': 'New message',
  'preview.deleted': 'Message deleted',
  'notice.keyChange': 'Your safety number with {user} changed',
  'notice.security': 'Security notice',
  'notice.callMissed': 'Missed {media} call from {user}',
  'notice.callEnded': '{media} call · {duration}',
  'notice.callDeclined': 'Declined {media} call from {user}',
  'notice.callUnanswered': '{media} call · no answer',
  'notice.pinned': '{actor} pinned a message',
  'notice.unpinned': '{actor} unpinned a message',
  'group.you': 'You',
  'group.create': '{actor} created the group “{name}”',
  'group.add': '{actor} added {subject}',
  'group.remove': '{actor} removed {subject}',
  'group.promote': '{actor} made {subject} an admin',
  'group.demote': '{actor} took admin rights from {subject}',
  'group.leave': '{actor} left',
  'group.join': '{actor} joined',
  'group.joinInvite': '{actor} joined with an invite link',
  'group.invite': '{actor} created an invite link',
  'group.revoke': '{actor} revoked an invite link',
  'group.rename': '{from} is now {to}',
  'group.announceOn': '{actor} made the room announcement-only: only admins post',
  'group.announceOff': '{actor} let every member post',
  'group.joinPolicy.admins-add': '{actor} set joining to: only people admins add',
  'group.joinPolicy.invite': '{actor} set joining to: anyone with an invite link',
  'group.joinPolicy.open': '{actor} opened the room: anyone can join',
  'group.listedOn': '{actor} listed the room in the public directory',
  'group.listedOff': '{actor} took the room out of the public directory',
  'group.topic': '{actor} set the topic to “{topic}”',
  'group.members': '{count} members',
  'group.membersOnline': '{count} members, {online} online',
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
    'The call was ended for your safety: its media was not secured with the certificate your contact’s encrypted call message named, so someone may be intercepting it.',
  'call.error.unverified':
    'The call was ended: the browser did not say which certificate secured its media, so it could not be checked against your contact’s encrypted call message.',
  'call.error.tooMany': 'Group calls take at most {max} people.',
  'call.error.media': 'No access to camera or microphone.',

  'list.label': 'Conversations',
  'list.empty': 'No conversations yet. Start one with “New chat”.',
  'list.noMatch': 'No chat matches.',
  'list.you': 'You',
  'list.group': 'Group',
  'list.online': 'online',
  'list.unread': 'unread',
  'messages.unreadOne': '1 unread message',
  'messages.unreadMany': '{count} unread messages',
  'messages.jumpLatest': 'Jump to latest',
  'messages.jumpLatestNew': 'Jump to latest, {count} new',
  'mention.list': 'Mention a member',
  'mention.you': 'mentions you',
  'typing.short': 'typing…',
  'typing.groupShort': '{names} typing…',
  'a11y.verified': 'Verified',
  'presence.lastSeen': 'last seen {day} at {time}',
  'mute.label': 'Notifications',
  'mute.off': 'Notifications on',
  'mute.until': 'Muted until {time}',
  'mute.1h': 'Mute for 1 hour',
  'mute.8h': 'Mute for 8 hours',
  'mute.forever': 'Mute until I unmute',
  'archive.do': 'Archive',
  'archive.undo': 'Unarchive',
  'list.muted': 'muted',
  'list.archived': 'Archived chats ({count})',
  'list.back': 'Back to chats',
  'list.archivedEmpty': 'No archived chats.',
  'switcher.label': 'Switch conversation',
  'switcher.input': 'Conversation name',
  'switcher.placeholder': 'Go to a conversation…',

  'search.label': 'Search messages',
  'search.placeholder': 'Search all messages on this device',
  'search.results': 'Search results',
  'search.none': 'No messages found.',
  'search.you': 'You',

  'link.confirmPunycode':
    'Open this link?\n\n{url}\n\nIts address ({host}) uses letters from other alphabets, which can imitate another site’s name. Open it only if you expected exactly this address.',
  'link.confirmUserinfo':
    'Open this link?\n\n{url}\n\nThe part before “@” is not where it goes: it opens {host}. Open it only if you expected that site.',

  'join.title': 'Join a room',
  'join.checking': 'Checking the invite…',
  'join.members.one': '1 member',
  'join.members.other': '{count} members',
  'join.history': 'Messages sent before you join are not available to you.',
  'join.button': 'Join {name}',
  'join.joining': 'Joining…',
  'join.already': 'You are already in this room.',
  'join.open': 'Open the room',
  'join.back': 'Back to chats',

  'explore.title': 'Explore rooms',
  'explore.search': 'Search rooms by name or topic',
  'explore.public':
    'These rooms are open to anyone on this server. Their admins chose to list them, so their name and topic are public; messages stay end-to-end encrypted.',
  'explore.none': 'No rooms found.',
  'explore.join': 'Join {name}',
  'explore.open': 'Open {name}',
  'explore.members.one': '1 member',
  'explore.members.other': '{count} members',

  'keyLog.notChecked': 'Key log: not checked yet',
  'keyLog.entries.one': '1 entry',
  'keyLog.entries.other': '{count} entries',
  'keyLog.clean': 'Key log: {entries} checked, none unexpected · {time}',
  'keyLog.unexpected': 'Key log: {entries} checked, {unexpected} unexpected · {time}',
  'keyLog.unexpectedAlert':
    'Key log: {entries} checked, {unexpected} unexpected — see the alert · {time}',

  'stepUp.badPassword': 'Wrong password.',
  'passkey.title': 'Passkeys',
  'passkey.intro':
    'A passkey signs you in on this server without your password, with this device’s screen lock or a security key. It also works as the second step after your password.',
  'passkey.none': 'No passkeys yet.',
  'passkey.nameLabel': 'Name of the new passkey',
  'passkey.add': 'Add a passkey',
  'passkey.times': 'Added {added} · last used {used}',
  'passkey.neverUsed': 'never',
  'passkey.rename': 'Rename',
  'passkey.renameLabel': 'Rename passkey {name}',
  'passkey.newNameLabel': 'New name for passkey {name}',
  'passkey.remove': 'Remove',
  'passkey.removeLabel': 'Remove passkey {name}',
  'passkey.signIn': 'Sign in with a passkey',
  'passkey.secondFactor': 'Use a passkey instead of a code',
  'passkey.stepUpWith': 'Confirm with a passkey',
  'passkey.cancelled': 'The passkey request was cancelled or timed out. Nothing changed.',
  'passkey.already': 'This passkey is already registered for your account.',
  'passkey.unknown':
    'This passkey is not registered on this server, or it belongs to another account.',
  'passkey.noUser':
    'This passkey does not say which account it is for. Sign in with your password.',
  'passkey.failed': 'The passkey did not work: {why}',
  'passkey.noneOnAccount': 'This account has no passkey. Type the code from your app.',
  'passkey.unsupported': 'This browser cannot use passkeys.',
  'passkey.expired': 'The sign-in took too long. Start again.',

  'mfa.title': 'Two-factor sign-in',
  'mfa.off': 'Off. Turn it on to ask for a code from an authenticator app after the password.',
  'mfa.on': 'On. Logins need a code from your authenticator app. Recovery codes left: {n}.',
  'mfa.enable': 'Turn on two-factor sign-in',
  'mfa.scan': 'Scan this QR code with your authenticator app, then type the code it shows.',
  'mfa.qrAlt': 'QR code of the two-factor secret for an authenticator app',
  'mfa.secretText': 'Or type this secret into the app:',
  'mfa.codeLabel': 'Code from the app',
  'mfa.confirm': 'Confirm and turn on',
  'mfa.badCode': 'That code is wrong, expired or already used. Wait for the next one.',
  'mfa.codesTitle': 'Recovery codes',
  'mfa.codesHint':
    'Keep these recovery codes somewhere safe: each signs in once without the app. They are shown only now.',
  'mfa.copyCodes': 'Copy recovery codes',
  'mfa.downloadCodes': 'Download recovery codes',
  'mfa.doneCodes': 'I saved them',
  'mfa.regenerate': 'Get new recovery codes',
  'mfa.passwordLabel': 'Password',
  'mfa.codeOrRecovery': 'Code from the app, or a recovery code',
  'mfa.disable': 'Turn off two-factor sign-in',
  'mfa.stepUpPassword': 'Type your password again to continue',
  'mfa.stepUpContinue': 'Continue',
  'mfa.loginCode': 'Two-factor code (or a recovery code)',
  'mfa.loginPrompt': 'This account has two-factor sign-in on. Type the code from your app.',

  'devices.title': 'Signed-in devices',
  'devices.loading': 'Loading devices…',
  'devices.kind.web': 'Web browser',
  'devices.kind.cli': 'Command line',
  'devices.kind.bot': 'Bot',
  'devices.kind.bridge': 'Bridge',
  'devices.current': 'This device',
  'devices.times': 'Added {added} · last active {active}',
  'devices.rename': 'Rename',
  'devices.renameLabel': 'Rename {name}',
  'devices.nameLabel': 'New name for {name}',
  'devices.save': 'Save',
  'devices.cancel': 'Cancel',
  'devices.remove': 'Remove',
  'devices.removeLabel': 'Remove {name}',
  'devices.confirmPassword': 'Type your password to remove {name}',
  'devices.removedTitle': 'This device was removed',
  'devices.removedText':
    'This device was removed from your account on another device. It was signed out and its keys were deleted from the server. Messages saved in this browser stay readable.',
  'devices.removedLogin': 'Log in again',

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

/** The English catalogue, all parts; `ui-strings.test.ts` checks no part redefines a key. */
export const EN = {
  ...EN_CORE,
  ...EN_ACCOUNT,
  ...EN_CONVERSATION,
  ...EN_CHAT,
  ...EN_PEOPLE,
} as const;

/** Every part of {@link EN} by name, for the check that their keys do not collide. */
export const EN_PARTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  core: EN_CORE,
  account: EN_ACCOUNT,
  conversation: EN_CONVERSATION,
  chat: EN_CHAT,
  people: EN_PEOPLE,
};

/** A key of the catalogue. */
export type UiStringKey = keyof typeof EN;

/** A catalogue: one text per key (English is {@link EN}). */
export type UiStrings = Record<UiStringKey, string>;

/** Keys of words that change with a number: `base` has `base.other` (and `base.one`, …). */
export type UiPluralKey = UiStringKey extends infer K
  ? K extends `${infer B}.other`
    ? B
    : never
  : never;

let active: UiStrings = EN;
/** The language the active catalogue is written in (its plural rules). */
let activeLanguage = 'en';

/**
 * Use another catalogue (a translation) from now on, written in `language` (a BCP 47 tag, for
 * its plural rules); `undefined` goes back to English.
 */
export function setUiStrings(strings: UiStrings | undefined, language = 'en'): void {
  if (strings !== undefined && Intl.PluralRules.supportedLocalesOf([language]).length === 0) {
    throw new RangeError(`setUiStrings: language "${language}" has no plural rules here`);
  }
  active = strings ?? EN;
  activeLanguage = strings === undefined ? 'en' : language;
}

/**
 * The text of `key` with its `{name}` parameters filled in; a parameter the text names but
 * `params` lacks is left as written, so a missing value shows rather than vanishing.
 *
 * @example uiText('error.userNotSetUp', { user: 'bob' }) // "bob has not finished setting up yet."
 */
export function uiText(key: UiStringKey, params: Record<string, string | number> = {}): string {
  return fill(active[key], params);
}

function fill(text: string, params: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = params[name];
    return v === undefined ? whole : String(v);
  });
}

/**
 * The text of `key` as pieces for a template, its `{name}` parameters filled with any value
 * (a Lit template: a name in bold, a link), so markup never has to be written into a sentence
 * or a sentence cut around it. A missing parameter is left as written, as in {@link uiText}.
 *
 * @example html`${uiPieces('reset.confirm', { user: html`<strong>${user}</strong>` })}`
 */
export function uiPieces<T>(key: UiStringKey, params: Record<string, T>): (string | T)[] {
  return active[key].split(/(\{\w+\})/).flatMap((piece): (string | T)[] => {
    const name = /^\{(\w+)\}$/.exec(piece)?.[1];
    if (name === undefined) return piece === '' ? [] : [piece];
    return name in params ? [params[name]!] : [piece];
  });
}

/**
 * The text of the plural key `base` for `count`: the catalogue's language picks the category
 * (`Intl.PluralRules`: English "1 message" / "2 messages"), `{count}` is filled in written the
 * browser's way (`Intl.NumberFormat`: "1,234" in en-US, "1.234" in de-DE). A category the
 * catalogue lacks falls back to `….other`.
 *
 * @example uiPlural('keyChange.held', 3, { user: 'bob' }) // "3 messages from bob are held …"
 */
export function uiPlural(
  base: UiPluralKey,
  count: number,
  params: Record<string, string | number> = {},
): string {
  const category = new Intl.PluralRules(activeLanguage).select(count);
  const texts = active as Readonly<Record<string, string>>;
  const text = texts[`${base}.${category}`] ?? texts[`${base}.other`]!;
  const n = new Intl.NumberFormat(displayLocale()).format(count);
  return fill(text, { count: n, ...params });
}
