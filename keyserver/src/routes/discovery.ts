/**
 * Broker discovery (docs/API.md "Discovery"): `GET /.well-known/sotto` and its alias
 * `GET /v1/config` tell clients where the MQTT brokers listen, so a client given only the key
 * server's URL does not have to guess a port, and the ICE servers calls use. Public: it names
 * endpoints, nothing about users (TURN credentials are issued per user, routes/calls.ts), and
 * whether guest accounts are offered with their idle time.
 */
import { DISCOVERY_PATH, type Discovery } from '@sotto/crypto/wire';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../config.ts';
import type { Ctx } from '../context.ts';

const discoverySchema = {
  type: 'object',
  required: ['mqtt'],
  additionalProperties: false,
  properties: {
    mqtt: {
      type: 'object',
      required: ['ws', 'tcp'],
      additionalProperties: false,
      properties: {
        ws: { type: 'string', pattern: '^wss?://', description: 'MQTT over WebSocket' },
        tcp: {
          type: ['string', 'null'],
          pattern: '^mqtts?://',
          description: 'MQTT over TCP; null when not offered',
        },
      },
    },
    ice: {
      type: 'object',
      required: ['servers', 'turn'],
      additionalProperties: false,
      description: 'ICE servers for calls, when configured',
      properties: {
        servers: {
          type: 'array',
          items: {
            type: 'object',
            required: ['urls'],
            additionalProperties: false,
            properties: {
              urls: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
              username: { type: 'string' },
              credential: { type: 'string' },
            },
          },
        },
        turn: { type: 'boolean', description: 'POST /v1/calls/turn issues TURN credentials' },
      },
    },
    guests: {
      type: 'object',
      required: ['idleMs'],
      additionalProperties: false,
      description: 'Guest accounts are offered (POST /v1/guests)',
      properties: {
        idleMs: {
          type: 'integer',
          minimum: 1,
          description: 'A guest unused for this long (ms) expires',
        },
      },
    },
  },
} as const;

/**
 * What this key server advertises: the configured URLs; without `mqttWsUrl`, the WebSocket
 * endpoint next to `publicUrl` (same host and port, `ws`/`wss`, path `/mqtt`), where embedded
 * mode and the docker-compose proxy serve it.
 */
export function advertisedBrokers(config: AppConfig): Discovery {
  let ws = config.mqttWsUrl;
  if (ws === null) {
    const u = new URL('/mqtt', config.publicUrl);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = u.toString();
  }
  const out: Discovery = { mqtt: { ws, tcp: config.mqttTcpUrl } };
  if (config.iceServers.length > 0 || config.turnSecret !== null)
    out.ice = { servers: config.iceServers, turn: config.turnSecret !== null };
  if (config.guests) out.guests = { idleMs: config.guestIdleMs };
  return out;
}

/** Register `GET /.well-known/sotto` and `GET /v1/config`. */
export function discoveryRoutes(app: FastifyInstance, ctx: Ctx): void {
  const body = advertisedBrokers(ctx.config);
  for (const url of [DISCOVERY_PATH, '/v1/config']) {
    app.get(
      url,
      {
        schema: {
          tags: ['discovery'],
          summary: 'Where the MQTT brokers listen (WebSocket and TCP URLs)',
          response: { 200: discoverySchema },
        },
      },
      async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(body),
    );
  }
}
