import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, isPortClash, retryOnPortClash } from './ports.ts';

const held: Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

describe('test ports', () => {
  it('hands out distinct ports below the range outgoing connections take theirs from', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(20000);
      expect(p).toBeLessThan(32768);
    }
  });

  it('starts again on a fresh port when the chosen one was taken before the bind', async () => {
    const taken = await freePort();
    held.push(await listenOn(taken)); // someone got there first
    const tried: number[] = [];
    const srv = await retryOnPortClash(async () => {
      const port = tried.length === 0 ? taken : await freePort();
      tried.push(port);
      return listenOn(port);
    });
    held.push(srv);
    expect(tried).toHaveLength(2);
    expect(tried[0]).toBe(taken);
    expect(tried[1]).not.toBe(taken);
  });

  it('gives up after the last attempt and throws other errors at once', async () => {
    const taken = await freePort();
    held.push(await listenOn(taken));
    let calls = 0;
    const clash = await retryOnPortClash(() => {
      calls++;
      return listenOn(taken);
    }, 3).catch((e: unknown) => e);
    expect(isPortClash(clash)).toBe(true);
    expect(calls).toBe(3);

    calls = 0;
    const other = await retryOnPortClash(() => {
      calls++;
      return Promise.reject(new Error('bad config'));
    }).catch((e: unknown) => e);
    expect((other as Error).message).toBe('bad config');
    expect(calls).toBe(1);
  });
});
