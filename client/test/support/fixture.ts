/**
 * Test support: a test file's server and engines, set up and torn down by Vitest hooks (kept
 * apart from server.ts, which the client bench imports outside Vitest).
 */
import { afterAll, beforeAll } from 'vitest';
import type { SottoClient } from '../../src/engine.ts';
import type { SecurityNotice } from '../../src/internal/context.ts';
import type { MessageRecord } from '../../src/store/types.ts';
import { clientPool, startServer, uname, type TestServer } from './server.ts';

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

/** A registered, started engine and what it raised: messages shown, security notices, errors. */
export interface Person {
  client: SottoClient;
  name: string;
  shown: MessageRecord[];
  notices: SecurityNotice[];
  errors: unknown[];
  /** Users whose key change it reported. */
  keyChanges: string[];
  /** The texts of the messages shown, `<kind>` for others, in order. */
  texts(): string[];
}

/** Register `prefix`-something with `password` on an engine of `pool`, start it and watch it. */
export async function person(
  pool: ReturnType<typeof clientPool>,
  prefix: string,
  password: string,
): Promise<Person> {
  const client = pool.client();
  const name = uname(prefix);
  await client.register(name, password);
  await client.start();
  const shown: MessageRecord[] = [];
  const notices: SecurityNotice[] = [];
  const errors: unknown[] = [];
  const keyChanges: string[] = [];
  client.on('message', (m) => shown.push(m));
  client.on('securityNotice', (n) => notices.push(n));
  client.on('error', (e) => errors.push(e));
  client.on('keyChange', (k) => keyChanges.push(k.user));
  const texts = (): string[] =>
    shown.map((m) => (typeof m.body.text === 'string' ? m.body.text : `<${m.kind}>`));
  return { client, name, shown, notices, errors, keyChanges, texts };
}
