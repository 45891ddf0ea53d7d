/**
 * Strict MQTT 3.1.1 where Aedes 1.2 and mqtt-packet are lenient (issue 20; Mosquitto handles each
 * of these as the spec says):
 *
 * - a CONNECT whose protocol level is not one we speak (3.1.1 = level 4 "MQTT", 3.1 = level 3
 *   "MQIsdp") gets CONNACK 0x01 "unacceptable protocol version" before the close
 *   [MQTT-3.1.2-2] — mqtt-packet stops on levels it does not know without one, and Aedes 1.2
 *   has no MQTT 5;
 * - a will with QoS 3 [MQTT-3.1.2-14], SUBSCRIBE, UNSUBSCRIBE or QoS 1/2 PUBLISH with packet
 *   identifier 0 [MQTT-2.3.1-1], SUBSCRIBE or UNSUBSCRIBE without a filter [MQTT-3.8.3-3]
 *   [MQTT-3.10.3-2], and any UTF-8 string (filter, topic, client id, user name) that is not
 *   well-formed UTF-8 or holds U+0000 [MQTT-1.5.3-1] [MQTT-1.5.3-2] close the connection without
 *   an answer, before Aedes acts on the packet.
 *
 * The checks sit between mqtt-packet's parser and Aedes' packet handler of each connection (the
 * parser's `packet` event), plus one look at the first bytes of the stream for the protocol
 * level. mqtt-packet decodes strings with replacement characters, so the raw bytes of a string
 * are checked only when its decoded form holds U+FFFD: a well-formed topic costs one scan.
 */
import type { Duplex } from 'node:stream';
import type { Client } from 'aedes';

/** Why the strict checks closed a connection. */
export type StrictViolation =
  'UNSUPPORTED_PROTOCOL_LEVEL' | 'WILL_QOS' | 'PACKET_ID_ZERO' | 'NO_FILTERS' | 'BAD_UTF8';

/** CONNACK, remaining length 2, no session present, return code 0x01. */
const CONNACK_UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

/** The protocol names and the level each may come with. */
const LEVELS: Record<string, number> = { MQTT: 4, MQIsdp: 3 };

const BAD_STRING = Symbol('sotto.strict.badString');

const STATE = Symbol('sotto.strict.state');

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface RawList {
  readUInt16BE(offset: number): number;
  slice(start: number, end: number): Buffer;
}

/** The parts of mqtt-packet's parser this module touches (an instance per connection). */
interface Parser {
  [STATE]: StrictState;
  _list: RawList;
  _pos: number;
  packet: { [BAD_STRING]?: true };
  _parseString(maybeBuffer?: unknown): string | null;
  listeners(event: 'packet'): ((this: Parser, packet: unknown) => void)[];
  removeAllListeners(event: 'packet'): void;
  on(event: 'packet', fn: (this: Parser, packet: unknown) => void): void;
}

interface ParsedPacket {
  cmd?: string;
  qos?: number;
  messageId?: number;
  will?: { qos?: number };
  subscriptions?: unknown[];
  unsubscriptions?: unknown[];
  [BAD_STRING]?: true;
}

/** Is this a malformed packet that must close the connection? */
export function violationOf(packet: ParsedPacket): StrictViolation | null {
  if (packet[BAD_STRING]) return 'BAD_UTF8';
  switch (packet.cmd) {
    case 'connect':
      // [MQTT-3.1.2-14]
      return packet.will && (packet.will.qos ?? 0) > 2 ? 'WILL_QOS' : null;
    case 'publish':
      // [MQTT-2.3.1-1]
      return (packet.qos ?? 0) > 0 && packet.messageId === 0 ? 'PACKET_ID_ZERO' : null;
    case 'subscribe':
      if (packet.messageId === 0) return 'PACKET_ID_ZERO'; // [MQTT-2.3.1-1]
      return packet.subscriptions?.length ? null : 'NO_FILTERS'; // [MQTT-3.8.3-3]
    case 'unsubscribe':
      if (packet.messageId === 0) return 'PACKET_ID_ZERO'; // [MQTT-2.3.1-1]
      return packet.unsubscriptions?.length ? null : 'NO_FILTERS'; // [MQTT-3.10.3-2]
    default:
      return null;
  }
}

/**
 * The protocol level check on the first bytes of a connection: `undefined` while more bytes are
 * needed, `true` to go on (a CONNECT we speak, or one mqtt-packet refuses by itself: not a
 * CONNECT, an unknown protocol name), `false` for a known protocol name with a level we do not
 * speak.
 */
export function protocolLevelAcceptable(head: Uint8Array): boolean | undefined {
  if (head.length < 1) return undefined;
  if (head[0] !== 0x10) return true;
  // Remaining length: 1 to 4 bytes.
  let i = 1;
  while (i < head.length && i <= 4 && (head[i]! & 0x80) !== 0) i++;
  if (i >= head.length) return undefined;
  const nameAt = i + 1;
  if (head.length < nameAt + 2) return undefined;
  const nameLength = (head[nameAt]! << 8) | head[nameAt + 1]!;
  if (nameLength > 6) return true;
  const levelAt = nameAt + 2 + nameLength;
  if (head.length <= levelAt) return undefined;
  const name = Buffer.from(head.subarray(nameAt + 2, levelAt)).toString('latin1');
  const want = LEVELS[name];
  if (want === undefined) return true;
  // Bit 7 marks a bridge (Mosquitto's try_private); the level is below it.
  return (head[levelAt]! & 0x7f) === want;
}

/** Per connection: what the shared functions below need (issue 20: no closures per connection). */
interface StrictState {
  conn: Duplex;
  onViolation: (reason: StrictViolation) => void;
  /** A violation closed the connection: packets still parsed from its buffer are ignored. */
  dead: boolean;
  /** The first bytes, held until the protocol level is known; `null` once it is. */
  head: Uint8Array | null;
  /** The `read` this module's first-bytes check sits on (the packet-size guard's). */
  next: Duplex['read'];
  /** Aedes' `packet` listeners, called for packets that pass. */
  handlers: ((this: Parser, packet: unknown) => void)[];
}

type StrictStream = Duplex & { [STATE]: StrictState };

/** The protocol level, from the first bytes Aedes reads (before mqtt-packet sees them). */
function firstBytesRead(this: StrictStream, size?: number): unknown {
  const state = this[STATE];
  const data: unknown = state.next.call(this, size);
  if (!(data instanceof Uint8Array)) return data;
  const head = state.head ? Buffer.concat([state.head, data]) : data;
  const ok = protocolLevelAcceptable(head);
  if (ok === undefined) {
    // Hold the bytes back until the level is known (at most 13 of them).
    state.head = head;
    return null;
  }
  state.head = null;
  this.read = state.next;
  if (!ok) {
    state.dead = true;
    state.onViolation('UNSUPPORTED_PROTOCOL_LEVEL');
    // [MQTT-3.1.2-2] answer 0x01, then close; Aedes never sees the CONNECT.
    this.end(CONNACK_UNACCEPTABLE_PROTOCOL);
    return null;
  }
  return head;
}

/** mqtt-packet's string decoder, plus the UTF-8 rules it does not check. */
function strictParseString(this: Parser, maybeBuffer?: unknown) {
  const at = this._pos;
  const s = (Object.getPrototypeOf(this) as Parser)._parseString.call(this, maybeBuffer);
  if (s === null) return s;
  // [MQTT-1.5.3-2] no U+0000; [MQTT-1.5.3-1] well-formed UTF-8 (mqtt-packet decoded any
  // ill-formed sequence to U+FFFD, so only then are the raw bytes checked).
  if (s.includes('\0')) this.packet[BAD_STRING] = true;
  else if (s.includes('\uFFFD')) {
    const length = this._list.readUInt16BE(at);
    try {
      utf8.decode(this._list.slice(at + 2, at + 2 + length));
    } catch {
      this.packet[BAD_STRING] = true;
    }
  }
  return s;
}

/** Between the parser and Aedes: a malformed packet closes the connection instead. */
function strictPacket(this: Parser, packet: unknown): void {
  const state = this[STATE];
  if (state.dead) return;
  const violation = violationOf(packet as ParsedPacket);
  if (violation) {
    state.dead = true;
    state.onViolation(violation);
    state.conn.destroy();
    return;
  }
  for (const h of state.handlers) h.call(this, packet);
}

/**
 * Apply the strict checks to a connection Aedes just took (`aedes.handle(conn)` returned
 * `client`). `onViolation` is told why before the connection is closed. The checks are shared
 * functions; a connection carries one small state object, seen from its stream and its parser.
 */
export function enforceStrict311(
  client: Client,
  conn: Duplex,
  onViolation: (reason: StrictViolation) => void,
): void {
  const parser = (client as unknown as { _parser: Parser })._parser;
  const state: StrictState = {
    conn,
    onViolation,
    dead: false,
    head: null,
    // Called with the stream as `this` (firstBytesRead).
    // eslint-disable-next-line @typescript-eslint/unbound-method
    next: conn.read,
    handlers: parser.listeners('packet'),
  };
  const stream = conn as StrictStream;
  stream[STATE] = state;
  stream.read = firstBytesRead;
  parser[STATE] = state;
  parser._parseString = strictParseString;
  parser.removeAllListeners('packet');
  parser.on('packet', strictPacket);
}
