/**
 * The engine's record types, re-exported from one place so the views depend on `@sotto/client`'s
 * storage model through a single import.
 */
export type {
  ClientStore,
  MessageRecord,
  ContactRecord,
  GroupRecord,
  ConversationSummary,
  SearchHit,
  ReceiptStatus,
  FileThumbnail,
  VoiceNote,
  OwnKeyAlert,
  SecurityNoticeCode,
} from '@sotto/client';
