/**
 * `@sotto/keyserver/store`: the storage contract, its implementations and the
 * ACL change bus, shared by the key server and the broker.
 */
export type * from './types.ts';
export {
  createMemoryAclEvents,
  createRedisAclEvents,
  parseAclEvent,
  type RedisPubSubClient,
} from './events.ts';
export { hashThingSecret, checkThingSecret } from './secrets.ts';
