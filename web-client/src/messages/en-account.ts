/**
 * English words of the app shell and of the account's own screens (lock, app lock, identity
 * reset, device linking, the own-key alert, push): one part of the messages module's
 * catalogue, merged in `services/ui-strings.ts`, which fills the `{name}` parameters and picks
 * the `.one`/`.other` plural forms. A `{name}` that shows in markup (a name in bold, a code) is
 * filled by `uiPieces`.
 */
export const EN_ACCOUNT = {
  'shell.loading': 'Loading Sotto…',
  'shell.signedOut':
    'This browser was signed out — the password was changed, or this device was removed (also when the identity was reset on another device). Messages saved here stay readable.',
  'shell.logInAgain': 'Log in again',
  'shell.unreachable': 'Server unreachable — showing messages saved on this browser. Retrying…',
  'shell.reconnecting': 'Reconnecting…',
  'shell.offline': 'Offline — messages will be sent when the connection is back.',
  'shell.conversations': 'Conversations',
  'shell.select': 'Select a conversation',
  'shell.encrypted': 'Messages are end-to-end encrypted. The server cannot read them.',

  'lock.title': 'Sotto is locked',
  'lock.prompt': 'Enter the app-lock passphrase to open your messages on this browser.',
  'lock.promptAccount':
    'Enter the app-lock passphrase to open {account}’s messages on this browser.',
  'lock.passphrase': 'Passphrase',
  'lock.empty': 'Enter the passphrase.',
  'lock.unlock': 'Unlock',
  'lock.unlocking': 'Unlocking…',
  'lock.forgot': 'Forgot the passphrase? Use another account',
  'lock.forgetTitle': 'Remove {account} from this browser?',
  'lock.forgetText':
    'Without the passphrase the messages and keys saved here cannot be opened. Removing them deletes them from this browser for good; the account stays, and what your other devices hold stays there. Then sign in to another account, or to {account} again: link this browser from another of your devices, or — with none left — reset the identity.',
  'lock.forget': 'Remove {account} from this browser',

  'appLock.wrong': 'The passphrase is wrong. The app lock was not changed.',
  'appLock.tooShort': 'Use a passphrase of at least {min} characters.',
  'appLock.mismatch': 'The passphrase and its confirmation do not match.',
  'appLock.on': 'App lock is on.',
  'appLock.offNeedsPassphrase': 'Enter the passphrase to turn the app lock off.',
  'appLock.off': 'App lock is off.',
  'appLock.idleSaved.one': 'Locks after 1 second without input.',
  'appLock.idleSaved.other': 'Locks after {count} seconds without input.',
  'appLock.idleForm': 'Idle time',
  'appLock.idleLabel': 'Lock after this many seconds without input',
  'appLock.idleSave': 'Save idle time',
  'appLock.lockNow': 'Lock now',
  'appLock.idleNow.one': 'Now: 1 second.',
  'appLock.idleNow.other': 'Now: {count} seconds.',
  'appLock.offForm': 'Turn off app lock',
  'appLock.current': 'Current passphrase',
  'appLock.turnOff': 'Turn off app lock',
  'appLock.onForm': 'Turn on app lock',
  'appLock.new': 'Passphrase',
  'appLock.confirm': 'Confirm passphrase',
  'appLock.warning':
    'Sotto will ask for this passphrase when it opens and after a time without input. It cannot be recovered: without it, the keys and messages on this browser are lost (log in again and link this browser from another device). While it is on, notifications that arrive when Sotto is closed say only “New message”: nothing can open the messages without the passphrase.',
  'appLock.pushNote':
    'While the app lock is on, notifications that arrive when Sotto is closed say only “New message”.',
  'appLock.turnOn': 'Turn on app lock',

  'reset.noPassword': 'Enter your password.',
  'reset.typeUsername': 'Type your username, {user}, to confirm.',
  'reset.wrongPassword': 'The password is wrong. Your identity was not reset.',
  'reset.unreachable': 'Cannot reach the Sotto server. Your identity was not reset; try again.',
  'reset.when':
    'Only if you lost your other devices, or one of them is not yours. Resetting makes a new identity key on this browser:',
  'reset.devices':
    'Every other device of your account is removed and signed out. To use one again, link it from this browser.',
  'reset.contacts':
    'Your contacts are told that your safety number changed. Verification marks are cleared on both sides: compare safety numbers again.',
  'reset.kept': 'Messages and contacts saved on this browser stay.',
  'reset.groups':
    'Groups still name your old key until an admin re-adds you with the new one: their client does it by itself unless they had verified you; then they compare the new safety number first.',
  'reset.stolen':
    'If a device was stolen, change your password as well: the reset signs it out, but whoever knows the password can log in again.',
  'reset.password': 'Password',
  'reset.confirm': 'Type {user} to confirm',
  'reset.submit': 'Reset identity',
  'reset.busy': 'Resetting…',

  'linkOffer.step1': 'On your other device, open Settings → Link a device.',
  'linkOffer.step2': 'Scan this code, or paste the text below.',
  'linkOffer.qrAlt': 'Link code as a QR code',
  'linkOffer.code': 'Link code',
  'linkOffer.copy': 'Copy code',
  'linkOffer.copied': 'Copied',
  'linkOffer.history': 'Copying your history… {done} of {total} messages',
  'linkOffer.waiting.one': 'Waiting for your other device… The code works for 1 minute.',
  'linkOffer.waiting.other': 'Waiting for your other device… The code works for {count} minutes.',

  'linkDevice.back': 'Back to settings',
  'linkDevice.title': 'Link a device',
  'linkDevice.unavailable':
    'Linking another device is not available in this version. You can log in with your username and password on another browser; it becomes a new device of your account with its own keys.',
  'linkDevice.how':
    'On the new browser or device, log in with your username and password and choose “Link from your other device”. It shows a code: scan it here or paste it.',
  'linkDevice.warning':
    'Only link devices you hold yourself: the new device gets your account’s identity key and can read and send messages as you.',
  'linkDevice.camera': 'Camera',
  'linkDevice.stopScan': 'Stop scanning',
  'linkDevice.scan': 'Scan the code',
  'linkDevice.noCamera': 'No camera available. Paste the code from the new device instead.',
  'linkDevice.code': 'Link code',
  'linkDevice.codePlaceholder': 'Paste the code from the new device',
  'linkDevice.history': 'Copy message history',
  'linkDevice.historyNote':
    'Your messages travel end-to-end encrypted; the server stores them only as an unreadable file until the new device has fetched them.',
  'linkDevice.submit': 'Link device',
  'linkDevice.busy': 'Linking…',
  'linkDevice.done': 'Linked. The new device ({device}) now has your account’s keys. {history}',
  'linkDevice.historyFailed': 'Your message history could not be copied ({why}).',
  'linkDevice.historyNone': 'No message history was copied.',
  'linkDevice.historyCopied': 'Your message history was included: {messages}.',
  'linkDevice.historyCopiedOmitted': 'Your message history was included: {messages} ({omitted}).',
  'linkDevice.messages.one': '1 message',
  'linkDevice.messages.other': '{count} messages',
  'linkDevice.omitted.one': '1 older one did not fit',
  'linkDevice.omitted.other': '{count} older ones did not fit',

  'ownKey.title': 'Someone may have registered a device as you',
  'ownKey.badCertificate':
    'Device {device}: a device certificate under your name that your identity key never signed.',
  'ownKey.unknownDevice': 'unknown',
  'ownKey.foreign': 'An identity key that is not yours ({key}) registered under your name.',
  'ownKey.foreignDevice':
    'An identity key that is not yours ({key}) registered under your name for device {device}.',
  'ownKey.entry': 'Key log entry {index}, noticed {time}.',
  'ownKey.explain':
    'The key server’s public key log lists this under your username, but none of your devices made it. Whoever holds it could receive what your contacts send you from now on.',
  'ownKey.ownReset':
    'If you reset your identity on another device yourself, this is that reset and you can dismiss it.',
  'ownKey.todo': 'What to do:',
  'ownKey.step1': '{link} and look for devices you do not recognise.',
  'ownKey.step1Link': 'Open Settings → Devices',
  'ownKey.step2':
    '{link}: that signs out every other session, so each of your devices must log in again.',
  'ownKey.step2Link': 'Change your password in Settings → Change password',
  'ownKey.step3':
    'If a device is not yours, {link} and ask your contacts to verify your new safety number.',
  'ownKey.step3Link': 'reset your identity in Settings → Reset identity',
  'ownKey.ack': 'I understand',

  'push.unsupported': 'This browser cannot notify while Sotto is closed.',
  'push.label': 'Notify me when Sotto is closed',
  'push.blocked': 'Notifications are blocked in the browser’s site settings.',
  'push.incomplete': 'The browser returned an incomplete push subscription.',
  'error.signInFirst': 'Sign in first.',
} as const satisfies Record<string, string>;
