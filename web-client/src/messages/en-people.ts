/**
 * English words of sign-in, settings, notifications, profiles, contact info, group settings and
 * the header (part of the catalogue in `services/ui-strings.ts`; keys are grouped by what shows
 * them).
 */
export const EN_PEOPLE = {
  'profile.lookalike': '⚠ not @{user}',

  'notify.unsupported': 'This browser does not support notifications.',
  'notify.granted':
    'Desktop notifications are on (the conversation and, unless hidden, a preview).',
  'notify.denied': 'Notifications are blocked in the browser’s site settings.',
  'notify.turnOn': 'Turn on desktop notifications',
  'notify.hideContent': 'Hide message content in notifications',
  'notify.hideContentHint': 'Notifications show who wrote and “New message”, never the text.',
  'notify.sound': 'Play a sound for new messages',
  'notify.soundHint': 'A short chime, not for the conversation you are reading.',

  'profileEdit.notPicture': 'That file is not a picture this browser can open.',
  'profileEdit.tooBig': 'This browser could not make the picture small enough.',
  'profileEdit.saved': 'Profile saved and sent to your contacts.',
  'profileEdit.newPicture': 'New profile picture',
  'profileEdit.noPicture': 'No profile picture: your initials',
  'profileEdit.currentPicture': 'Current profile picture',
  'profileEdit.change': 'Change profile picture',
  'profileEdit.remove': 'Remove profile picture',
  'profileEdit.file': 'Profile picture file',
  'profileEdit.zoom': 'Zoom the picture',
  'profileEdit.displayName': 'Display name',
  'profileEdit.privacy':
    'Your name and picture are end-to-end encrypted to your contacts, your groups and your other devices; the server stores only ciphertext. Others always see your username {user} beside your name.',
  'profileEdit.save': 'Save profile',

  'header.groupSettings': 'Group settings',
  'header.contactInfoLabel': 'Contact info and safety number',
  'header.contactInfo': 'Contact info',

  'contact.match': 'Match. {user} is now verified.',
  'contact.noMatch':
    'The codes do not match. Do not trust this conversation until you find out why.',
  'contact.noCamera': 'No camera available. Paste the other person’s code instead.',
  'contact.callsThemselves': 'Calls themselves “{name}”',
  'contact.verified': '✓ Verified',
  'contact.safetyUnavailable': 'Safety numbers are not available yet.',
  'contact.computing': 'Computing safety number…',
  'contact.safetyNumber': 'Safety number',
  'contact.compareHint':
    'Compare these numbers with {user} in person or on a call, or scan each other’s code. If they match, your conversation is private.',
  'contact.qrAlt': 'Your safety number as a QR code',
  'contact.camera': 'Camera',
  'contact.stopScan': 'Stop scanning',
  'contact.scan': 'Scan their code',
  'contact.paste': 'Paste their code',
  'contact.clearVerified': 'Clear verification',
  'contact.markVerified': 'Mark as verified',
  'contact.theirCode': 'Their code',
  'contact.pastePlaceholder': 'Paste the code from {user}’s screen',
  'contact.compare': 'Compare',
  'contact.codeAsText': 'Your code as text',
  'contact.blockSection': 'Block or report {user}',
  'contact.blockHeading': 'Block or report',
} as const satisfies Record<string, string>;
