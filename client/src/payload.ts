/**
 * The encrypted payload codec of the wire contract (`@sotto/crypto/wire`, PROTOCOL.md §12),
 * re-exported for the engine and its users, with message ids drawn from the platform's CSPRNG.
 */
import { messageIdFrom } from '@sotto/crypto/wire';

export {
  decodePayload,
  encodePayload,
  isMessageId,
  isPayloadError,
  MAX_PAYLOAD_BYTES,
  MAX_REPORTED_MESSAGES,
  MAX_TEXT_LENGTH,
  MAX_THUMBNAIL_BYTES,
  MAX_THUMBNAIL_SIDE,
  MAX_VOICE_NOTE_MS,
  MAX_WAVEFORM_SAMPLES,
  PAYLOAD_KINDS,
  PAYLOAD_VERSION,
  PayloadError,
  THUMBNAIL_MIMES,
  VOICE_NOTE_MIMES,
  type CallAnswerPayload,
  type CallBusyPayload,
  type CallHangupPayload,
  type CallIcePayload,
  type CallMedia,
  type CallOfferPayload,
  type CallPayload,
  type HangupReason,
  type IceCandidate,
  CALL_KINDS,
  CALL_RING_MS,
  HANGUP_REASONS,
  MAX_CALL_PARTICIPANTS,
  isCallKind,
  sdpFingerprints,
  type DeletePayload,
  type EditPayload,
  type FilePayload,
  type FileThumbnail,
  type GroupChangePayload,
  type Payload,
  type PayloadBase,
  type PayloadErrorCode,
  type PayloadInput,
  type PayloadKind,
  type ProfilePayload,
  type ReactionPayload,
  type ReceiptPayload,
  type ReplyPayload,
  type ReportedMessage,
  type ReportPayload,
  type SenderKeyPayload,
  type SyncPayload,
  type TextPayload,
  type TypingPayload,
  type UnknownPayload,
  type VoiceNote,
} from '@sotto/crypto/wire';

/** A fresh message id from 16 random bytes (`random` injected for tests). */
export function newMessageId(
  random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n)),
): string {
  return messageIdFrom(random);
}
