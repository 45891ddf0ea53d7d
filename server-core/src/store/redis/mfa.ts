/**
 * Redis store: second factors — the sealed TOTP secret with its last accepted step (a hash),
 * hashed recovery codes (a set), passkeys (a hash per credential, a sorted set per user).
 */
import type { PasskeyRecord } from '../types.ts';
import type { MfaPart } from '../parts.ts';
import { b64, script, unb64, type RedisContext } from './support.ts';

// KEYS: totp hash. ARGV: step. Accepts a step only above the last one (each code once).
const USE_STEP = script(`
local last = redis.call('HGET', KEYS[1], 'lastStep')
if not last then return 0 end
if tonumber(last) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'lastStep', ARGV[1])
return 1`);

// KEYS: totp hash. ARGV: sealed secret, enabled. Keeps lastStep across a new secret.
const SET_TOTP = script(`
redis.call('HSET', KEYS[1], 'sealed', ARGV[1], 'enabled', ARGV[2])
redis.call('HSETNX', KEYS[1], 'lastStep', '0')
return 1`);

// KEYS: passkey hash, user's sorted set. ARGV: credential id, created at, then field/value pairs.
const ADD_PASSKEY = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1`);

// KEYS: passkey hash. ARGV: username, field, value. Only the owner's passkey changes.
const SET_OWN_PASSKEY = script(`
if redis.call('HGET', KEYS[1], 'username') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1`);

// KEYS: passkey hash, user's sorted set. ARGV: username, credential id.
const REMOVE_PASSKEY = script(`
if redis.call('HGET', KEYS[1], 'username') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`);

// KEYS: passkey hash. ARGV: counter, at. Never recreates a removed passkey.
const USE_PASSKEY = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'counter', ARGV[1], 'lastUsedAt', ARGV[2])
return 1`);

/** TOTP, recovery codes and passkeys of the Redis store. */
export function redisMfa({ client, k, run }: RedisContext): MfaPart {
  const toPasskey = (id: string, h: Record<string, string>): PasskeyRecord => ({
    credentialId: id,
    username: h.username ?? '',
    publicKey: unb64(h.publicKey) ?? new Uint8Array(0),
    counter: Number(h.counter ?? 0),
    transports: JSON.parse(h.transports ?? '[]') as string[],
    name: h.name ?? '',
    createdAt: Number(h.createdAt ?? 0),
    lastUsedAt: h.lastUsedAt === undefined || h.lastUsedAt === '' ? null : Number(h.lastUsedAt),
  });
  const getPasskey: MfaPart['getPasskey'] = async (id) => {
    const h = await client.hGetAll(k.passkey(id));
    return h.username === undefined ? null : toPasskey(id, h);
  };

  return {
    async getTotp(username) {
      const h = await client.hGetAll(k.totp(username));
      if (h.sealed === undefined) return null;
      return {
        sealedSecret: unb64(h.sealed) ?? new Uint8Array(0),
        enabled: h.enabled === '1',
        lastStep: Number(h.lastStep ?? 0),
      };
    },
    async setTotp(username, sealedSecret, enabled) {
      await run(SET_TOTP, [k.totp(username)], [b64(sealedSecret), enabled ? '1' : '0']);
    },
    async deleteTotp(username) {
      await client.del(k.totp(username));
    },
    async useTotpStep(username, step) {
      return (await run(USE_STEP, [k.totp(username)], [String(step)])) === 1;
    },
    async setRecoveryCodes(username, hashes) {
      const m = client.multi().del(k.recovery(username));
      if (hashes.length > 0) m.sAdd(k.recovery(username), hashes);
      await m.exec();
    },
    async useRecoveryCode(username, hash) {
      // SREM is atomic: of two requests with the same code, one removes it.
      return (await client.sRem(k.recovery(username), hash)) === 1;
    },
    async countRecoveryCodes(username) {
      return client.sCard(k.recovery(username));
    },
    async addPasskey(p) {
      const r = await run(
        ADD_PASSKEY,
        [k.passkey(p.credentialId), k.passkeys(p.username)],
        [
          p.credentialId,
          String(p.createdAt),
          'username',
          p.username,
          'publicKey',
          b64(p.publicKey),
          'counter',
          String(p.counter),
          'transports',
          JSON.stringify(p.transports),
          'name',
          p.name,
          'createdAt',
          String(p.createdAt),
          'lastUsedAt',
          p.lastUsedAt === null ? '' : String(p.lastUsedAt),
        ],
      );
      return r === 1;
    },
    getPasskey,
    async listPasskeys(username) {
      const ids = await client.zRange(k.passkeys(username), 0, -1);
      const out: PasskeyRecord[] = [];
      for (const id of ids) {
        const p = await getPasskey(id);
        if (p) out.push(p);
      }
      return out;
    },
    async renamePasskey(username, credentialId, name) {
      const r = await run(SET_OWN_PASSKEY, [k.passkey(credentialId)], [username, 'name', name]);
      return r === 1;
    },
    async removePasskey(username, credentialId) {
      const r = await run(
        REMOVE_PASSKEY,
        [k.passkey(credentialId), k.passkeys(username)],
        [username, credentialId],
      );
      return r === 1;
    },
    async usePasskey(credentialId, counter, at) {
      await run(USE_PASSKEY, [k.passkey(credentialId)], [String(counter), String(at)]);
    },
  };
}
