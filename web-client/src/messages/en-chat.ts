/**
 * English words of the chat list, the conversation view, bubbles, the composer, pins and forwarding (part of the catalogue in `services/ui-strings.ts`; keys are
 * grouped by what shows them).
 */
export const EN_CHAT = {
  'actions.label': 'Message actions',
  'actions.reply': 'Reply',
  'actions.react': 'React {emoji}',
  'actions.moreReactions': 'More reactions',
  'actions.downloadFile': 'Download {name}',
  'actions.download': 'Download',
  'actions.pin': 'Pin',
  'actions.unpin': 'Unpin',
  'actions.forward': 'Forward',
  'actions.edit': 'Edit',
  'actions.delete': 'Delete for everyone',
  'actions.reportFrom': 'Report this message from {user}',
  'actions.report': 'Report',

  'pins.label': 'Pinned messages',
  'pins.latest': 'Pinned message: {preview}. {count} pinned. Go to it',
  'pins.count.one': 'Pinned message',
  'pins.count.other': 'Pinned · {count}',
  'pins.all': 'All pins ({count})',
  'pins.list': 'All pinned messages',
  'pins.go': 'Go to the message pinned by {user}: {preview}',
  'pins.unpinLabel': 'Unpin: {preview}',
  'pins.unpin': 'Unpin',

  'forward.title': 'Forward message',
  'forward.search': 'Search conversations',
  'forward.list': 'Conversations',
  'forward.group': '{title} (group)',
  'forward.noMatch': 'No conversation matches.',
  'forward.cancel': 'Cancel',
  'forward.send': 'Forward',
  'forward.sendTo.other': 'Forward to {count}',
  'forward.failed': 'Could not forward to {names}.',

  'messages.label': 'Messages',
  'messages.empty': 'No messages yet. Say hello — it is end-to-end encrypted.',
  'messages.reviewWith': 'Review safety number with {user}',
  'messages.review': 'Review',
} as const satisfies Record<string, string>;
