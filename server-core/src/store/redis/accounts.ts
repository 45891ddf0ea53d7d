/**
 * Redis store: accounts, per-user settings and devices.
 */
import type { DeviceKind, DeviceRecord, UserSettings } from '../types.ts';
import type { AccountPart } from '../parts.ts';
import { b64, otkKeys, script, unb64, type RedisContext } from './support.ts';

const CREATE_USER = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'passwordHash', ARGV[1], 'createdAt', ARGV[2])
return 1`);

// KEYS: user hash. ARGV: field, value. Sets the field only when the account exists.
const SET_IF_USER = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`);

// KEYS: device hash, user's device set. ARGV: username, device id, now, name, platform ('' = none).
const ACTIVATE_DEVICE = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'kind', 'user', 'updatedAt', ARGV[3], 'createdAt', ARGV[3])
end
redis.call('HSET', KEYS[1], 'active', '1', 'username', ARGV[1], 'deviceId', ARGV[2], 'lastActiveAt', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSETNX', KEYS[1], 'name', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'platform', ARGV[5]) end
redis.call('SADD', KEYS[2], ARGV[2])
return 1`);

// KEYS: device hash. ARGV: field, value. Only an existing device changes.
const SET_IF_DEVICE = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`);

/** Accounts, settings and devices of the Redis store. */
export function redisAccounts({ client, k, now, run }: RedisContext): AccountPart {
  function toDevice(u: string, d: string, h: Record<string, string>): DeviceRecord {
    return {
      username: u,
      deviceId: d,
      kind: (h.kind ?? 'user') as DeviceKind,
      active: h.active === '1',
      certificate: unb64(h.certificate),
      signedPrekey: unb64(h.signedPrekey),
      kemPrekey: unb64(h.kemPrekey),
      logIndex: h.logIndex === undefined ? null : Number(h.logIndex),
      updatedAt: Number(h.updatedAt ?? 0),
      name: h.name ?? null,
      platform: h.platform === 'web' || h.platform === 'cli' ? h.platform : null,
      // Devices stored before these fields: their last change is the best answer there is.
      createdAt: Number(h.createdAt ?? h.updatedAt ?? 0),
      lastActiveAt: Number(h.lastActiveAt ?? h.updatedAt ?? 0),
    };
  }

  async function readSettings(username: string): Promise<UserSettings | null> {
    const [hash, hidden] = await client.hmGet(k.user(username), ['passwordHash', 'presenceHidden']);
    if (hash === null || hash === undefined) return null;
    return { presenceVisible: hidden !== '1' };
  }

  const getDevice: AccountPart['getDevice'] = async (username, deviceId) => {
    const h = await client.hGetAll(k.device(username, deviceId));
    return h.active === undefined ? null : toDevice(username, deviceId, h);
  };

  return {
    async createUser(user) {
      const r = await run(
        CREATE_USER,
        [k.user(user.username)],
        [user.passwordHash, String(user.createdAt)],
      );
      return r === 1;
    },
    async getUser(username) {
      const h = await client.hGetAll(k.user(username));
      if (h.passwordHash === undefined) return null;
      return {
        username,
        passwordHash: h.passwordHash,
        uik: unb64(h.uik),
        createdAt: Number(h.createdAt),
      };
    },
    async setPasswordHash(username, passwordHash) {
      if (await client.exists(k.user(username))) {
        await client.hSet(k.user(username), 'passwordHash', passwordHash);
      }
    },
    async setUserIdentity(username, uik) {
      if (await client.exists(k.user(username))) {
        await client.hSet(k.user(username), 'uik', b64(uik));
      }
    },
    async getUserSettings(username) {
      return readSettings(username);
    },
    async updateUserSettings(username, patch) {
      if (patch.presenceVisible !== undefined) {
        // Only for an existing account (the Lua check keeps a racing delete from recreating it).
        await run(
          SET_IF_USER,
          [k.user(username)],
          ['presenceHidden', patch.presenceVisible ? '0' : '1'],
        );
      }
      return readSettings(username);
    },
    getDevice,
    async activateDevice(username, deviceId, login) {
      await run(
        ACTIVATE_DEVICE,
        [k.device(username, deviceId), k.devices(username)],
        [username, deviceId, String(login?.at ?? now()), login?.name ?? '', login?.platform ?? ''],
      );
    },
    async setDeviceName(username, deviceId, name) {
      return (await run(SET_IF_DEVICE, [k.device(username, deviceId)], ['name', name])) === 1;
    },
    async touchDevice(username, deviceId, at) {
      await run(SET_IF_DEVICE, [k.device(username, deviceId)], ['lastActiveAt', String(at)]);
    },
    async removeDevice(username, deviceId) {
      const r = await client
        .multi()
        .del([k.device(username, deviceId), ...otkKeys(k, username, deviceId)])
        .sRem(k.devices(username), deviceId)
        .exec();
      return Number(r[0]) > 0;
    },
    async listDevices(username) {
      const ids = (await client.sMembers(k.devices(username))).sort();
      const out: DeviceRecord[] = [];
      for (const d of ids) {
        const dev = await getDevice(username, d);
        if (dev) out.push(dev);
      }
      return out;
    },
    async deactivateDevice(username, deviceId) {
      if (!(await client.exists(k.device(username, deviceId)))) return;
      await client
        .multi()
        .hSet(k.device(username, deviceId), { active: '0', updatedAt: String(now()) })
        .hDel(k.device(username, deviceId), [
          'certificate',
          'signedPrekey',
          'kemPrekey',
          'logIndex',
        ])
        .del(otkKeys(k, username, deviceId))
        .exec();
    },
    async removeOtherDevices(username, keep) {
      const ids = (await client.sMembers(k.devices(username))).filter((d) => d !== keep);
      if (ids.length === 0) return [];
      const m = client.multi();
      for (const d of ids) {
        m.del([k.device(username, d), ...otkKeys(k, username, d)]);
        m.sRem(k.devices(username), d);
      }
      await m.exec();
      return ids;
    },
    async setDeviceKeys(username, deviceId, keys) {
      const key = k.device(username, deviceId);
      const fields: Record<string, string> = {
        username,
        deviceId,
        kind: keys.kind,
        certificate: b64(keys.certificate),
        updatedAt: String(now()),
      };
      if (keys.signedPrekey) fields.signedPrekey = b64(keys.signedPrekey);
      if (keys.kemPrekey) fields.kemPrekey = b64(keys.kemPrekey);
      if (keys.logIndex !== null) fields.logIndex = String(keys.logIndex);
      await client
        .multi()
        .hSetNX(key, 'active', '1')
        .hSet(key, fields)
        .sAdd(k.devices(username), deviceId)
        .exec();
    },
    async isDeviceActive(username, deviceId) {
      return (await client.hGet(k.device(username, deviceId), 'active')) === '1';
    },
    async userExists(username) {
      return (await client.exists(k.user(username))) === 1;
    },
  };
}
