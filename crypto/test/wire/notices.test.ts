import { describe, expect, it } from 'vitest';
import { decodeAclEvent, encodeAclEvent, type AclEvent } from '../../src/wire/acl-events.ts';
import {
  decodeControlNotice,
  encodeControlNotice,
  type ControlNotice,
} from '../../src/wire/control.ts';
import { isWireError } from '../../src/wire/errors.ts';
import { decodePresence, encodePresence } from '../../src/wire/presence.ts';

const text = (s: string) => new TextEncoder().encode(s);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return isWireError(err) ? err.code : `not a WireError: ${String(err)}`;
  }
  return undefined;
}

describe('control notices', () => {
  const notices: ControlNotice[] = [
    { type: 'group-changed', groupId: 'g1', seq: 3 },
    { type: 'group-changed', groupId: 'g1', seq: 4, record: 'AAEC-_9' },
    { type: 'device-removed', reason: 'identity-reset' },
    { type: 'device-removed', reason: 'removed' },
    { type: 'prekeys-low', remaining: 0 },
    { type: 'blocks-changed' },
    { type: 'banned', reason: 'spam' },
  ];

  it('round-trip every notice type through the bytes the key server publishes', () => {
    for (const n of notices) expect(decodeControlNotice(encodeControlNotice(n))).toEqual(n);
    expect(new TextDecoder().decode(encodeControlNotice(notices[4]!))).toBe(
      '{"type":"prekeys-low","remaining":0}',
    );
  });

  it('keeps only the known fields', () => {
    expect(decodeControlNotice('{"type":"prekeys-low","remaining":2,"extra":1}')).toEqual({
      type: 'prekeys-low',
      remaining: 2,
    });
  });

  it('rejects malformed notices with MALFORMED and unknown kinds with UNKNOWN_TYPE', () => {
    for (const bad of [
      'nope',
      'null',
      '[]',
      '{}',
      '{"type":1}',
      '{"type":"group-changed","groupId":"g/1","seq":1}',
      '{"type":"group-changed","groupId":"g","seq":-1}',
      '{"type":"group-changed","groupId":"g","seq":"1"}',
      '{"type":"group-changed","groupId":"g","seq":1,"record":"not base64!"}',
      '{"type":"group-changed","groupId":"g","seq":1,"record":""}',
      '{"type":"group-changed","groupId":"g","seq":1,"record":7}',
      `{"type":"group-changed","groupId":"g","seq":1,"record":"${'A'.repeat(8193)}"}`,
      '{"type":"device-removed","reason":"other"}',
      '{"type":"prekeys-low","remaining":1.5}',
    ])
      expect(
        codeOf(() => decodeControlNotice(text(bad))),
        bad,
      ).toBe('MALFORMED');
    expect(codeOf(() => decodeControlNotice(new Uint8Array([0xff, 0xfe])))).toBe('MALFORMED');
    expect(codeOf(() => decodeControlNotice('{"type":"keys-changed","user":"bob"}'))).toBe(
      'UNKNOWN_TYPE',
    );
  });
});

describe('presence', () => {
  it('round-trips a status and reads the empty payload as hidden', () => {
    const p = { status: 'online', at: 1_700_000_000_000 } as const;
    expect(decodePresence(encodePresence(p))).toEqual(p);
    expect(encodePresence(null)).toHaveLength(0);
    expect(decodePresence(new Uint8Array(0))).toBeNull();
  });

  it('rejects anything that is not a status with MALFORMED', () => {
    for (const bad of ['{"status":"away","at":1}', '{"status":"online"}', 'x'])
      expect(
        codeOf(() => decodePresence(text(bad))),
        bad,
      ).toBe('MALFORMED');
  });
});

describe('ACL events', () => {
  const events: AclEvent[] = [
    { type: 'group-changed', groupId: 'g', removed: ['bob'], added: ['carol'] },
    { type: 'token-revoked', jti: 'j', username: 'alice', deviceId: 'd1' },
    { type: 'device-revoked', username: 'alice', deviceId: 'd1' },
    { type: 'thing-revoked', owner: 'alice', thing: 'lamp' },
    { type: 'user-revoked', username: 'alice' },
    { type: 'presence-visibility', username: 'alice', visible: false },
  ];

  it('round-trips every event type', () => {
    for (const e of events) expect(decodeAclEvent(encodeAclEvent(e))).toEqual(e);
  });

  it('reads an event without `added` from a key server that predates it (rolling upgrade)', () => {
    expect(decodeAclEvent('{"type":"group-changed","groupId":"g","removed":["x"]}')).toEqual({
      type: 'group-changed',
      groupId: 'g',
      removed: ['x'],
      added: [],
    });
  });

  it('rejects malformed events with MALFORMED and unknown kinds with UNKNOWN_TYPE', () => {
    for (const bad of [
      'nope',
      'null',
      '{"type":"group-changed","groupId":"g"}',
      '{"type":"group-changed","groupId":"g","removed":[],"added":[1]}',
      '{"type":"presence-visibility","username":"alice"}',
      '{"type":"presence-visibility","username":"alice","visible":"no"}',
    ])
      expect(
        codeOf(() => decodeAclEvent(bad)),
        bad,
      ).toBe('MALFORMED');
    expect(codeOf(() => decodeAclEvent('{"type":"other"}'))).toBe('UNKNOWN_TYPE');
  });
});
