/**
 * `sotto send` and `sotto listen`: sending one text and waiting for delivery,
 * and printing what arrives as JSON lines.
 */
import { groupConversation } from '@sotto/crypto';
import type { SottoClient } from '../../engine.ts';
import type { Command } from '../args.ts';
import { open, reportConnection, startOnline, waitForSignal, withClient } from '../connect.ts';
import { EXIT, UsageError } from '../exit.ts';
import { messageLine, print } from '../output.ts';
import { groupId } from './groups.ts';

/** How far a sent message got by the deadline. */
interface Confirmation {
  /** Every recipient device (and our own other devices) confirmed it: it left the outbox. */
  delivered: boolean;
  /** Devices of other users that confirmed it. */
  confirmed: number;
  /** Devices (any user, ours included) that have not confirmed it yet. */
  pending: number;
}

/**
 * Wait until the message left the outbox (every device confirmed it with a `delivered` receipt)
 * or `deadline`, and count the devices of other users that confirmed it meanwhile.
 */
async function waitDelivered(
  client: SottoClient,
  id: string,
  deadline: number,
): Promise<Confirmation> {
  const me = client.account?.username;
  const key = (e: { recipient: string; recipientDevice: string }) =>
    `${e.recipient}:${e.recipientDevice}`;
  const entries = async () => (await client.store.listOutbox()).filter((e) => e.messageId === id);
  const others = (await entries()).filter((e) => e.recipient !== me).map(key);
  for (;;) {
    const pending = await entries();
    const left = new Set(pending.map(key));
    const result = {
      delivered: pending.length === 0,
      confirmed: others.filter((k) => !left.has(k)).length,
      pending: pending.length,
    };
    if (result.delivered || Date.now() >= deadline) return result;
    await new Promise((r) => setTimeout(r, 100));
  }
}
/** `send <user|group:ID|#name> <text…> [--timeout SECONDS]`: exit NOT_DELIVERED when nobody confirmed it. */
export const send: Command = async ({ cfg, args, values }) => {
  const [to, ...words] = args;
  if (!to || words.length === 0) throw new UsageError('send needs a recipient and text');
  const seconds = Number(values.timeout ?? values.wait ?? 10);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new UsageError('--timeout needs a number of seconds');
  const deadline = Date.now() + seconds * 1000;
  return withClient(cfg, true, async (client) => {
    await startOnline(client, seconds);
    const target =
      to.startsWith('#') || to.startsWith('group:')
        ? groupConversation(await groupId(client, to))
        : to;
    const m = await client.sendText(target, words.join(' '));
    const c = await waitDelivered(client, m.id, deadline);
    print({ id: m.id, conversation: m.conversationId, ...c });
    // Success once the recipient has it on some device; the others get it from their queue.
    if (!c.delivered && c.confirmed === 0) {
      process.stderr.write(
        `sotto: message ${m.id} was not confirmed delivered within ${seconds} s ` +
          '(recipient offline?); it stays queued and is sent again by the next sotto ' +
          'command on this state directory\n',
      );
      return EXIT.NOT_DELIVERED;
    }
    return EXIT.OK;
  });
};

/** `listen`: messages, receipts, group and key changes as JSON lines until SIGINT/SIGTERM. */
export const listen: Command = async ({ cfg }) => {
  const client = await open(cfg, true);
  client.on('message', (m) => print(messageLine(m)));
  client.on('receipt', (r) => print({ type: 'receipt', ...r }));
  client.on('groupChange', (g) => print({ type: 'groupChange', ...g }));
  client.on('keyChange', (k) => print({ type: 'keyChange', ...k }));
  client.on('ownKeyAlert', (a) => print({ type: 'ownKeyAlert', ...a }));
  reportConnection(client);
  await client.start();
  await waitForSignal();
  await client.close();
  await client.store.close();
  return EXIT.OK;
};
