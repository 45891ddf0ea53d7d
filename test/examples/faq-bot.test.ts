/**
 * The FAQ bot (examples/faq-bot, issue 17) end to end with the real key server and broker: the
 * matcher finds answers with a typo and refuses a bad file; the bot answers a DM, joins a room
 * from an invite link sent to it, and answers a question asked there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SottoClient } from '@sotto/client';
import { inviteLink } from '../../client/src/invite-link.ts';
import {
  makeClient,
  startServer,
  uname,
  until,
  type TestServer,
} from '../../client/test/support/server.ts';
import { runFaqBot } from '../../examples/faq-bot/src/bot.ts';
import { bestAnswer, FaqFileError, parseFaq } from '../../examples/faq-bot/src/faq.ts';

const faq = parseFaq(
  readFileSync(join(import.meta.dirname, '../../examples/faq-bot/faq.yaml'), 'utf8'),
);
let srv: TestServer;
const clients: SottoClient[] = [];

beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

async function started(kind: 'bot' | 'user') {
  const c = makeClient(srv);
  clients.push(c);
  const name = uname(kind === 'bot' ? 'faq' : 'ann');
  await c.register(name, 'correct horse battery', { kind: 'bot' });
  await c.start();
  return { c, name };
}

describe('FAQ bot', () => {
  it('matches questions by keywords with one typo allowed, and refuses a malformed file', () => {
    expect(bestAnswer(faq, 'I forgot my pasword, how to reset?')?.q).toBe(
      'How do I reset my password?',
    );
    expect(bestAnswer(faq, 'is the weather nice?')).toBeNull();
    expect(() => parseFaq('- q: only a question')).toThrow(FaqFileError);
    expect(() => parseFaq('just text')).toThrow(FaqFileError);
  });

  it('answers a DM, joins a room from an invite link, and answers a question there', async () => {
    const bot = await started('bot');
    const errors: unknown[] = [];
    runFaqBot(bot.c, faq, (e) => errors.push(e));
    const ann = await started('user');
    const got: { conversation: string; text: string }[] = [];
    ann.c.on('message', (m) => {
      if (!m.outgoing && typeof m.body.text === 'string')
        got.push({ conversation: m.conversationId, text: m.body.text });
    });

    await ann.c.sendText(bot.name, 'can the server read my messages?');
    await until(
      () => got.some((m) => m.text.startsWith('No. Messages are end-to-end')),
      'DM answer',
    );

    const groupId = await ann.c.groups.create('Help', []);
    const { secret } = await ann.c.groups.createInvite(groupId);
    await ann.c.sendText(bot.name, `join us: ${inviteLink(srv.httpUrl, groupId, secret)}`);
    await until(
      async () =>
        (await ann.c.groups.list())
          .find((g) => g.groupId === groupId)
          ?.members.includes(bot.name) ?? false,
      'the bot joins the room',
    );
    await ann.c.sendText(`group:${groupId}`, 'how do I verify a contact?');
    await until(
      () =>
        got.some((m) => m.conversation === `group:${groupId}` && m.text.includes('safety number')),
      'the answer in the room',
    );
    expect(errors).toEqual([]);
  });
});
