/**
 * Conversation ids as the engine and its callers name them: `dm:{user}` and `group:{id}`. The
 * format is the wire contract's (`@sotto/crypto/wire`); this module reports a bad id as the
 * engine's own `BAD_INPUT`, so callers of `@sotto/client` see only {@link ClientError}.
 */
import {
  dmConversation,
  groupConversation,
  parseConversation as parseWireConversation,
  type Conversation,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';

export { dmConversation, groupConversation };

/** Parse `dm:{user}` / `group:{id}`; a bad id is `ClientError('BAD_INPUT')`. */
export function parseConversation(id: string): Conversation {
  try {
    return parseWireConversation(id);
  } catch (cause) {
    throw new ClientError('BAD_INPUT', `not a conversation id: ${id}`, { cause });
  }
}
