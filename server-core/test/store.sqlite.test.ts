import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../src/store/sqlite.ts';
import { pushStoreSuite } from './store.push.suite.ts';
import { storeSuite } from './store.suite.ts';

storeSuite('sqlite', async () => ({ store: createSqliteStore({ filename: ':memory:' }) }));

pushStoreSuite('sqlite', async () => ({ store: createSqliteStore({ filename: ':memory:' }) }));

describe('sqlite store file', () => {
  it('keeps data across reopen and does not re-run migrations', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotto-ks-'));
    try {
      const file = join(dir, 'keyserver.db');
      const a = createSqliteStore({ filename: file });
      await a.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
      await a.close();
      const b = createSqliteStore({ filename: file });
      expect(await b.userExists('alice')).toBe(true);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the file and its WAL 0600 whoever opens it first (a broker sharing the key server’s file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotto-ks-'));
    const umask = process.umask(0o022);
    try {
      const file = join(dir, 'keyserver.db');
      const s = createSqliteStore({ filename: file });
      await s.createUser({ username: 'alice', passwordHash: 'h', createdAt: 1 });
      for (const f of [file, `${file}-wal`]) expect(statSync(f).mode & 0o777, f).toBe(0o600);
      await s.close();
    } finally {
      process.umask(umask);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
