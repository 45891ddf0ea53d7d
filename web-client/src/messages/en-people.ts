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
} as const satisfies Record<string, string>;
