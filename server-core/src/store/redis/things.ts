/**
 * Redis store: things, blob metadata and the key-transparency log.
 */
import { checkThingSecret } from '../secrets.ts';
import type { ThingPart } from '../parts.ts';
import { b64, script, unb64, type RedisContext } from './support.ts';

// KEYS: thing hash, owner's thing set. ARGV: thing, secret hash, createdAt.
const CREATE_THING = script(`
if redis.call('HGET', KEYS[1], 'active') == '1' then return 0 end
redis.call('HSET', KEYS[1], 'secretHash', ARGV[2], 'active', '1', 'createdAt', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return 1`);

const REVOKE_THING = script(`
if redis.call('HGET', KEYS[1], 'active') ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 'active', '0')
return 1`);

const PUT_BLOB = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'size', ARGV[2], 'createdAt', ARGV[3])
return 1`);

/** Things, blobs and the key-transparency log of the Redis store. */
export function redisThings({ client, k, run }: RedisContext): ThingPart {
  return {
    async createThing(t) {
      const r = await run(
        CREATE_THING,
        [k.thing(t.owner, t.thing), k.things(t.owner)],
        [t.thing, b64(t.secretHash), String(t.createdAt)],
      );
      return r === 1;
    },
    async listThings(owner) {
      const names = (await client.sMembers(k.things(owner))).sort();
      const out = [];
      for (const thing of names) {
        const h = await client.hGetAll(k.thing(owner, thing));
        if (h.active === undefined) continue;
        out.push({ owner, thing, active: h.active === '1', createdAt: Number(h.createdAt) });
      }
      return out;
    },
    async revokeThing(owner, thing) {
      return (await run(REVOKE_THING, [k.thing(owner, thing)], [])) === 1;
    },
    async verifyThingCredential(owner, thing, secret) {
      const [hash, active] = await client.hmGet(k.thing(owner, thing), ['secretHash', 'active']);
      const ok = checkThingSecret(secret, unb64(hash));
      return ok && active === '1';
    },
    async isThingActive(owner, thing) {
      return (await client.hGet(k.thing(owner, thing), 'active')) === '1';
    },
    async putBlob(b) {
      const r = await run(PUT_BLOB, [k.blob(b.id)], [b.owner, String(b.size), String(b.createdAt)]);
      return r === 1;
    },
    async getBlob(id) {
      const h = await client.hGetAll(k.blob(id));
      if (h.owner === undefined) return null;
      return { id, owner: h.owner, size: Number(h.size), createdAt: Number(h.createdAt) };
    },
    async deleteBlob(id) {
      return (await client.del(k.blob(id))) === 1;
    },
    async appendLogLeaf(leaf) {
      return (await client.rPush(k.log, b64(leaf))) - 1;
    },
    async logSize() {
      return client.lLen(k.log);
    },
    async getLogLeaves(start, end) {
      if (end <= start) return [];
      const rows = await client.lRange(k.log, start, end - 1);
      return rows.map((r) => unb64(r) ?? new Uint8Array());
    },
  };
}
