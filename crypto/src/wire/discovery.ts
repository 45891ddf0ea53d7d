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
  return { mqtt: { ws, tcp } };
}
