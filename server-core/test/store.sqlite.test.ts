import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSqliteStore } from '../src/store/sqlite.ts';
import { storeSuite } from './store.suite.ts';

storeSuite('sqlite', async () => ({ store: createSqliteStore({ filename: ':memory:' }) }));

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
});
