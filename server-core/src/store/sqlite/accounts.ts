/**
 * SQLite store: accounts, per-user settings and devices.
 */
import type { DeviceKind, DeviceRecord, UserSettings } from '../types.ts';
import type { AccountPart } from '../parts.ts';
import { buf, u8, type SqliteContext } from './schema.ts';

/** A `devices` row. */
export interface DeviceRow {
  username: string;
  device_id: string;
  kind: string;
  active: number;
  certificate: Buffer | null;
  signed_prekey: Buffer | null;
  kem_prekey: Buffer | null;
  log_index: number | null;
  updated_at: number;
  name: string | null;
  platform: string | null;
  created_at: number | null;
  last_active_at: number | null;
}

export function toDevice(r: DeviceRow): DeviceRecord {
  return {
    username: r.username,
    deviceId: r.device_id,
    kind: r.kind as DeviceKind,
    active: r.active === 1,
    certificate: u8(r.certificate),
    signedPrekey: u8(r.signed_prekey),
    kemPrekey: u8(r.kem_prekey),
    logIndex: r.log_index,
    updatedAt: r.updated_at,
    name: r.name,
    platform: r.platform === 'web' || r.platform === 'cli' ? r.platform : null,
    // Devices from before v4 have neither: their last change is the best answer there is.
    createdAt: r.created_at ?? r.updated_at,
    lastActiveAt: r.last_active_at ?? r.updated_at,
  };
}

/** Accounts, settings and devices of the SQLite store. */
export function sqliteAccounts({ db, now }: SqliteContext): AccountPart {
  const q = {
    getUser: db.prepare('SELECT * FROM users WHERE username = ?'),
    userExists: db.prepare('SELECT 1 FROM users WHERE username = ?'),
    settings: db.prepare('SELECT presence_visible FROM users WHERE username = ?'),
    getDevice: db.prepare('SELECT * FROM devices WHERE username = ? AND device_id = ?'),
    deviceActive: db.prepare('SELECT active FROM devices WHERE username = ? AND device_id = ?'),
  };

  const readSettings = (username: string): UserSettings | null => {
    const r = q.settings.get(username) as { presence_visible: number } | undefined;
    return r ? { presenceVisible: r.presence_visible === 1 } : null;
  };

  return {
    async createUser(user) {
      const r = db
        .prepare(
          'INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        )
        .run(user.username, user.passwordHash, user.createdAt);
      return r.changes === 1;
    },
    async getUser(username) {
      const r = q.getUser.get(username) as
        | { username: string; password_hash: string; uik: Buffer | null; created_at: number }
        | undefined;
      if (!r) return null;
      return {
        username: r.username,
        passwordHash: r.password_hash,
        uik: u8(r.uik),
        createdAt: r.created_at,
      };
    },
    async setPasswordHash(username, passwordHash) {
      db.prepare('UPDATE users SET password_hash = ? WHERE username = ?').run(
        passwordHash,
        username,
      );
    },
    async setUserIdentity(username, uik) {
      db.prepare('UPDATE users SET uik = ? WHERE username = ?').run(buf(uik), username);
    },
    async getUserSettings(username) {
      return readSettings(username);
    },
    async updateUserSettings(username, patch) {
      if (patch.presenceVisible !== undefined) {
        db.prepare('UPDATE users SET presence_visible = ? WHERE username = ?').run(
          patch.presenceVisible ? 1 : 0,
          username,
        );
      }
      return readSettings(username);
    },
    async activateDevice(username, deviceId, login) {
      const at = login?.at ?? now();
      db.prepare(
        `INSERT INTO devices (username, device_id, active, updated_at, name, platform, created_at, last_active_at)
         VALUES (@username, @deviceId, 1, @at, @name, @platform, @at, @at)
         ON CONFLICT (username, device_id) DO UPDATE SET active = 1,
           name = COALESCE(name, excluded.name),
           platform = COALESCE(excluded.platform, platform),
           last_active_at = excluded.last_active_at`,
      ).run({
        username,
        deviceId,
        at,
        name: login?.name ?? null,
        platform: login?.platform ?? null,
      });
    },
    async setDeviceName(username, deviceId, name) {
      return (
        db
          .prepare('UPDATE devices SET name = ? WHERE username = ? AND device_id = ?')
          .run(name, username, deviceId).changes === 1
      );
    },
    async touchDevice(username, deviceId, at) {
      db.prepare(
        'UPDATE devices SET last_active_at = MAX(COALESCE(last_active_at, 0), ?) WHERE username = ? AND device_id = ?',
      ).run(at, username, deviceId);
    },
    async removeDevice(username, deviceId) {
      return db
        .transaction(() => {
          db.prepare('DELETE FROM one_time_prekeys WHERE username = ? AND device_id = ?').run(
            username,
            deviceId,
          );
          return (
            db
              .prepare('DELETE FROM devices WHERE username = ? AND device_id = ?')
              .run(username, deviceId).changes === 1
          );
        })
        .immediate();
    },
    async getDevice(username, deviceId) {
      const r = q.getDevice.get(username, deviceId) as DeviceRow | undefined;
      return r ? toDevice(r) : null;
    },
    async listDevices(username) {
      const rows = db
        .prepare('SELECT * FROM devices WHERE username = ? ORDER BY device_id')
        .all(username) as DeviceRow[];
      return rows.map(toDevice);
    },
    async deactivateDevice(username, deviceId) {
      db.transaction(() => {
        db.prepare(
          `UPDATE devices SET active = 0, certificate = NULL, signed_prekey = NULL, kem_prekey = NULL,
           log_index = NULL, updated_at = ? WHERE username = ? AND device_id = ?`,
        ).run(now(), username, deviceId);
        db.prepare('DELETE FROM one_time_prekeys WHERE username = ? AND device_id = ?').run(
          username,
          deviceId,
        );
      }).immediate();
    },
    async removeOtherDevices(username, keep) {
      return db
        .transaction(() => {
          const ids = (
            db
              .prepare('SELECT device_id FROM devices WHERE username = ? AND device_id <> ?')
              .all(username, keep) as { device_id: string }[]
          ).map((r) => r.device_id);
          db.prepare('DELETE FROM devices WHERE username = ? AND device_id <> ?').run(
            username,
            keep,
          );
          db.prepare('DELETE FROM one_time_prekeys WHERE username = ? AND device_id <> ?').run(
            username,
            keep,
          );
          return ids;
        })
        .immediate();
    },
    async setDeviceKeys(username, deviceId, keys) {
      db.prepare(
        `INSERT INTO devices (username, device_id, kind, active, certificate, signed_prekey, kem_prekey, log_index, updated_at)
         VALUES (@username, @deviceId, @kind, 1, @certificate, @signedPrekey, @kemPrekey, @logIndex, @now)
         ON CONFLICT (username, device_id) DO UPDATE SET
           kind = excluded.kind,
           certificate = excluded.certificate,
           signed_prekey = COALESCE(excluded.signed_prekey, signed_prekey),
           kem_prekey = COALESCE(excluded.kem_prekey, kem_prekey),
           log_index = COALESCE(excluded.log_index, log_index),
           updated_at = excluded.updated_at`,
      ).run({
        username,
        deviceId,
        kind: keys.kind,
        certificate: buf(keys.certificate),
        signedPrekey: keys.signedPrekey ? buf(keys.signedPrekey) : null,
        kemPrekey: keys.kemPrekey ? buf(keys.kemPrekey) : null,
        logIndex: keys.logIndex,
        now: now(),
      });
    },
    async isDeviceActive(username, deviceId) {
      const r = q.deviceActive.get(username, deviceId) as { active: number } | undefined;
      return r?.active === 1;
    },
    async userExists(username) {
      return q.userExists.get(username) !== undefined;
    },
  };
}
