import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  MAX_RECEIPT_IDS,
  ReceiptBatcher,
  type SentReceiptStatus,
} from '../src/internal/receipts.ts';

type Sent = {
  user: string;
  device: string;
  status: SentReceiptStatus;
  ids: string[];
  at: number;
};

function batcher(timing: { delayMs: number; maxDelayMs: number }, busy = () => false) {
  const sent: Sent[] = [];
  const b = new ReceiptBatcher(
    (user, device, status, ids) => {
      sent.push({ user, device, status, ids, at: Date.now() });
      return Promise.resolve();
    },
    (err) => {
      throw err;
    },
    { timing, busy },
  );
  return { b, sent };
}

describe('ReceiptBatcher', () => {
  // The batcher's timers are what is under test: a faked clock (setTimeout and Date.now, which
  // the batcher reads by default) makes "after the delay" and "once per maxDelay" exact
  // instead of depending on how busy the machine is.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends an isolated receipt after the short delay', async () => {
    const { b, sent } = batcher({ delayMs: 20, maxDelayMs: 1000 });
    b.add('bob', 'd1', 'delivered', 'm1');
    await vi.advanceTimersByTimeAsync(19);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([{ user: 'bob', device: 'd1', status: 'delivered', ids: ['m1'], at: 20 }]);
  });

  it('waits while more received messages are waiting to be handled, up to maxDelay', async () => {
    let backlog = 0;
    const { b, sent } = batcher({ delayMs: 20, maxDelayMs: 1000 }, () => backlog > 0);
    // A queued burst: a receive batch every 100 ms (longer than the quiet time), more waiting.
    backlog = 500;
    for (let i = 0; i < 5; i++) {
      b.add('bob', 'd1', 'delivered', `m${i}`);
      await vi.advanceTimersByTimeAsync(100);
      backlog -= 100;
    }
    // Without the backlog each batch went alone, 20 ms after it.
    expect(sent).toEqual([]);
    // The backlog is handled: one receipt for all, within the quiet time.
    await vi.advanceTimersByTimeAsync(20);
    expect(sent).toEqual([
      {
        user: 'bob',
        device: 'd1',
        status: 'delivered',
        ids: ['m0', 'm1', 'm2', 'm3', 'm4'],
        at: 520,
      },
    ]);
    // A backlog that never empties still gets its receipts every maxDelay.
    backlog = 1;
    b.add('bob', 'd1', 'delivered', 'm5');
    await vi.advanceTimersByTimeAsync(999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent.map((s) => s.ids)).toEqual([['m0', 'm1', 'm2', 'm3', 'm4'], ['m5']]);
    expect(sent[1]!.at).toBe(1520);
  });

  it('a steady stream of receipts goes out once per maxDelay, each id exactly once', async () => {
    const { b, sent } = batcher({ delayMs: 30, maxDelayMs: 150 });
    const ids: string[] = [];
    // One receipt every 5 ms for 600 ms: a debounce alone would wait for the end (one batch at
    // 625 ms); the bound sends every 150 ms instead.
    for (let i = 0; i < 120; i++) {
      ids.push(`m${i}`);
      b.add('bob', 'd1', 'delivered', `m${i}`);
      await vi.advanceTimersByTimeAsync(5);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(sent.map((s) => s.at)).toEqual([150, 300, 450, 600]);
    expect(sent.map((s) => s.ids.length)).toEqual([30, 30, 30, 30]);
    expect(sent.flatMap((s) => s.ids)).toEqual(ids);
  });

  it('read supersedes a pending delivered receipt for the same message', async () => {
    const { b, sent } = batcher({ delayMs: 20, maxDelayMs: 1000 });
    b.add('bob', 'd1', 'delivered', 'm1');
    b.add('bob', 'd1', 'delivered', 'm2');
    b.add('bob', 'd1', 'read', 'm1');
    b.add('bob', 'd1', 'delivered', 'm1'); // a re-delivered copy after it was read
    b.add('bob', 'd2', 'delivered', 'm1'); // another device is another receipt
    await b.flush(); // at once, at fake time 0
    expect(sent).toEqual([
      { user: 'bob', device: 'd1', status: 'delivered', ids: ['m2'], at: 0 },
      { user: 'bob', device: 'd1', status: 'read', ids: ['m1'], at: 0 },
      { user: 'bob', device: 'd2', status: 'delivered', ids: ['m1'], at: 0 },
    ]);
    expect(b.pending).toBe(0);
  });

  it('played supersedes pending read and delivered receipts, and is not undone by them', async () => {
    const { b, sent } = batcher({ delayMs: 20, maxDelayMs: 1000 });
    b.add('bob', 'd1', 'delivered', 'v1');
    b.add('bob', 'd1', 'read', 'v1');
    b.add('bob', 'd1', 'read', 'm2');
    b.add('bob', 'd1', 'played', 'v1');
    b.add('bob', 'd1', 'read', 'v1'); // the conversation marked read after the note was played
    b.add('bob', 'd1', 'delivered', 'v1');
    await b.flush();
    expect(sent).toEqual([
      { user: 'bob', device: 'd1', status: 'read', ids: ['m2'], at: 0 },
      { user: 'bob', device: 'd1', status: 'played', ids: ['v1'], at: 0 },
    ]);
  });

  it('splits more than 1000 ids into several receipts', async () => {
    const { b, sent } = batcher({ delayMs: 20, maxDelayMs: 1000 });
    for (let i = 0; i < MAX_RECEIPT_IDS + 5; i++) b.add('bob', 'd1', 'read', `m${i}`);
    await b.flush();
    expect(sent.map((s) => s.ids.length)).toEqual([MAX_RECEIPT_IDS, 5]);
  });
});
