/**
 * English words of the conversation's banners, strips and dialogs (block and report, key
 * changes, frozen groups, group keys, invite links, security notices, uploads, emoji): one part
 * of the messages module's catalogue, merged in `services/ui-strings.ts`, which fills the
 * `{name}` parameters and picks the `.one`/`.other` plural forms.
 */
export const EN_CONVERSATION = {
  'common.cancel': 'Cancel',
  'common.loading': 'Loading…',
  'common.backToConversation': 'Back to the conversation',
  'common.backToChats': 'Back to chats',
  'common.failed': 'Failed: {why}',
  'common.reviewSafetyNumber': 'Review safety number',

  'block.block': 'Block {user}',
  'block.unblock': 'Unblock {user}',
  'block.confirmTitle': 'Block {user}?',
  'block.confirmText':
    '{user} can no longer send you direct messages or invites (they are not told), and their messages in groups are hidden on all your devices. You can unblock them later.',
  'block.blocked': 'You blocked {user}.',
  'block.unblocked': 'You unblocked {user}.',
  'report.user': 'Report {user}',
  'report.confirmTitle': 'Report {user}?',
  'report.one': 'This message will be sent. {shared}',
  'report.other': '{user}’s last {count} messages here will be sent. {shared}',
  'report.shared':
    'They go end-to-end encrypted to the operators of this server, as you see them, with sender and times. The server itself only learns that you reported them. Nothing else of yours is shared.',
  'report.send': 'Send report',
  'report.note': 'Note for the operators (optional)',
  'report.sent.one': 'Report sent to the operator.',
  'report.sent.other': 'Report sent to {count} operators.',
  'report.noOperator': 'Report filed. No operator device could receive its messages yet.',
  'report.nothing': '{user} has sent you no message to report.',

  'frozen.composer.rolledBack':
    'Sending is off: the server served an older history of this group, so it is frozen.',
  'frozen.composer.forked':
    'Sending is off: the server rewrote this group’s history, so it is frozen.',
  'frozen.rolledBack':
    'The server served an older history of this group than this device had seen.',
  'frozen.forked': 'This group’s history was rewritten by the server.',
  'frozen.nothingSent': 'The group is frozen: nothing is sent to it.',
  'frozen.advice':
    'The messages already here stay readable. The server may be faulty or compromised; to keep talking, start a new group.',

  'groupKey.noAdmin':
    '{user}’s identity key changed, and no admin with a current key is left to re-add them.',
  'groupKey.waiting': '{user}’s identity key changed: waiting for an admin to re-add them.',
  'groupKey.verified':
    '{user}’s identity key changed. You had verified them: review the new safety number and accept it before re-adding them.',
  'groupKey.stale': '{user}’s identity key changed; the group still has the old one.',
  'groupKey.rekey': 'Re-add with new key',
  'groupKey.rekeyLabel': 'Re-add {user} with the new key',
  'groupKey.selfStale': 'Your identity reset removed you from this group’s keys.',
  'groupKey.selfNoAdmin':
    'You were its only admin, so nobody can re-add you: you cannot read or send here any more. Create a new group with its members.',
  'groupKey.selfWait':
    'You cannot read new messages or send here until an admin re-adds you with your new key.',

  'keyChange.held.one': '1 message from {user} is held because {user}’s safety number changed.',
  'keyChange.held.other':
    '{count} messages from {user} are held because {user}’s safety number changed.',
  'keyChange.heldAdvice': 'Review the new safety number before reading them.',
  'keyChange.review': 'Review',
  'keyChange.reviewLabel': 'Review {user}’s new safety number',
  'keyChange.accept': 'Accept',
  'keyChange.acceptLabel': 'Accept {user}’s new safety number and show the held messages',
  'keyChange.verified': '{user}’s safety number changed.',
  'keyChange.verifiedAdvice':
    'You had verified {user}. This can mean they reinstalled or that someone is intercepting. Compare the new safety number before sending.',
  'keyChange.plain': '{user}’s safety number changed (new device or reinstall).',
  'keyChange.acceptKey': 'Accept new key',
  'keyChange.ok': 'OK',

  'invites.title': 'Invite links',
  'invites.intro':
    'Anyone with a link can join until it expires, is used up or you revoke it. The link is shown once: Sotto keeps no copy of its secret.',
  'invites.form': 'Create an invite link',
  'invites.expiry': 'Expires after',
  'invites.expiry.hour': '1 hour',
  'invites.expiry.day': '1 day',
  'invites.expiry.week': '7 days',
  'invites.expiry.month': '30 days',
  'invites.uses': 'Use limit (0 = none)',
  'invites.usesInvalid': 'The use limit is a whole number (0 for no limit).',
  'invites.create': 'Create invite link',
  'invites.newLink': 'New invite link',
  'invites.copy': 'Copy link',
  'invites.copied': 'Link copied.',
  'invites.copyRefused': 'Copying is not allowed here: select the link and copy it.',
  'invites.list': 'Invites',
  'invites.item': 'Invite {n}: {state} · {uses} · by {user}',
  'invites.revoke': 'Revoke',
  'invites.revokeLabel': 'Revoke invite {n}',
  'invites.revoked': 'revoked',
  'invites.expired': 'expired',
  'invites.usedUp': 'used up',
  'invites.expires': 'expires {time}',
  'invites.usesCount.one': '1 use',
  'invites.usesCount.other': '{count} uses',
  'invites.usesOf.one': '{used} of {count} use',
  'invites.usesOf.other': '{used} of {count} uses',

  'notice.unlistedDevice':
    'A message claiming to be from {user} was dropped: it came from a device that is not in {user}’s key directory.',
  'notice.foreignOwnDevice':
    'A message claiming to come from one of your own devices was dropped: that device is not in your key directory. If you did not just add a device, check Settings → Devices.',
  'notice.foreignOwnDeviceNamed':
    'A message claiming to come from one of your own devices ({device}) was dropped: that device is not in your key directory. If you did not just add a device, check Settings → Devices.',
  'notice.forgedGroupChange':
    'A change to this group’s members that {user} did not validly sign was dropped; the member list is unchanged.',
  'notice.senderFlood':
    '{user} sent more messages this device could not decrypt than it accepts at once; some were dropped. This can be a faulty app or an attack.',
  'notice.senderFloodDropped.one':
    '{user} sent more messages this device could not decrypt than it accepts at once; 1 was dropped. This can be a faulty app or an attack.',
  'notice.senderFloodDropped.other':
    '{user} sent more messages this device could not decrypt than it accepts at once; {count} were dropped. This can be a faulty app or an attack.',
  'notice.prekeysDrained':
    'Your one-time prekeys were being used up unusually fast, so new ones were published. Someone may be claiming them to get in the way of new conversations; messages still arrive.',
  'notice.heldKeyChange': 'Messages from {user} are held because {user}’s safety number changed.',
  'notice.groupForked': 'The server rewrote this group’s history; the group is frozen.',
  'notice.forgedRename':
    'The server says {user} now goes by another name, but the change is not signed by the key you know for {user}; nothing was moved.',
  'notice.renamed': '{from} is now {to}',
  'notice.times': '{text} ({count} times)',
  'notice.list': 'Security notices',
  'notice.dismiss': 'Dismiss',
  'notice.dismissLabel': 'Dismiss security notice',

  'upload.progress': 'Uploading {name}…',
  'upload.progressLabel': 'Uploading {name}',
  'upload.failed': '{name}: {error}',

  'emoji.picker': 'Emoji picker',
  'emoji.search': 'Search emoji',

  'stickers.name.smile': 'Smiling face',
  'stickers.name.heart': 'Heart',
  'stickers.name.star': 'Star',
  'stickers.name.check': 'Check mark',
  'stickers.noCanvas': 'This browser cannot draw stickers.',
  'voice.noOpus': 'This browser cannot record Opus audio.',
} as const satisfies Record<string, string>;
