/**
 * Test support: a test file's server and engines, set up and torn down by Vitest hooks (kept
 * apart from server.ts, which the client bench imports outside Vitest).
 */
import { afterAll, beforeAll } from 'vitest';
import { clientPool, startServer, type TestServer } from './server.ts';

/**
 * One test server for a test file, started before its tests and closed after them together
 * with every engine made by `pool`: `server()` is the running server.
 */
export function serverFixture(): {
  server: () => TestServer;
  pool: ReturnType<typeof clientPool>;
} {
  let srv: TestServer | undefined;
  const server = (): TestServer => {
    if (!srv) throw new Error('the test server is not running');
    return srv;
  };
  const pool = clientPool(server);
  beforeAll(async () => {
    srv = await startServer();
  });
  afterAll(async () => {
    await pool.closeAll();
    await srv?.close();
  });
  return { server, pool };
}
