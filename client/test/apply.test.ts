/**
 * The apply handlers (internal/apply/) on their own: a decrypted payload in, store ops and
 * effects out, with a memory store and no transport.
 */
import { describe, expect, it } from 'vitest';
import { Applier } from '../src/internal/apply/index.ts';
import { newEffects, type ApplyDeps, type Origin } from '../src/internal/apply/types.ts';
import type { ClientEvents, Ctx } from '../src/internal/context.ts';
import { Emitter } from '../src/internal/emitter.ts';
import type { Payload } from '../src/payload.ts';
import type { MessageRecord, StoreOp } from '../src/store/types.ts';
import { createMemoryStore } from '../src/stores/memory.ts';

const NOW = 1_700_000_000_000;

/** An applier over a memory store, as user `me`; the layers no handler here uses are absent. */
function setup(deps: Partial<Record<'pairwise' | 'outbox', unknown>> = {}) {
  const store = createMemoryStore();
  const events = new Emitter<ClientEvents>();
  const ctx = {
    store,
    events,
    now: () => NOW,
    options: { autoDeliveredReceipts: true },
    account: () => ({ username: 'me', deviceId: 'd0', kind: 'user' }),
  } as unknown as Ctx;
  const unused = new Proxy(
    {},
    {
      get: (_t, prop) => {
        throw new Error(`apply handler used an unexpected dependency: ${String(prop)}`);
      },
    },
  );
  const applier = new Applier({
    ctx,
    directory: unused,
    pairwise: deps.pairwise ?? unused,
    chain: unused,
    outbox: deps.outbox ?? unused,
    isBlocked: () => false,
  } as unknown as ApplyDeps);
  const run = async (payload: Payload, origin: Origin) => {
    const ops: StoreOp[] = [];
    const fx = newEffects();
    await applier.apply(payload, origin, ops, fx);
    return { ops, fx };
  };
  return { store, events, run };
}

const from = (user: string): Origin => ({
  conversationId: `dm:${user}`,
  user,
  device: 'd1',
  kind: 'user',
});

function message(id: string, sender: string): MessageRecord {
  return {
    conversationId: `dm:${sender}`,
    id,
    sender,
    senderDevice: 'd1',
    timestamp: NOW - 1000,
    receivedAt: NOW - 1000,
    kind: 'text',
    body: { text: 'original' },
    outgoing: false,
    unread: true,
    status: {},
    edited: false,
    deleted: false,
    reactions: {},
  };
}

describe('apply handlers', () => {
  it('stores a text message once, acknowledging every delivery', async () => {
    const { store, run } = setup();
    const p: Payload = { kind: 'text', id: 'm1', ts: NOW - 5, text: 'hi' };
    const first = await run(p, from('bob'));
    expect(first.ops.map((o) => o.op)).toEqual(['markSeen', 'putMessage']);
    expect(first.fx.acks).toEqual([{ user: 'bob', device: 'd1', id: 'm1' }]);
    await store.batch(first.ops);
    const again = await run(p, from('bob'));
    expect(again.ops).toEqual([]);
    expect(again.fx.acks).toHaveLength(1);
  });

  it("ignores an edit of someone else's message, and applies the sender's own", async () => {
    const { store, run } = setup();
    await store.batch([{ op: 'putMessage', message: message('m1', 'bob') }]);
    const forged = await run(
      { kind: 'edit', id: 'e1', ts: NOW, target: 'm1', text: 'rewritten' },
      from('mallory'),
    );
    expect(forged.ops.map((o) => o.op)).toEqual(['markSeen']);
    expect(forged.fx.after).toEqual([]);
    const own = await run(
      { kind: 'edit', id: 'e2', ts: NOW, target: 'm1', text: 'fixed' },
      from('bob'),
    );
    expect(own.ops[1]).toMatchObject({
      op: 'editMessage',
      messageId: 'm1',
      body: { text: 'fixed' },
    });
  });

  it('a reaction to an unknown message changes nothing; to a stored one sets the emoji', async () => {
    const { store, run } = setup();
    const none = await run(
      { kind: 'reaction', id: 'r1', ts: NOW, target: 'nope', emoji: '👍' },
      from('bob'),
    );
    expect(none.ops.map((o) => o.op)).toEqual(['markSeen']);
    await store.batch([{ op: 'putMessage', message: message('m1', 'me') }]);
    const some = await run(
      { kind: 'reaction', id: 'r2', ts: NOW, target: 'm1', emoji: '👍' },
      from('bob'),
    );
    expect(some.ops[1]).toEqual({ op: 'react', messageId: 'm1', user: 'bob', emoji: '👍' });
  });

  it('receipts set status and clear the outbox entry, without being acknowledged themselves', async () => {
    const resent: unknown[] = [];
    const { events, run } = setup({
      pairwise: { senderKeyIds: new Set(['sk1']) },
      outbox: { resendTo: (...args: unknown[]) => void resent.push(args) },
    });
    const seen: unknown[] = [];
    events.on('receipt', (r) => seen.push(r));
    const r = await run(
      { kind: 'receipt', id: 'x', ts: NOW, status: 'delivered', ids: ['m1'] },
      from('bob'),
    );
    expect(r.ops).toEqual([
      { op: 'setReceipt', messageId: 'm1', recipient: 'bob:d1', status: 'delivered' },
      { op: 'removeOutbox', messageId: 'm1', recipient: 'bob', recipientDevice: 'd1' },
    ]);
    expect(r.fx.acks).toEqual([]);
    for (const f of r.fx.after) f();
    expect(seen).toEqual([{ messageId: 'm1', user: 'bob', device: 'd1', status: 'delivered' }]);
    expect(resent).toEqual([]);
    // The receipt for a sender key we handed out: that device's group messages go again now.
    const sk = await run(
      { kind: 'receipt', id: 'y', ts: NOW, status: 'delivered', ids: ['sk1'] },
      from('bob'),
    );
    for (const f of sk.fx.after) f();
    expect(resent).toEqual([['bob', 'd1', true]]);
  });

  it('a sync copy from someone else is ignored; typing is an event only', async () => {
    const { events, run } = setup();
    const sync = await run(
      {
        kind: 'sync',
        id: 's1',
        ts: NOW,
        conversation: 'dm:carol',
        inner: { kind: 'text', id: 'm9', ts: NOW, text: 'spoofed' },
      },
      from('bob'),
    );
    expect(sync.ops.map((o) => o.op)).toEqual(['markSeen']);
    const typing: unknown[] = [];
    events.on('typing', (t) => typing.push(t));
    const t = await run({ kind: 'typing', id: 't1', ts: NOW, typing: true }, from('bob'));
    expect(t.ops).toEqual([]);
    for (const f of t.fx.after) f();
    expect(typing).toEqual([{ conversationId: 'dm:bob', user: 'bob', typing: true, at: NOW }]);
  });

  it('keeps an unknown kind as an unknown record that is not unread', async () => {
    const { run } = setup();
    const u = await run(
      { kind: 'unknown', id: 'u1', ts: NOW, originalKind: 'poll', raw: { q: 1 } },
      from('bob'),
    );
    const put = u.ops.find((o) => o.op === 'putMessage');
    expect(put).toMatchObject({ message: { kind: 'unknown', unread: false } });
  });
});
