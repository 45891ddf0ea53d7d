/**
 * Broker discovery (docs/API.md "Discovery"): the JSON a key server answers on
 * `GET /.well-known/sotto` (and `GET /v1/config`), telling clients where its MQTT brokers
 * listen. The key server builds it from its configuration; clients read it with
 * {@link decodeDiscovery} when they were given no broker URL.
 */
import { WireError } from './errors.ts';
import { readObject } from './json.ts';

/** Path of the discovery document on the key server (RFC 8615 well-known URI). */
export const DISCOVERY_PATH = '/.well-known/sotto';

/** Key server → client: where the brokers listen. */
export interface Discovery {
  mqtt: {
    /** MQTT over WebSocket, `ws://…/mqtt` or `wss://…/mqtt` (browsers). */
    ws: string;
    /** MQTT over TCP, `mqtt://host:port` or `mqtts://…` (bots, CLI, devices); `null` when off. */
    tcp: string | null;
  };
  /**
   * For calls (PROTOCOL.md §12.1), present when the operator configured any: ICE servers as
   * RTCPeerConnection takes them, and whether `POST /v1/calls/turn` issues TURN credentials.
   */
  ice?: { servers: IceServer[]; turn: boolean };
  /**
   * Present when the server offers guest accounts (`POST /v1/guests`, docs/API.md "Guests"):
   * how long a guest may stay unused before it expires, in milliseconds.
   */
  guests?: { idleMs: number };
}

/** One ICE server (RTCIceServer). */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Time-limited TURN credentials (`POST /v1/calls/turn`, coturn's shared-secret scheme). */
export interface TurnCredentials {
  urls: string[];
  /** `{expiry unix seconds}:{username}`. */
  username: string;
  /** base64 HMAC-SHA1 of `username` under the secret shared with the TURN server. */
  credential: string;
  /** Seconds the credentials stay valid. */
  ttl: number;
}

const WHAT = 'discovery document';
const WS = /^wss?:\/\/\S+$/;
const TCP = /^mqtts?:\/\/\S+$/;

/** Decode a discovery document; throws {@link WireError} `MALFORMED` when it is not one. */
export function decodeDiscovery(input: Uint8Array | string): Discovery {
  const o = readObject(input, WHAT);
  const m = o.mqtt;
  if (typeof m !== 'object' || m === null)
    throw new WireError('MALFORMED', `${WHAT}: field "mqtt" must be an object`);
  const { ws, tcp } = m as Record<string, unknown>;
  if (typeof ws !== 'string' || !WS.test(ws))
    throw new WireError('MALFORMED', `${WHAT}: "mqtt.ws" must be a ws:// or wss:// URL`);
  if (tcp !== null && (typeof tcp !== 'string' || !TCP.test(tcp)))
    throw new WireError('MALFORMED', `${WHAT}: "mqtt.tcp" must be an mqtt(s):// URL or null`);
  const out: Discovery = { mqtt: { ws, tcp } };
  if (o.ice !== undefined) out.ice = decodeIce(o.ice);
  if (o.guests !== undefined) {
    const g: unknown = o.guests;
    const idleMs =
      typeof g === 'object' && g !== null ? (g as Record<string, unknown>).idleMs : null;
    if (typeof idleMs !== 'number' || !Number.isSafeInteger(idleMs) || idleMs <= 0)
      throw new WireError('MALFORMED', `${WHAT}: "guests.idleMs" must be a positive integer`);
    out.guests = { idleMs };
  }
  return out;
}

const ICE_URL = /^(stuns?|turns?):\S+$/;

function decodeIce(v: unknown): { servers: IceServer[]; turn: boolean } {
  const bad = (why: string): never => {
    throw new WireError('MALFORMED', `${WHAT}: "ice" ${why}`);
  };
  if (typeof v !== 'object' || v === null) return bad('must be an object');
  const { servers, turn } = v as Record<string, unknown>;
  if (typeof turn !== 'boolean') bad('.turn must be a boolean');
  if (!Array.isArray(servers) || servers.length > 8)
    return bad('.servers must be a list of up to 8');
  const list = servers.map((x): IceServer => {
    if (typeof x !== 'object' || x === null) return bad('.servers must hold objects');
    const { urls, username, credential } = x as Record<string, unknown>;
    const all = typeof urls === 'string' ? [urls] : urls;
    if (
      !Array.isArray(all) ||
      all.length === 0 ||
      !all.every((u) => typeof u === 'string' && ICE_URL.test(u))
    )
      bad('.servers[].urls must be stun:/turn: URLs');
    const s: IceServer = { urls: urls as string | string[] };
    if (username !== undefined) {
      if (typeof username !== 'string') bad('.servers[].username must be a string');
      s.username = username as string;
    }
    if (credential !== undefined) {
      if (typeof credential !== 'string') bad('.servers[].credential must be a string');
      s.credential = credential as string;
    }
    return s;
  });
  return { servers: list, turn: turn as boolean };
}
