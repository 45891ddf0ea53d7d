/** Runs the abstract ClientStore suite on the SQLite store, plus its file-level guarantees. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../src/stores/sqlite.ts';
import { storeSuite } from './store.suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'sotto-store-'));
let n = 0;
const paths = new WeakMap<object, string>();

afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeSuite('sqlite', {
  async open() {
    n += 1;
    const path = join(dir, `db${n}.sqlite`);
    const store = createSqliteStore({ path });
    paths.set(store, path);
    return store;
  },
  async reopen(store) {
    const path = paths.get(store)!;
    await store.close();
    return createSqliteStore({ path });
  },
});

describe('sqlite store file', () => {
  it('is created with mode 0600 because it holds private keys', async () => {
    const path = join(dir, 'mode.sqlite');
    const store = createSqliteStore({ path });
    await store.setSetting('x', 1);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    await store.close();
  });
});
