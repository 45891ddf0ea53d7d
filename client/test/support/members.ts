/**
 * Bench and test support: member accounts with published keys but no connection (their inboxes are kept
 * by nobody), so a group benchmark measures the active devices' work only. Few prekeys each and
 * 8 registrations at a time keep the set-up short.
 */
import { createClient } from '../../src/engine.ts';
import { createMemoryStore } from '../../src/stores/memory.ts';
import { uname } from './server.ts';

/** Register `n` such accounts on the key server at `httpUrl`; returns their names. */
export async function passiveMembers(
  httpUrl: string,
  n: number,
  password: string,
): Promise<string[]> {
  const names: string[] = [];
  const queue = Array.from({ length: n }, () => uname('m'));
  const worker = async () => {
    for (let u = queue.pop(); u; u = queue.pop()) {
      const c = createClient({
        store: createMemoryStore(),
        http: { baseUrl: httpUrl },
        options: { oneTimePrekeys: 2, oneTimeKemPrekeys: 1 },
      });
      await c.register(u, password, { kind: 'bot' });
      // Nothing of it is needed any more: 1,000 open engines ran the bench process out of heap.
      await c.close();
      names.push(u);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return names;
}
