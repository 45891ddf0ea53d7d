/**
 * JSON-schema fragments shared by the routes. Patterns come from
 * `@sotto/crypto`'s topic module, so a name the key server accepts is always
 * a name that can appear in an MQTT topic.
 */
import {
  DEVICE_ID_PATTERN,
  GROUP_ID_PATTERN,
  THING_PATTERN,
  USERNAME_PATTERN,
} from '@sotto/crypto';
import { errorSchema } from './errors.ts';

/** A base64url (no padding) string of at most `maxLength` characters. */
export const b64 = (maxLength: number, description?: string) =>
  ({
    type: 'string',
    pattern: '^[A-Za-z0-9_-]*$',
    minLength: 1,
    maxLength,
    ...(description ? { description } : {}),
  }) as const;

export const username = { type: 'string', pattern: USERNAME_PATTERN.source } as const;
export const deviceId = { type: 'string', pattern: DEVICE_ID_PATTERN.source } as const;
export const groupId = { type: 'string', pattern: GROUP_ID_PATTERN.source } as const;
export const thingName = { type: 'string', pattern: THING_PATTERN.source } as const;
export const password = { type: 'string', minLength: 8, maxLength: 1024 } as const;

/** Body schema of routes that take no body: nothing or `{}`. */
export const emptyBody = {
  type: 'object',
  additionalProperties: false,
  properties: {},
  nullable: true,
} as const;

/** Error responses for the given statuses. */
export function errors(...statuses: number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorSchema]));
}

/** The security requirement of bearer-token routes (OpenAPI). */
export const bearer = [{ bearerAuth: [] }];

/** Token-pair response of login, refresh and password change. */
export const sessionResponse = {
  type: 'object',
  required: ['accessToken', 'refreshToken', 'deviceId', 'expiresIn'],
  additionalProperties: false,
  properties: {
    accessToken: { type: 'string', description: 'EdDSA JWT' },
    refreshToken: { type: 'string', description: 'opaque, single use' },
    deviceId,
    expiresIn: { type: 'integer', description: 'access-token lifetime in seconds' },
  },
} as const;
