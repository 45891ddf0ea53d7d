/**
 * The service worker's wake-ups one at a time, coalesced (`src/sw/coalesce.ts`): runs never
 * overlap, a burst of requests during a run shares one more run that starts after all of them,
 * and a run that throws does not stop the next. The worker itself runs in Chromium in
 * test/web/app-worker.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { coalesced } from '../src/sw/coalesce.ts';

/** A task whose runs the test finishes by hand, recording what each run was given. */
function manual() {
  const runs: { requests: string[]; finish: (err?: Error) => void }[] = [];
  let active = 0;
  let overlapped = false;
  const task = (requests: string[]) =>
    new Promise<void>((resolve, reject) => {
      if (++active > 1) overlapped = true;
      runs.push({
        requests,
        finish: (err) => {
          active--;
          if (err) reject(err);
          else resolve();
        },
      });
    });
  return { runs, task, overlapped: () => overlapped };
}

/** Let pending promise callbacks run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('coalesced wake-ups', () => {
  it('runs at once when idle, and again for each request after a run ended', async () => {
    const m = manual();
    const request = coalesced(m.task);
    const first = request('a');
    await settle();
    expect(m.runs.map((r) => r.requests)).toEqual([['a']]);
    m.runs[0]!.finish();
    await first;
    const second = request('b');
    await settle();
    expect(m.runs.map((r) => r.requests)).toEqual([['a'], ['b']]);
    m.runs[1]!.finish();
    await second;
  });

  it('serves a burst during a run with one more run after it, never two at once', async () => {
    const m = manual();
    const request = coalesced(m.task);
    const done: string[] = [];
    const track = (name: string) => void request(name).then(() => done.push(name));
    track('a');
    await settle();
    for (const name of ['b', 'c', 'd']) track(name);
    await settle();
    // The burst waits: it must be served by a run that starts after it arrived.
    expect(m.runs).toHaveLength(1);
    m.runs[0]!.finish();
    await settle();
    expect(done).toEqual(['a']);
    expect(m.runs.map((r) => r.requests)).toEqual([['a'], ['b', 'c', 'd']]);
    // A request during the second run starts a third after it, not beside it.
    track('e');
    await settle();
    expect(m.runs).toHaveLength(2);
    m.runs[1]!.finish();
    await settle();
    expect(done).toEqual(['a', 'b', 'c', 'd']);
    expect(m.runs.map((r) => r.requests)).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
    m.runs[2]!.finish();
    await settle();
    expect(done).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(m.overlapped()).toBe(false);
  });

  it('rejects the requests of a run that throws, and still starts the next', async () => {
    const m = manual();
    const request = coalesced(m.task);
    const first = request('a');
    await settle();
    const second = request('b');
    m.runs[0]!.finish(new Error('store gone'));
    await expect(first).rejects.toThrow('store gone');
    await settle();
    expect(m.runs.map((r) => r.requests)).toEqual([['a'], ['b']]);
    m.runs[1]!.finish();
    await expect(second).resolves.toBeUndefined();
  });

  it('runs a task that throws synchronously as a rejected run', async () => {
    const request = coalesced<string>(() => {
      throw new Error('at once');
    });
    await expect(request('a')).rejects.toThrow('at once');
    await expect(request('b')).rejects.toThrow('at once');
  });
});
