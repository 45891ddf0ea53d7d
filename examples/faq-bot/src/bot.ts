/**
 * The FAQ bot on a Sotto client engine (`@sotto/client`): answers questions in DMs (always,
 * with a list of topics when it knows no answer) and in rooms (messages ending in `?` that it
 * can answer), and joins a room when someone sends it an invite link in a DM. Rooms whose
 * admins add it need nothing: the engine follows membership by itself.
 */
import { parseInviteLink, type MessageRecord, type SottoClient } from '@sotto/client';
import { bestAnswer, type FaqEntry } from './faq.ts';

/** Attach the bot to a started client; returns the function that detaches it. */
export function runFaqBot(
  client: SottoClient,
  faq: FaqEntry[],
  onError: (err: unknown) => void = () => undefined,
): () => void {
  const me = client.account?.username;
  const handle = async (m: MessageRecord): Promise<void> => {
    const text = typeof m.body.text === 'string' ? m.body.text.trim() : '';
    if (m.outgoing || m.sender === me || text === '') return;
    const inRoom = m.conversationId.startsWith('group:');
    if (!inRoom && text.includes('/#/join/')) {
      const link = parseInviteLink(text.split(/\s+/).find((w) => w.includes('/#/join/'))!);
      await client.groups.join(link.groupId, link.secret);
      await client.sendText(m.conversationId, 'Joined. Ask me anything in there.');
      return;
    }
    if (inRoom && !text.endsWith('?')) return;
    const hit = bestAnswer(faq, text);
    if (hit) await client.sendText(m.conversationId, hit.a, { replyTo: m.id });
    else if (!inRoom)
      await client.sendText(
        m.conversationId,
        `I don't know that one. I can answer: ${faq.map((e) => e.q).join(' / ')}`,
      );
  };
  const listener = (m: MessageRecord) => void handle(m).catch(onError);
  client.on('message', listener);
  return () => client.off('message', listener);
}
