/**
 * SQLite store: second factors — the sealed TOTP secret with its last accepted step, hashed
 * recovery codes, and passkeys (WebAuthn credentials).
 */
import type { PasskeyRecord } from '../types.ts';
import type { MfaPart } from '../parts.ts';
import { buf, u8, type SqliteContext } from './schema.ts';

/** A `passkeys` row. */
interface PasskeyRow {
  credential_id: string;
  username: string;
  public_key: Buffer;
  counter: number;
  transports: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

function toPasskey(r: PasskeyRow): PasskeyRecord {
  return {
    credentialId: r.credential_id,
    username: r.username,
    publicKey: u8(r.public_key) ?? new Uint8Array(0),
    counter: r.counter,
    transports: JSON.parse(r.transports) as string[],
    name: r.name,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

/** TOTP, recovery codes and passkeys of the SQLite store. */
export function sqliteMfa({ db }: SqliteContext): MfaPart {
  return {
    async getTotp(username) {
      const r = db
        .prepare('SELECT sealed_secret, enabled, last_step FROM totp WHERE username = ?')
        .get(username) as { sealed_secret: Buffer; enabled: number; last_step: number } | undefined;
      if (!r) return null;
      return {
        sealedSecret: u8(r.sealed_secret) ?? new Uint8Array(0),
        enabled: r.enabled === 1,
        lastStep: r.last_step,
      };
    },
    async setTotp(username, sealedSecret, enabled) {
      db.prepare(
        `INSERT INTO totp (username, sealed_secret, enabled) VALUES (?, ?, ?)
         ON CONFLICT (username) DO UPDATE SET sealed_secret = excluded.sealed_secret, enabled = excluded.enabled`,
      ).run(username, buf(sealedSecret), enabled ? 1 : 0);
    },
    async deleteTotp(username) {
      db.prepare('DELETE FROM totp WHERE username = ?').run(username);
    },
    async useTotpStep(username, step) {
      // One statement: two requests with the same code cannot both pass.
      const r = db
        .prepare('UPDATE totp SET last_step = ? WHERE username = ? AND last_step < ?')
        .run(step, username, step);
      return r.changes === 1;
    },
    async setRecoveryCodes(username, hashes) {
      db.transaction(() => {
        db.prepare('DELETE FROM recovery_codes WHERE username = ?').run(username);
        const ins = db.prepare(
          'INSERT OR IGNORE INTO recovery_codes (username, code_hash) VALUES (?, ?)',
        );
        for (const h of hashes) ins.run(username, h);
      }).immediate();
    },
    async useRecoveryCode(username, hash) {
      return (
        db
          .prepare('DELETE FROM recovery_codes WHERE username = ? AND code_hash = ?')
          .run(username, hash).changes === 1
      );
    },
    async countRecoveryCodes(username) {
      const r = db
        .prepare('SELECT COUNT(*) AS n FROM recovery_codes WHERE username = ?')
        .get(username) as { n: number };
      return r.n;
    },
    async addPasskey(p) {
      const r = db
        .prepare(
          `INSERT INTO passkeys (credential_id, username, public_key, counter, transports, name, created_at, last_used_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(
          p.credentialId,
          p.username,
          buf(p.publicKey),
          p.counter,
          JSON.stringify(p.transports),
          p.name,
          p.createdAt,
          p.lastUsedAt,
        );
      return r.changes === 1;
    },
    async getPasskey(credentialId) {
      const r = db.prepare('SELECT * FROM passkeys WHERE credential_id = ?').get(credentialId) as
        PasskeyRow | undefined;
      return r ? toPasskey(r) : null;
    },
    async listPasskeys(username) {
      const rows = db
        .prepare('SELECT * FROM passkeys WHERE username = ? ORDER BY created_at, credential_id')
        .all(username) as PasskeyRow[];
      return rows.map(toPasskey);
    },
    async renamePasskey(username, credentialId, name) {
      return (
        db
          .prepare('UPDATE passkeys SET name = ? WHERE username = ? AND credential_id = ?')
          .run(name, username, credentialId).changes === 1
      );
    },
    async removePasskey(username, credentialId) {
      return (
        db
          .prepare('DELETE FROM passkeys WHERE username = ? AND credential_id = ?')
          .run(username, credentialId).changes === 1
      );
    },
    async usePasskey(credentialId, counter, at) {
      db.prepare('UPDATE passkeys SET counter = ?, last_used_at = ? WHERE credential_id = ?').run(
        counter,
        at,
        credentialId,
      );
    },
  };
}
