/**
 * SQLite store: issued, revoked and refresh tokens.
 */
import type { IssuedToken, RefreshTokenRecord } from '../types.ts';
import type { TokenPart } from '../parts.ts';
import type { SqliteContext } from './schema.ts';

/** Access and refresh tokens of the SQLite store. */
export function sqliteTokens({ db, now }: SqliteContext): TokenPart {
  const q = {
    isRevoked: db.prepare('SELECT 1 FROM revoked_tokens WHERE jti = ? AND expires_at > ?'),
    revoke: db.prepare(
      'INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
    ),
    tokenUsable: db.prepare(
      `SELECT 1 FROM devices WHERE username = ? AND device_id = ? AND active = 1
         AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ? AND expires_at > ?)`,
    ),
  };

  const revokeWhere = (where: string, args: string[]): IssuedToken[] => {
    const t = now();
    const rows = db
      .prepare(`SELECT * FROM issued_tokens WHERE ${where} AND expires_at > ?`)
      .all(...args, t) as {
      jti: string;
      username: string;
      device_id: string;
      expires_at: number;
    }[];
    for (const r of rows) q.revoke.run(r.jti, r.expires_at);
    db.prepare(`DELETE FROM issued_tokens WHERE ${where}`).run(...args);
    db.prepare(`UPDATE refresh_families SET revoked = 1 WHERE ${where}`).run(...args);
    return rows.map((r) => ({
      jti: r.jti,
      username: r.username,
      deviceId: r.device_id,
      expiresAt: r.expires_at,
    }));
  };

  return {
    async recordAccessToken(token) {
      const t = now();
      db.prepare('DELETE FROM issued_tokens WHERE expires_at <= ?').run(t);
      db.prepare(
        'INSERT OR REPLACE INTO issued_tokens (jti, username, device_id, expires_at) VALUES (?, ?, ?, ?)',
      ).run(token.jti, token.username, token.deviceId, token.expiresAt);
    },
    async revokeToken(jti, expiresAt) {
      db.prepare('DELETE FROM revoked_tokens WHERE expires_at <= ?').run(now());
      q.revoke.run(jti, expiresAt);
    },
    async revokeDeviceTokens(username, deviceId) {
      return db
        .transaction(() => revokeWhere('username = ? AND device_id = ?', [username, deviceId]))
        .immediate();
    },
    async revokeUserTokens(username) {
      return db.transaction(() => revokeWhere('username = ?', [username])).immediate();
    },
    async putRefreshToken(r: RefreshTokenRecord) {
      db.transaction(() => {
        db.prepare('DELETE FROM refresh_tokens WHERE expires_at <= ?').run(now());
        db.prepare(
          'INSERT INTO refresh_families (family_id, username, device_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        ).run(r.familyId, r.username, r.deviceId);
        db.prepare(
          'INSERT INTO refresh_tokens (token_hash, family_id, username, device_id, expires_at, auth_time) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(r.tokenHash, r.familyId, r.username, r.deviceId, r.expiresAt, r.authTime ?? null);
      }).immediate();
    },
    async useRefreshToken(tokenHash, t) {
      return db
        .transaction(() => {
          const row = db
            .prepare(
              `SELECT t.*, f.revoked FROM refresh_tokens t JOIN refresh_families f USING (family_id)
               WHERE t.token_hash = ?`,
            )
            .get(tokenHash) as
            | {
                token_hash: string;
                family_id: string;
                username: string;
                device_id: string;
                expires_at: number;
                auth_time: number | null;
                used: number;
                revoked: number;
              }
            | undefined;
          if (!row || row.expires_at <= t) return { status: 'unknown' as const };
          const record: RefreshTokenRecord = {
            tokenHash: row.token_hash,
            familyId: row.family_id,
            username: row.username,
            deviceId: row.device_id,
            expiresAt: row.expires_at,
            ...(row.auth_time === null ? {} : { authTime: row.auth_time }),
          };
          if (row.used === 1 || row.revoked === 1) return { status: 'reused' as const, record };
          db.prepare('UPDATE refresh_tokens SET used = 1 WHERE token_hash = ?').run(tokenHash);
          return { status: 'ok' as const, record };
        })
        .immediate();
    },
    async revokeRefreshFamily(familyId) {
      db.prepare('UPDATE refresh_families SET revoked = 1 WHERE family_id = ?').run(familyId);
    },
    async isTokenRevoked(jti) {
      return q.isRevoked.get(jti, now()) !== undefined;
    },
    async isTokenUsable(jti, username, deviceId) {
      return q.tokenUsable.get(username, deviceId, jti, now()) !== undefined;
    },
  };
}
