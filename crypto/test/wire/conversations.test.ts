import { describe, expect, it } from 'vitest';
import {
  dmConversation,
  formatConversation,
  groupConversation,
  parseConversation,
} from '../../src/wire/conversations.ts';
import { isWireError } from '../../src/wire/errors.ts';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return isWireError(err) ? err.code : `not a WireError: ${String(err)}`;
  }
  return undefined;
}

describe('conversation ids', () => {
  it('build dm:{user} and group:{groupId} and parse them back', () => {
    expect(dmConversation('alice')).toBe('dm:alice');
    expect(groupConversation('Gx_-1')).toBe('group:Gx_-1');
    expect(parseConversation('dm:alice')).toEqual({ type: 'dm', user: 'alice' });
    expect(parseConversation('group:Gx_-1')).toEqual({ type: 'group', groupId: 'Gx_-1' });
    for (const c of [
      { type: 'dm', user: 'bob_2' },
      { type: 'group', groupId: 'abc' },
    ] as const)
      expect(parseConversation(formatConversation(c))).toEqual(c);
  });

  it('rejects ids outside the contract with BAD_CONVERSATION_ID', () => {
    for (const id of ['', 'alice', 'dm:', 'dm:Alice', 'dm:a/b', 'group:', 'group:a/b', 'room:x'])
      expect(
        codeOf(() => parseConversation(id)),
        id,
      ).toBe('BAD_CONVERSATION_ID');
    expect(codeOf(() => dmConversation('no'))).toBe('BAD_CONVERSATION_ID');
    expect(codeOf(() => groupConversation('a+b'))).toBe('BAD_CONVERSATION_ID');
  });
});
