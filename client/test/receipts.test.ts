import { describe, expect, it } from 'vitest';
import { MAX_RECEIPT_IDS, ReceiptBatcher } from '../src/internal/receipts.ts';

type Sent = { user: string; device: string; status: 'delivered' | 'read'; ids: string[] };

function batcher(timing: { delayMs: number; maxDelayMs: number }) {
  const sent: Sent[] = [];
  const b = new ReceiptBatcher(
    (user, device, status, ids) => {
      sent.push({ user, device, status, ids });
      return Promise.resolve();
    },
    (err) => {
      throw err;
    },
    timing,
  );
  return { b, sent };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ReceiptBatcher', () => {
  it('sends an isolated receipt after the short delay', async () => {
    const { b, sent } = batcher({ delayMs: 20, maxDelayMs: 1000 });
    b.add('bob', 'd1', 'delivered', 'm1');
    await sleep(80);
    expect(sent).toEqual([{ user: 'bob', device: 'd1', status: 'delivered', ids: ['m1'] }]);
  });

  it('a steady stream of receipts goes out about once per maxDelay, each id exactly once', async () => {
    const { b, sent } = batcher({ delayMs: 30, maxDelayMs: 150 });
    const ids: string[] = [];
    const t0 = Date.now();
    for (let i = 0; Date.now() - t0 < 600; i++) {
      ids.push(`m${i}`);
      b.add('bob', 'd1', 'delivered', `m${i}`);
      await sleep(5);
    }
    await sleep(100);
    // One receipt every ~5 ms for 600 ms: a debounce alone would wait for the end; the bound
    // sends every ~150 ms instead (timer jitter allowed).
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.length).toBeLessThanOrEqual(8);
    expect(sent.flatMap((s) => s.ids)).toEqual(ids);
  });

  it('read supersedes a pending delivered receipt for the same message', async () => {
    const { b, sent } = batcher({ delayMs: 20, maxDelayMs: 1000 });
    b.add('bob', 'd1', 'delivered', 'm1');
    b.add('bob', 'd1', 'delivered', 'm2');
    b.add('bob', 'd1', 'read', 'm1');
    b.add('bob', 'd1', 'delivered', 'm1'); // a re-delivered copy after it was read
    b.add('bob', 'd2', 'delivered', 'm1'); // another device is another receipt
    await b.flush();
    expect(sent).toEqual([
      { user: 'bob', device: 'd1', status: 'delivered', ids: ['m2'] },
      { user: 'bob', device: 'd1', status: 'read', ids: ['m1'] },
      { user: 'bob', device: 'd2', status: 'delivered', ids: ['m1'] },
    ]);
    expect(b.pending).toBe(0);
  });

  it('splits more than 1000 ids into several receipts', async () => {
    const { b, sent } = batcher({ delayMs: 20, maxDelayMs: 1000 });
    for (let i = 0; i < MAX_RECEIPT_IDS + 5; i++) b.add('bob', 'd1', 'read', `m${i}`);
    await b.flush();
    expect(sent.map((s) => s.ids.length)).toEqual([MAX_RECEIPT_IDS, 5]);
  });
});
