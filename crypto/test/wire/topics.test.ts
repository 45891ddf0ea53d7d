import { describe, expect, it } from 'vitest';
import {
  controlTopic,
  groupTopic,
  inboxTopic,
  parseTopic,
  presenceTopic,
  thingTopic,
} from '../../src/wire/topics.ts';

describe('topic builders', () => {
  it('build the topics of the wire contract', () => {
    expect(inboxTopic('alice', 'laptop-1')).toBe('sotto/v1/inbox/alice/laptop-1');
    expect(groupTopic('g_42')).toBe('sotto/v1/group/g_42');
    expect(presenceTopic('bob')).toBe('sotto/v1/presence/bob');
    expect(controlTopic('bob', 'phone')).toBe('sotto/v1/control/bob/phone');
    expect(thingTopic('alice', 'lamp')).toBe('iot/alice/lamp');
    expect(thingTopic('alice', 'lamp', 'state')).toBe('iot/alice/lamp/state');
  });

  it('refuse identifiers that could widen a topic filter or escape their level', () => {
    for (const bad of ['a/b', '+', '#', 'Alice', 'al', '', 'a'.repeat(33)]) {
      expect(() => inboxTopic(bad, 'dev'), bad).toThrow(RangeError);
      expect(() => presenceTopic(bad), bad).toThrow(RangeError);
    }
    for (const bad of ['a/b', '+', '#', '', 'x'.repeat(65), 'é']) {
      expect(() => inboxTopic('alice', bad), bad).toThrow(RangeError);
      expect(() => groupTopic(bad), bad).toThrow(RangeError);
      expect(() => controlTopic('alice', bad), bad).toThrow(RangeError);
    }
    expect(() => thingTopic('alice', 'Lamp')).toThrow(RangeError);
  });
});

describe('parseTopic', () => {
  it('parses every topic the builders make back into its parts', () => {
    expect(parseTopic(inboxTopic('alice', 'laptop'))).toEqual({
      kind: 'inbox',
      user: 'alice',
      device: 'laptop',
    });
    expect(parseTopic(groupTopic('g1'))).toEqual({ kind: 'group', groupId: 'g1' });
    expect(parseTopic(presenceTopic('bob'))).toEqual({ kind: 'presence', user: 'bob' });
    expect(parseTopic(controlTopic('bob', 'p'))).toEqual({
      kind: 'control',
      user: 'bob',
      device: 'p',
    });
    expect(parseTopic(thingTopic('alice', 'lamp', 'state', 'on'))).toEqual({
      kind: 'iot',
      owner: 'alice',
      thing: 'lamp',
      rest: ['state', 'on'],
    });
  });

  it('returns null for anything outside the contract, so callers deny by default', () => {
    for (const t of [
      '',
      '#',
      '+/inbox/alice/dev',
      'sotto/v1/inbox/alice',
      'sotto/v1/inbox/alice/dev/extra',
      'sotto/v1/inbox/+/dev',
      'sotto/v1/inbox/alice/#',
      'sotto/v1/group/g1/x',
      'sotto/v1/presence/Alice',
      'sotto/v2/inbox/alice/dev',
      'sotto/v1/unknown/alice',
      '$SYS/broker/uptime',
      'iot/alice',
      'iot/+/lamp',
      'iot/alice/#',
    ]) {
      expect(parseTopic(t), t).toBeNull();
    }
  });
});
