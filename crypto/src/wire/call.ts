/**
 * Call signalling payloads (PROTOCOL.md §12.1): `call-offer`, `call-answer`, `call-ice`,
 * `call-hangup` and `call-busy`, which travel only inside pairwise ciphertexts like every other
 * payload. Part of the payload codec (payload.ts decodes them through {@link decodeCallFields});
 * defined once here.
 *
 * The DTLS certificate fingerprint is the point of the design: an offer or answer names the
 * sender's fingerprint in `fingerprint`, and every `a=fingerprint` line of its SDP must equal it
 * (checked here, so a payload whose SDP disagrees with its own claim never decodes). The SDP is
 * encrypted and authenticated end to end by the sender's session, so the certificate the browser
 * later accepts in the DTLS handshake is the one the verified peer device chose; a server that
 * relays the signalling cannot substitute its own (SECURITY.md "Calls").
 */

import type { PayloadBase } from './payload-base.ts';

/** Longest SDP of an offer or answer, in UTF-16 code units. */
export const MAX_SDP_LENGTH = 24_000;

/** Most ICE candidates in one `call-ice` payload. */
export const MAX_ICE_CANDIDATES = 20;

/** Longest ICE candidate line. */
export const MAX_CANDIDATE_LENGTH = 512;

/**
 * How long an incoming call rings before it counts as missed (ms); an offer older than this plus
 * 15 s of clock skew (by its `ts`) does not ring at all.
 */
export const CALL_RING_MS = 45_000;

/** Most participants of a group call (a full mesh: each pair has its own peer connection). */
export const MAX_CALL_PARTICIPANTS = 4;

/** Why a call ended, as `call-hangup` says. */
export const HANGUP_REASONS = [
  /** The sender hung up (or left a group call). */
  'ended',
  /** The callee declined while it rang. */
  'declined',
  /** Another device of the callee accepted: stop ringing here (sent by the caller). */
  'answered-elsewhere',
  /** Nobody answered before the ringing timeout. */
  'timeout',
  /** The media did not connect, or its DTLS certificate was not the one the SDP named. */
  'failed',
] as const;

/** One of {@link HANGUP_REASONS}. */
export type HangupReason = (typeof HANGUP_REASONS)[number];

/** The media a call starts with. */
export type CallMedia = 'audio' | 'video';

/** Fields the offer and the answer share. */
interface CallDescription {
  /** Call id: a message id (22 base64url characters) chosen by the caller, the same for every peer. */
  callId: string;
  /** The session description (RFC 8866) of the sender's peer connection for this peer device. */
  sdp: string;
  /**
   * The sender's DTLS certificate fingerprint, `sha-256` and 32 colon-separated hex bytes
   * (upper case), exactly as every `a=fingerprint` line of `sdp` states it.
   */
  fingerprint: string;
}

/** Caller → each device of the callee (or of every group member): ring, with an SDP offer. */
export interface CallOfferFields extends CallDescription {
  media: CallMedia;
  /** A group call: the group's conversation (`group:{id}`); absent for a 1:1 call. */
  conversation?: string;
}

/** Callee device → the caller device it answers: accepted, with the SDP answer. */
export type CallAnswerFields = CallDescription;

/** One ICE candidate (RTCIceCandidateInit). */
export interface IceCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** Either side → the one peer device: ICE candidates gathered for this call (trickle ICE). */
export interface CallIceFields {
  callId: string;
  candidates: IceCandidate[];
}

/** Either side → the peer device(s): the call ended for the sender, or should stop ringing. */
export interface CallHangupFields {
  callId: string;
  reason: HangupReason;
}

/** Callee device → caller device: already in another call, not ringing. */
export interface CallBusyFields {
  callId: string;
}

/** Call signalling (PROTOCOL.md §12.1): ring with an SDP offer. */
export interface CallOfferPayload extends PayloadBase, CallOfferFields {
  kind: 'call-offer';
}
/** Call signalling: accept with an SDP answer. */
export interface CallAnswerPayload extends PayloadBase, CallAnswerFields {
  kind: 'call-answer';
}
/** Call signalling: trickled ICE candidates. */
export interface CallIcePayload extends PayloadBase, CallIceFields {
  kind: 'call-ice';
}
/** Call signalling: the call ended for the sender (or: stop ringing). */
export interface CallHangupPayload extends PayloadBase, CallHangupFields {
  kind: 'call-hangup';
}
/** Call signalling: the callee device is in another call. */
export interface CallBusyPayload extends PayloadBase, CallBusyFields {
  kind: 'call-busy';
}
/** Any call signalling payload. */
export type CallPayload =
  CallOfferPayload | CallAnswerPayload | CallIcePayload | CallHangupPayload | CallBusyPayload;

/** The call kinds, each sent pairwise to one device; none is stored or acknowledged. */
export const CALL_KINDS = [
  'call-offer',
  'call-answer',
  'call-ice',
  'call-hangup',
  'call-busy',
] as const;

/** One of {@link CALL_KINDS}. */
export type CallKind = (typeof CALL_KINDS)[number];

/** True for a call signalling kind. */
export function isCallKind(kind: string): kind is CallKind {
  return (CALL_KINDS as readonly string[]).includes(kind);
}

/** A field problem: payload.ts turns it into `PayloadError('INVALID_FIELD')`. */
export class CallFieldError extends Error {
  override readonly name = 'CallFieldError';
}

type Obj = Readonly<Record<string, unknown>>;

const CALL_ID = /^[A-Za-z0-9_-]{22}$/;
const GROUP_CONVERSATION = /^group:[A-Za-z0-9_-]{1,64}$/;
const FINGERPRINT = /^sha-256 [0-9A-F]{2}(:[0-9A-F]{2}){31}$/;
const SDP_FINGERPRINT = /^a=fingerprint:(\S+) (\S+)\s*$/gim;
const MID = /^[A-Za-z0-9_.-]{1,32}$/;

function fail(field: string, why: string): never {
  throw new CallFieldError(`payload field ${field} ${why}`);
}

function callId(o: Obj): string {
  const v = o.callId;
  if (typeof v !== 'string' || !CALL_ID.test(v)) fail('callId', 'must be a message id');
  return v;
}

/**
 * The fingerprints an SDP states (`a=fingerprint:<hash> <hex>`), normalised to
 * `<hash lower case> <HEX UPPER CASE>`.
 */
export function sdpFingerprints(sdp: string): string[] {
  return [...sdp.matchAll(SDP_FINGERPRINT)].map(
    (m) => `${m[1]!.toLowerCase()} ${m[2]!.toUpperCase()}`,
  );
}

/**
 * Check an SDP against the fingerprint its payload claims: at least one `a=fingerprint` line,
 * every one equal to `fingerprint`. Throws {@link CallFieldError} otherwise.
 */
export function checkSdpFingerprint(sdp: string, fingerprint: string): void {
  const stated = sdpFingerprints(sdp);
  if (stated.length === 0) fail('sdp', 'states no DTLS fingerprint');
  if (stated.some((f) => f !== fingerprint))
    fail('sdp', 'states a DTLS fingerprint other than the payload field fingerprint');
}

function description(o: Obj): CallDescription {
  const sdp = o.sdp;
  if (typeof sdp !== 'string' || sdp.length === 0 || sdp.length > MAX_SDP_LENGTH)
    fail('sdp', `must be a string of 1 to ${MAX_SDP_LENGTH} characters`);
  const fingerprint = o.fingerprint;
  if (typeof fingerprint !== 'string' || !FINGERPRINT.test(fingerprint))
    fail('fingerprint', 'must be "sha-256" and 32 upper-case hex bytes separated by colons');
  checkSdpFingerprint(sdp, fingerprint);
  return { callId: callId(o), sdp, fingerprint };
}

function candidate(c: unknown): IceCandidate {
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    fail('candidates', 'must hold objects');
  const { candidate: line, sdpMid, sdpMLineIndex } = c as Obj;
  // An empty line is the end-of-candidates marker.
  if (typeof line !== 'string' || line.length > MAX_CANDIDATE_LENGTH || /[\r\n]/.test(line))
    fail('candidates.candidate', `must be one line of at most ${MAX_CANDIDATE_LENGTH} characters`);
  if (line !== '' && !line.startsWith('candidate:'))
    fail('candidates.candidate', 'must start with "candidate:"');
  if (sdpMid !== null && (typeof sdpMid !== 'string' || !MID.test(sdpMid)))
    fail('candidates.sdpMid', 'must be a media id or null');
  if (
    sdpMLineIndex !== null &&
    (typeof sdpMLineIndex !== 'number' ||
      !Number.isSafeInteger(sdpMLineIndex) ||
      sdpMLineIndex < 0 ||
      sdpMLineIndex > 64)
  )
    fail('candidates.sdpMLineIndex', 'must be an integer from 0 to 64 or null');
  return { candidate: line, sdpMid, sdpMLineIndex };
}

/** The decoded fields of each call kind. */
export interface CallFields {
  'call-offer': CallOfferFields;
  'call-answer': CallAnswerFields;
  'call-ice': CallIceFields;
  'call-hangup': CallHangupFields;
  'call-busy': CallBusyFields;
}

/**
 * Decode the kind-specific fields of a call payload (strict). Throws {@link CallFieldError}.
 */
export function decodeCallFields<K extends CallKind>(kind: K, o: Obj): CallFields[K] {
  return decodeAny(kind, o) as CallFields[K];
}

function decodeAny(kind: CallKind, o: Obj): CallFields[CallKind] {
  switch (kind) {
    case 'call-offer': {
      const media = o.media;
      if (media !== 'audio' && media !== 'video') fail('media', 'must be audio or video');
      const offer: CallOfferFields = { ...description(o), media };
      if (o.conversation !== undefined) {
        const c = o.conversation;
        if (typeof c !== 'string' || !GROUP_CONVERSATION.test(c))
          fail('conversation', 'must be a group conversation id');
        offer.conversation = c;
      }
      return offer;
    }
    case 'call-answer':
      return description(o);
    case 'call-ice': {
      const list = o.candidates;
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_ICE_CANDIDATES)
        fail('candidates', `must be a list of 1 to ${MAX_ICE_CANDIDATES} candidates`);
      return { callId: callId(o), candidates: list.map(candidate) };
    }
    case 'call-hangup': {
      const reason = o.reason;
      if (!(HANGUP_REASONS as readonly unknown[]).includes(reason))
        fail('reason', `must be one of ${HANGUP_REASONS.join(', ')}`);
      return { callId: callId(o), reason: reason as HangupReason };
    }
    case 'call-busy':
      return { callId: callId(o) };
  }
}
