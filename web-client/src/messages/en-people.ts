/**
 * English words of sign-in, settings, notifications, profiles, contact info, group settings and
 * the header (part of the catalogue in `services/ui-strings.ts`; keys are grouped by what shows
 * them).
 */
export const EN_PEOPLE = {
  'profile.lookalike': '⚠ not @{user}',

  'notifySettings.unsupported': 'This browser does not support notifications.',
  'notifySettings.granted':
    'Desktop notifications are on (the conversation and, unless hidden, a preview).',
  'notifySettings.denied': 'Notifications are blocked in the browser’s site settings.',
  'notifySettings.turnOn': 'Turn on desktop notifications',
  'notifySettings.hideContent': 'Hide message content in notifications',
  'notifySettings.hideContentHint':
    'Notifications show who wrote and “New message”, never the text.',
  'notifySettings.sound': 'Play a sound for new messages',
  'notifySettings.soundHint': 'A short chime, not for the conversation you are reading.',

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

  'convHeader.groupSettings': 'Group settings',
  'convHeader.contactInfoLabel': 'Contact info and safety number',
  'convHeader.contactInfo': 'Contact info',

  'contactInfo.match': 'Match. {user} is now verified.',
  'contactInfo.noMatch':
    'The codes do not match. Do not trust this conversation until you find out why.',
  'contactInfo.noCamera': 'No camera available. Paste the other person’s code instead.',
  'contactInfo.callsThemselves': 'Calls themselves “{name}”',
  'contactInfo.verified': '✓ Verified',
  'contactInfo.safetyUnavailable': 'Safety numbers are not available yet.',
  'contactInfo.computing': 'Computing safety number…',
  'contactInfo.safetyNumber': 'Safety number',
  'contactInfo.compareHint':
    'Compare these numbers with {user} in person or on a call, or scan each other’s code. If they match, your conversation is private.',
  'contactInfo.qrAlt': 'Your safety number as a QR code',
  'contactInfo.camera': 'Camera',
  'contactInfo.stopScan': 'Stop scanning',
  'contactInfo.scan': 'Scan their code',
  'contactInfo.paste': 'Paste their code',
  'contactInfo.clearVerified': 'Clear verification',
  'contactInfo.markVerified': 'Mark as verified',
  'contactInfo.theirCode': 'Their code',
  'contactInfo.pastePlaceholder': 'Paste the code from {user}’s screen',
  'contactInfo.compare': 'Compare',
  'contactInfo.codeAsText': 'Your code as text',
  'contactInfo.blockSection': 'Block or report {user}',
  'contactInfo.blockHeading': 'Block or report',

  'groupSettings.removeTitle': 'Remove {user} from “{group}”?',
  'groupSettings.removeText':
    '{user} will no longer get new messages of this group. Every member sees that you removed them.',
  'groupSettings.removeConfirm': 'Remove {user}',
  'groupSettings.leaveTitle': 'Leave “{group}”?',
  'groupSettings.leaveText':
    'You will no longer get its messages, and only an admin can add you back (or you rejoin with an invite link).',
  'groupSettings.leaveConfirm': 'Leave {group}',
  'groupSettings.heading': 'Group',
  'groupSettings.loading': 'Loading members…',
  'groupSettings.members': 'Members',
  'groupSettings.you': ' (you)',
  'groupSettings.admin': 'admin',
  'groupSettings.removeAdminLabel': 'Remove admin: {user}',
  'groupSettings.makeAdminLabel': 'Make admin: {user}',
  'groupSettings.removeAdmin': 'Remove admin',
  'groupSettings.makeAdmin': 'Make admin',
  'groupSettings.remove': 'Remove',
  'groupSettings.addForm': 'Add a member',
  'groupSettings.addPlaceholder': 'username',
  'groupSettings.addLabel': 'Username to add',
  'groupSettings.add': 'Add',
  'groupSettings.onlyAdmins': 'Only admins can add or remove members.',
  'groupSettings.leave': 'Leave group',
} as const satisfies Record<string, string>;
