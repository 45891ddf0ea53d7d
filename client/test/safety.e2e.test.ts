/**
 * Blocking and reports end to end (issue 17) on a real key server and broker: the first operator
 * made by `--create-operator`; a block made on one device is followed by the blocker's other
 * device; the broker drops the blocked user's DMs and both devices drop their group messages;
 * a report reaches the operator's device end-to-end encrypted, matching the server's record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReceivedReport, SottoClient } from '../src/engine.ts';
import type { MessageRecord } from '../src/store/types.ts';
import {
  clientPool,
  codeOf,
  startServer,
  uname,
  until,
  type TestServer,
} from './support/server.ts';

let srv: TestServer;
const pool = clientPool(() => srv);
const PW = 'correct horse battery';
const OPERATOR = uname('olga');
let operatorPassword = '';

beforeAll(async () => {
  const lines: string[] = [];
  srv = await startServer({ args: ['--create-operator', OPERATOR], log: (l) => lines.push(l) });
  const m = lines.map((l) => /operator: created (\S+) with password (\S+)/.exec(l)).find(Boolean);
  expect(m?.[1]).toBe(OPERATOR);
  operatorPassword = m![2]!;
});
afterAll(async () => {
  await pool.closeAll();
  await srv?.close();
});

describe('blocking and reports', () => {
  it('drops a blocked user on every device of the blocker, and brings their report to the operator', async () => {
    const [b, m, c] = [uname('bob'), uname('mallory'), uname('carol')];
    const bob1 = pool.client();
    const mallory = pool.client();
    const carol = pool.client();
    const olga = pool.client();
    await bob1.register(b, PW);
    await mallory.register(m, PW);
    await carol.register(c, PW);
    await olga.login(OPERATOR, operatorPassword);
    for (const x of [bob1, mallory, carol, olga]) await x.start();
    const bob2 = pool.client();
    const session = await bob2.link.begin(b, PW);
    await bob1.link.approve(session.code);
    await session.linked;
    await bob2.start();

    const got = new Map<SottoClient, MessageRecord[]>([
      [bob1, []],
      [bob2, []],
    ]);
    for (const [x, list] of got) x.on('message', (r) => list.push(r));
    const groupId = await carol.groups.create('room', [b, m]);
    const conv = `group:${groupId}`;
    await until(
      async () =>
        (await bob2.store.getGroup(groupId)) !== null &&
        (await mallory.store.getGroup(groupId)) !== null,
      'everyone in the room',
    );
    const before = await mallory.sendText(conv, 'buy my stuff');
    await until(
      () => [...got.values()].every((l) => l.some((r) => r.id === before.id)),
      'both of bob’s devices show the message before the block',
    );

    // Block on device 1; device 2 follows through the key server's notice.
    expect(await bob1.safety.block(m)).toEqual([m]);
    await until(() => bob2.safety.isBlocked(m), 'bob’s second device follows the block');

    const dm = await mallory.sendText(b, 'answer me');
    const after = await mallory.sendText(conv, 'more spam');
    for (const x of [bob1, bob2])
      await until(() => x.store.hasSeen(after.id), 'the group message after the block arrived');
    for (const [x, list] of got) {
      expect(await x.store.getMessage(after.id)).toBeNull();
      expect(list.map((r) => r.id)).not.toContain(after.id);
      // The DM never reached bob: the broker dropped it, and mallory was not told.
      expect(await x.store.hasSeen(dm.id)).toBe(false);
    }
    // carol still gets mallory's messages.
    await until(async () => (await carol.store.getMessage(after.id)) !== null, 'carol gets it');

    // Carol reports mallory's message.
    const reports: ReceivedReport[] = [];
    olga.on('report', (r) => reports.push(r));
    const sent = await carol.safety.report(conv, [before.id], 'spam');
    expect(sent.operators).toEqual([OPERATOR]);
    await until(() => reports.length === 1, 'the operator receives the report');
    expect(reports[0]).toMatchObject({
      reportId: sent.reportId,
      reporter: c,
      reported: m,
      conversation: conv,
      note: 'spam',
      messages: [{ id: before.id, sender: m, text: 'buy my stuff', ts: before.timestamp }],
    });
    expect((await olga.safety.receivedReports()).map((r) => r.reportId)).toEqual([sent.reportId]);
    const listed = await olga.http.call<{ reports: { id: string; reporter: string }[] }>(
      'GET',
      '/v1/admin/reports',
      { auth: true },
    );
    expect(listed.reports).toContainEqual(
      expect.objectContaining({ id: sent.reportId, reporter: c }),
    );
    // A report about one's own message, or nothing, is refused before anything is sent.
    expect(await codeOf(carol.safety.report(conv, []))).toBe('BAD_INPUT');
    expect(await codeOf(mallory.safety.report(conv, [after.id]))).toBe('BAD_INPUT');

    // Unblocking: mallory's next message is shown again on both devices.
    await bob2.safety.unblock(m);
    await until(() => !bob1.safety.isBlocked(m), 'bob’s first device follows the unblock');
    const again = await mallory.sendText(conv, 'sorry');
    await until(
      () => [...got.values()].every((l) => l.some((r) => r.id === again.id)),
      'shown again after unblocking',
    );
  });
});
