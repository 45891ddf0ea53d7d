import { describe, expect, it, vi } from 'vitest';
import { ChatSession, TYPING_TTL_MS } from '../src/services/session.ts';
import { FRAME_MS } from '../src/services/pacing.ts';
import { RecordingMessenger, freshStore, until } from './support/fixtures.ts';

function session() {
  const local = freshStore();
  const messenger = new RecordingMessenger(local);
  return { messenger, s: new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' }) };
}

describe('ChatSession', () => {
  it('coalesces a burst of 5,000 history events into a handful of renders', async () => {
    const { messenger, s } = session();
    const seen: string[][] = [];
    s.addEventListener('history', (e) => {
      seen.push([...(e as CustomEvent<{ conversations: Set<string> }>).detail.conversations]);
    });
    for (let i = 0; i < 5000; i++) {
      messenger.emit({ type: 'history', conversationIds: [i % 2 ? 'dm:bob' : 'dm:carol'] });
    }
    await until(() => seen.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(new Set(seen.flat())).toEqual(new Set(['dm:bob', 'dm:carol']));
    s.dispose();
  });

  it('tells the views of an isolated change in the task that made it, a burst per frame', async () => {
    // The clock stands still, so "within a frame" holds however slowly a loaded machine runs
    // this (with the real clock the second change came 17 ms later under load and ran at once).
    const clock = vi.spyOn(performance, 'now').mockReturnValue(1_000);
    try {
      const { messenger, s } = session();
      let seen = 0;
      s.addEventListener('history', () => seen++);
      messenger.emit({ type: 'history', conversationIds: ['dm:bob'] });
      // Only the microtasks of this task ran: no timer, no frame.
      await Promise.resolve();
      expect(seen).toBe(1);
      // A change within a frame of it waits for the next frame (with any others meanwhile).
      messenger.emit({ type: 'history', conversationIds: ['dm:carol'] });
      await Promise.resolve();
      expect(seen).toBe(1);
      await until(() => seen === 2);
      // A frame or more after the last one, a change goes out in its own task again.
      clock.mockReturnValue(1_000 + Math.ceil(FRAME_MS));
      messenger.emit({ type: 'history', conversationIds: ['dm:dave'] });
      await Promise.resolve();
      expect(seen).toBe(3);
      s.dispose();
    } finally {
      clock.mockRestore();
    }
  });

  it('shows typing until it stops or expires', () => {
    const { messenger, s } = session();
    messenger.emit({
      type: 'typing',
      conversationId: 'dm:bob',
      sender: 'bob',
      typing: true,
      at: Date.now(),
    });
    expect(s.typingIn('dm:bob')).toEqual(['bob']);
    messenger.emit({
      type: 'typing',
      conversationId: 'dm:bob',
      sender: 'bob',
      typing: false,
      at: Date.now(),
    });
    expect(s.typingIn('dm:bob')).toEqual([]);
    messenger.emit({
      type: 'typing',
      conversationId: 'dm:bob',
      sender: 'bob',
      typing: true,
      at: Date.now(),
    });
    s.typing.get('dm:bob')?.set('bob', Date.now() - 1);
    expect(s.typingIn('dm:bob')).toEqual([]);
    expect(TYPING_TTL_MS).toBeGreaterThan(3000);
    s.dispose();
  });

  it('ends the typing indicator when that person’s message arrives', () => {
    const { messenger, s } = session();
    messenger.emit({
      type: 'typing',
      conversationId: 'dm:bob',
      sender: 'bob',
      typing: true,
      at: Date.now(),
    });
    messenger.emit({
      type: 'history',
      conversationIds: ['dm:bob'],
      incoming: [{ conversationId: 'dm:bob', id: 'x', sender: 'bob', preview: 'hi', at: 1 }],
    });
    expect(s.typingIn('dm:bob')).toEqual([]);
    s.dispose();
  });

  it('does not restart typing for a “typing” sent before a message that arrived first', () => {
    const { messenger, s } = session();
    const groupId = 'group:g1';
    messenger.emit({
      type: 'history',
      conversationIds: [groupId],
      incoming: [{ conversationId: groupId, id: 'x', sender: 'bob', preview: 'hi', at: 2000 }],
    });
    // Sent at 1500, before the message, but delivered after it: stale.
    messenger.emit({
      type: 'typing',
      conversationId: groupId,
      sender: 'bob',
      typing: true,
      at: 1500,
    });
    expect(s.typingIn(groupId)).toEqual([]);
    // Carol's message does not silence Bob; Bob typing again after his message shows.
    messenger.emit({
      type: 'typing',
      conversationId: groupId,
      sender: 'carol',
      typing: true,
      at: 1500,
    });
    messenger.emit({
      type: 'typing',
      conversationId: groupId,
      sender: 'bob',
      typing: true,
      at: 2500,
    });
    expect(s.typingIn(groupId).sort()).toEqual(['bob', 'carol']);
    s.dispose();
  });

  it('re-renders live state for a message only when it ends someone’s typing', async () => {
    const { messenger, s } = session();
    let live = 0;
    s.addEventListener('live', () => live++);
    const incoming = (sender: string) =>
      messenger.emit({
        type: 'history',
        conversationIds: ['dm:bob'],
        incoming: [{ conversationId: 'dm:bob', id: 'x', sender, preview: 'hi', at: 1 }],
      });
    for (let i = 0; i < 100; i++) incoming('bob');
    await new Promise((r) => setTimeout(r, 50));
    expect(live).toBe(0);
    messenger.emit({
      type: 'typing',
      conversationId: 'dm:bob',
      sender: 'bob',
      typing: true,
      at: Date.now(),
    });
    await until(() => live === 1);
    incoming('bob');
    await until(() => live === 2);
    s.dispose();
  });

  it('tracks presence, key changes and connection state', () => {
    const { messenger, s } = session();
    messenger.emit({ type: 'presence', username: 'bob', online: false, lastSeen: 123 });
    messenger.emit({ type: 'keyChange', username: 'bob', wasVerified: true });
    messenger.emit({ type: 'connection', state: 'reconnecting' });
    expect(s.presence.get('bob')).toEqual({ online: false, lastSeen: 123 });
    expect(s.keyChanges.get('bob')).toBe(true);
    expect(s.connection).toBe('reconnecting');
    s.dispose();
    messenger.emit({ type: 'connection', state: 'online' });
    expect(s.connection).toBe('reconnecting');
  });
});

describe('singleFlight', () => {
  it('never overlaps runs and folds calls made during a run into one more run', async () => {
    const { singleFlight } = await import('../src/services/history.ts');
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const go = singleFlight(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      await new Promise((r) => setTimeout(r, 20));
      running--;
    });
    for (let i = 0; i < 50; i++) go();
    await until(() => runs === 2 && running === 0);
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).toBe(2);
    expect(maxRunning).toBe(1);
  });
});

describe('throttled', () => {
  it('runs an isolated call at once, a burst at most once per gap, and once after the last call', async () => {
    const { throttled } = await import('../src/services/history.ts');
    let t = 1000;
    const starts: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const go = throttled(
      async () => {
        starts.push(t);
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      },
      100,
      () => t,
    );
    go();
    expect(starts).toEqual([1000]); // at once
    await until(() => running === 0);
    // A burst within the gap: folded into one run when the gap is over.
    for (let i = 0; i < 30; i++) {
      t += 2;
      go();
    }
    await new Promise((r) => setTimeout(r, 30));
    expect(starts).toHaveLength(1);
    t = 1100;
    await until(() => starts.length === 2 && running === 0, 1000);
    // Well after the last run: at once again.
    t = 5000;
    go();
    expect(starts).toEqual([1000, 1100, 5000]);
    await until(() => running === 0);
    expect(maxRunning).toBe(1);
  });
});
