/**
 * The IoT bridge (DESIGN.md §5.4, issue 5): a bot that is a member of an
 * encrypted group and maps the plain MQTT traffic of its owner's things into
 * encrypted group messages, and chat commands back into publishes on
 * `iot/{owner}/{thing}/cmd`. The engine's device certificate says `bridge`,
 * which clients show as a badge on every message it sends.
 *
 * Thing → group: a publish on `iot/{owner}/{thing}/{sub…}` becomes the group
 * text `{thing}/{sub…}: {payload}` (payloads that are not UTF-8 are shown as
 * base64). Group → thing: a message `/{thing} {command…}` from a member is
 * published as `{command…}` on `iot/{owner}/{thing}/cmd`, and confirmed in the
 * group. Publishes on `cmd` itself are not echoed back.
 */
import type { SottoClient } from './engine.ts';
import { groupConversation } from '@sotto/crypto';
import type { MessageRecord } from './store/types.ts';

/** Options of {@link startBridge}. */
export interface BridgeOptions {
  /** The group the bridge speaks in (it must be a member). */
  groupId: string;
  /** Thing names (owned by the bridge's user) to bridge. */
  things: string[];
  /** Called for every mapped event (logging). */
  onEvent?: (e: {
    direction: 'thing-to-group' | 'group-to-thing';
    thing: string;
    text: string;
  }) => void;
}

function asText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    let bin = '';
    for (const b of bytes) bin += String.fromCharCode(b);
    return `base64:${btoa(bin)}`;
  }
}

/** Start bridging; returns a function that stops it. The client must be started. */
export function startBridge(client: SottoClient, options: BridgeOptions): () => void {
  const { groupId } = options;
  const things = new Set(options.things);
  const conversation = groupConversation(groupId);
  for (const t of things) client.things.watch(t);

  const offIot = client.on('iot', (e) => {
    if (!things.has(e.thing) || e.subtopic[0] === 'cmd') return;
    const text = `${[e.thing, ...e.subtopic].join('/')}: ${asText(e.payload)}`;
    options.onEvent?.({ direction: 'thing-to-group', thing: e.thing, text });
    client.sendText(conversation, text).catch((err: unknown) => client_error(err));
  });

  const offMsg = client.on('message', (m: MessageRecord) => {
    if (m.conversationId !== conversation || m.outgoing) return;
    const text = typeof m.body.text === 'string' ? m.body.text.trim() : '';
    const match = /^\/([a-z0-9_-]{1,64})\s+(.+)$/s.exec(text);
    if (!match || !things.has(match[1]!)) return;
    const [, thing, command] = match as unknown as [string, string, string];
    client.things.publish(thing, 'cmd', command);
    options.onEvent?.({ direction: 'group-to-thing', thing, text: command });
    client
      .sendText(conversation, `→ ${thing}: ${command}`)
      .catch((err: unknown) => client_error(err));
  });

  function client_error(err: unknown): void {
    options.onEvent?.({ direction: 'thing-to-group', thing: '', text: `error: ${String(err)}` });
  }

  return () => {
    offIot();
    offMsg();
  };
}
